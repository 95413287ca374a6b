package engine_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(peerEnv) != "" {
		runPeer() // benchmark peer process (bench_test.go)
		return
	}
	if os.Getenv(srtpPeerEnv) != "" {
		runSRTPPeer() // SRTP benchmark peer process (srtp_bench_test.go)
		return
	}
	goleak.VerifyTestMain(m)
}

var lo = "127.0.0.1"

// endpoint is a remote RTP peer on a loopback UDP socket: it sends with
// pion/rtp and records everything it receives.
type endpoint struct {
	t    testing.TB
	conn *net.UDPConn
	wg   sync.WaitGroup

	mu   sync.Mutex
	rtp  []*rtp.Packet
	rtcp []rtcp.Packet
}

func newEndpoint(t testing.TB) *endpoint {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(lo)})
	if err != nil {
		t.Fatal(err)
	}
	e := &endpoint{t: t, conn: conn}
	e.wg.Add(1)
	go e.read()
	t.Cleanup(e.close)
	return e
}

func (e *endpoint) close() {
	e.conn.Close()
	e.wg.Wait()
}

func (e *endpoint) port() uint16 { return e.conn.LocalAddr().(*net.UDPAddr).AddrPort().Port() }

func (e *endpoint) read() {
	defer e.wg.Done()
	buf := make([]byte, 2000)
	for {
		n, err := e.conn.Read(buf)
		if err != nil {
			return
		}
		b := append([]byte(nil), buf[:n]...)
		if n >= 2 && b[1] >= 192 && b[1] <= 223 {
			pkts, err := rtcp.Unmarshal(b)
			if err == nil {
				e.mu.Lock()
				e.rtcp = append(e.rtcp, pkts...)
				e.mu.Unlock()
			}
			continue
		}
		p := &rtp.Packet{}
		if p.Unmarshal(b) == nil {
			e.mu.Lock()
			e.rtp = append(e.rtp, p)
			e.mu.Unlock()
		}
	}
}

// to is where the endpoint sends.
func (e *endpoint) send(to media.TransportTuple, b []byte) {
	e.t.Helper()
	addr := net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(to.LocalAddress), to.LocalPort))
	if _, err := e.conn.WriteToUDP(b, addr); err != nil {
		e.t.Fatal(err)
	}
}

func (e *endpoint) sendRTCP(to media.TransportTuple, pkts ...rtcp.Packet) {
	e.t.Helper()
	b, err := rtcp.Marshal(pkts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.send(to, b)
}

func (e *endpoint) packets() []*rtp.Packet {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*rtp.Packet(nil), e.rtp...)
}

func (e *endpoint) rtcpPackets() []rtcp.Packet {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]rtcp.Packet(nil), e.rtcp...)
}

func (e *endpoint) reset() {
	e.mu.Lock()
	e.rtp, e.rtcp = nil, nil
	e.mu.Unlock()
}

// sender produces VP8 packets with pion/rtp.
type sender struct {
	ssrc uint32
	pt   uint8
	seq  uint16
	ts   uint32
}

// packet builds the next packet; key marks a VP8 key frame start.
func (s *sender) packet(t testing.TB, key bool, size int) []byte {
	t.Helper()
	payload := make([]byte, size)
	payload[0] = 0x10 // VP8 descriptor: S=1, PID=0
	payload[1] = 0x01 // frame header: P=1 (inter frame)
	if key {
		payload[1] = 0x00
	}
	for i := 2; i < size; i++ {
		payload[i] = byte(int(s.seq) + i)
	}
	p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: s.pt, SequenceNumber: s.seq,
		Timestamp: s.ts, SSRC: s.ssrc, Marker: true}, Payload: payload}
	s.seq++
	s.ts += 3000
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var videoFeedback = []media.RtcpFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}

func mediaCodecs() []media.RtpCodecCapability {
	return []media.RtpCodecCapability{
		{Kind: media.KindAudio, MimeType: "audio/opus", ClockRate: 48000, Channels: 2},
		{Kind: media.KindVideo, MimeType: "video/VP8", ClockRate: 90000},
	}
}

func vp8Params(ssrc uint32) media.RtpParameters {
	return media.RtpParameters{
		Codecs:    []media.RtpCodecParameters{{MimeType: "video/VP8", PayloadType: 101, ClockRate: 90000, RtcpFeedback: videoFeedback}},
		Encodings: []media.RtpEncodingParameters{{SSRC: ssrc}},
		Rtcp:      media.RtcpParameters{CNAME: "sender"},
	}
}

// consumerCaps are endpoint capabilities: VP8 with NACK/PLI/FIR, with or
// without RTX.
func consumerCaps(rtx bool) *media.RtpCapabilities {
	caps := &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{
		{Kind: media.KindVideo, MimeType: "video/VP8", ClockRate: 90000, RtcpFeedback: videoFeedback},
		{Kind: media.KindAudio, MimeType: "audio/opus", ClockRate: 48000, Channels: 2},
	}}
	if rtx {
		caps.Codecs = append(caps.Codecs, media.RtpCodecCapability{Kind: media.KindVideo, MimeType: "video/rtx", ClockRate: 90000})
	}
	return caps
}

// bweCaps are capabilities with transport-cc (the router's extension id).
func bweCaps(r media.Router) (*media.RtpCapabilities, uint8) {
	caps := consumerCaps(false)
	caps.Codecs[0].RtcpFeedback = append(append([]media.RtcpFeedback(nil), videoFeedback...), media.RtcpFeedback{Type: "transport-cc"})
	var id int
	for _, e := range r.RtpCapabilities().HeaderExtensions {
		if e.URI == media.ExtTransportWideCC01 && e.Kind == media.KindVideo {
			id = e.PreferredID
		}
	}
	caps.HeaderExtensions = []media.RtpHeaderExtension{{Kind: media.KindVideo, URI: media.ExtTransportWideCC01, PreferredID: id}}
	return caps, uint8(id)
}

// simulcastProducer produces on in a VP8 simulcast of three encodings
// (SSRCs 100, 200, 300), as startFeeder sends it.
func (f *fixture) simulcastProducer(t testing.TB, in media.Transport) media.Producer {
	t.Helper()
	params := vp8Params(100)
	params.Encodings = []media.RtpEncodingParameters{{SSRC: 100}, {SSRC: 200}, {SSRC: 300}}
	return must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))
}

type fixture struct {
	t      testing.TB
	ctx    context.Context
	api    media.API
	worker media.Worker
	router media.Router
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newFixtureWith(t, &engine.Options{})
}

// newFixtureWith is newFixture on an engine with opts (RTCPInterval set
// to the fixture's 50 ms).
func newFixtureWith(t testing.TB, opts *engine.Options) *fixture {
	t.Helper()
	ctx := context.Background()
	o := *opts
	o.RTCPInterval = 50 * time.Millisecond
	api := engine.New(&o)
	w, err := api.CreateWorker(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(ctx) })
	r, err := w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: mediaCodecs()})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, ctx: ctx, api: api, worker: w, router: r}
}

// plain creates a plain transport connected to e.
func (f *fixture) plain(r media.Router, e *endpoint) media.PlainTransport {
	f.t.Helper()
	pt, err := r.CreatePlainTransport(f.ctx, &media.PlainTransportOptions{ListenInfo: &media.TransportListenInfo{IP: lo}})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := pt.Connect(f.ctx, &media.PlainTransportConnectOptions{IP: lo, Port: e.port()}); err != nil {
		f.t.Fatal(err)
	}
	return pt
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func isErr(err, target error) bool { return errors.Is(err, target) }
