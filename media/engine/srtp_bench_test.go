package engine_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/rtp"
	"github.com/pion/stun/v3"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/webrtc/dtlstransport"
	"github.com/ropehq/rope/media/webrtc/srtpsession"
)

// BenchmarkForwardSRTP is BenchmarkForward with SRTP on both sides: the
// producer and every consumer sit on their own WebRtcTransport, and the
// peer process (this test binary in SRTP peer mode) plays the browsers:
// one ICE check and a real DTLS handshake (client role) per transport,
// then SRTP with the exported keys. The sender encrypts, the receivers
// decrypt and count what authenticates. As in BenchmarkForward, the CPU
// time is the engine's process alone, and the figure is cpu-µs per
// forwarded packet: decrypt once, forward, encrypt per consumer.
func BenchmarkForwardSRTP(b *testing.B) {
	for _, n := range []int{1, 10, 100, 500} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) { benchForwardSRTP(b, n, benchRates[n], 1) })
	}
}

// BenchmarkForwardSRTPServer is BenchmarkForwardSRTP with every
// transport on one WebRtcServer (one UDP port, as mediasoup deployments
// usually run): at the end of a read batch, the consumers' packets for
// all transports leave that socket together, 64 per sendmmsg.
func BenchmarkForwardSRTPServer(b *testing.B) {
	for _, n := range []int{10, 100, 500} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) { benchForwardSRTPOn(b, n, benchRates[n], 1, true) })
	}
}

// BenchmarkForwardSRTPBursty is BenchmarkForwardSRTP with the packets
// sent in bursts of 10, as BenchmarkForwardBursty: a WebRtcTransport's
// socket then reads several at once (recvmmsg) and each consumer sends
// them as one SRTP batch with one sendmmsg.
func BenchmarkForwardSRTPBursty(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) { benchForwardSRTP(b, n, benchRates[n], 10) })
	}
}

const srtpPeerEnv = "ROPE_BENCH_SRTP_PEER"

func benchForwardSRTP(b *testing.B, n, rate, burst int) {
	benchForwardSRTPOn(b, n, rate, burst, false)
}

func benchForwardSRTPOn(b *testing.B, n, rate, burst int, server bool) {
	ctx := context.Background()
	peer := startSRTPBenchPeer(b)
	api := engine.New(nil)
	w := must[media.Worker](b)(api.CreateWorker(ctx, nil))
	defer w.Close(ctx)
	r := must[media.Router](b)(w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: mediaCodecs()}))
	// One ICE check per transport: consent freshness is not measured.
	opts := &media.WebRtcTransportOptions{ListenInfos: []media.TransportListenInfo{{IP: lo}}, IceConsentTimeout: -1}
	if server {
		srv := must[media.WebRtcServer](b)(w.CreateWebRtcServer(ctx, &media.WebRtcServerOptions{
			ListenInfos: []media.TransportListenInfo{{Protocol: media.ProtocolUDP, IP: lo}}}))
		opts = &media.WebRtcTransportOptions{WebRtcServer: srv, IceConsentTimeout: -1}
	}
	var transports []media.WebRtcTransport
	connect := func(role string) media.WebRtcTransport {
		tr := must[media.WebRtcTransport](b)(r.CreateWebRtcTransport(ctx, opts))
		if err := tr.Connect(ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: peer.dtls}); err != nil {
			b.Fatal(err)
		}
		peer.connect(b, role, tr)
		transports = append(transports, tr)
		return tr
	}
	in := connect("send")
	p := must[media.Producer](b)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: vp8Params(benchSSRC)}))
	for i := 0; i < n; i++ {
		tr := connect("recv")
		must[media.Consumer](b)(tr.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: consumerCaps(false)}))
	}
	wait.Until(b, "DTLS connected on every transport", func() bool {
		for _, tr := range transports {
			if tr.DtlsState() != "connected" {
				return false
			}
		}
		return true
	})
	runtime.GC()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := processCPU()
	b.ResetTimer()
	received := peer.run(b, b.N, rate, n, burst)
	b.StopTimer()
	cpu := processCPU() - cpu0
	runtime.ReadMemStats(&ms1)
	if received > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(received), "cpu-µs/pkt")
		b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(received), "allocs/pkt")
	}
	b.ReportMetric(100*float64(received)/float64(b.N*n), "delivered-%")
	b.ReportMetric(0, "ns/op")
}

// srtpBenchPeer is the parent's handle on the SRTP peer process.
type srtpBenchPeer struct {
	stdin io.Writer
	out   *bufio.Scanner
	dtls  *media.DtlsParameters
}

func startSRTPBenchPeer(b *testing.B) *srtpBenchPeer {
	b.Helper()
	_, stdin, out := startChild(b, srtpPeerEnv)
	p := &srtpBenchPeer{stdin: stdin, out: out}
	alg, fp, ok := strings.Cut(p.line(b), " ")
	if !ok {
		b.Fatal("SRTP peer did not start")
	}
	p.dtls = &media.DtlsParameters{Role: "client", Fingerprints: []media.DtlsFingerprint{{Algorithm: alg, Value: fp}}}
	return p
}

func (p *srtpBenchPeer) line(b *testing.B) string {
	b.Helper()
	if !p.out.Scan() {
		b.Fatal("SRTP peer died")
	}
	return p.out.Text()
}

// connect makes the peer run ICE and DTLS against tr, as a sender or a
// receiver.
func (p *srtpBenchPeer) connect(b *testing.B, role string, tr media.WebRtcTransport) {
	b.Helper()
	ip := tr.IceParameters()
	c := tr.IceCandidates()[0]
	fp := tr.DtlsParameters().Fingerprints[0]
	fmt.Fprintf(p.stdin, "%s %s:%d %s %s %s %s\n", role, c.Address, c.Port, ip.UsernameFragment, ip.Password, fp.Algorithm, fp.Value)
	if l := p.line(b); l != "ok" {
		b.Fatalf("SRTP peer: %s", l)
	}
}

// run makes the peer send count packets at rate, in bursts, and returns
// how many authenticated packets its receivers got (count*n expected).
func (p *srtpBenchPeer) run(b *testing.B, count, rate, n, burst int) int {
	b.Helper()
	fmt.Fprintf(p.stdin, "run %d %d %d %d\n", count, rate, count*n, burst)
	got, _ := strconv.Atoi(p.line(b))
	return got
}

// srtpBenchConn is one browser-like connection of the SRTP peer: a UDP
// socket facing one WebRtcTransport.
type srtpBenchConn struct {
	sock   *net.UDPConn
	remote *net.UDPAddr
	stun   chan []byte
	pc     *dtlstransport.PacketConn
	dtls   *dtls.Conn
	srtp   atomic.Pointer[srtpsession.Session]
}

// runSRTPPeer is the SRTP peer's main. Commands on stdin, one a line:
// "send|recv ip:port ufrag pwd alg fingerprint" (answered "ok" or an
// error) and "run count rate expected burst" (answered with the number of
// packets received).
func runSRTPPeer() {
	cert, err := dtlstransport.GenerateCertificate()
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s %s\n", cert.Fingerprints[0].Algorithm, cert.Fingerprints[0].Value)
	var (
		conns    []*srtpBenchConn
		sender   *srtpBenchConn
		received atomic.Int64
		wg       sync.WaitGroup
	)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		switch {
		case len(f) == 5 && f[0] == "run":
			count, _ := strconv.Atoi(f[1])
			rate, _ := strconv.Atoi(f[2])
			expected, _ := strconv.Atoi(f[3])
			burst, _ := strconv.Atoi(f[4])
			received.Store(0)
			sender.sendMedia(count, rate, max(burst, 1))
			waitQuiet(&received, int64(expected))
			fmt.Println(received.Load())
		case len(f) == 6:
			c, err := dialSRTPBenchConn(f[1], f[2], f[3], cert, dtlstransport.Fingerprint{Algorithm: f[4], Value: f[5]}, &received, &wg)
			if err != nil {
				fmt.Println("error:", err)
				continue
			}
			conns = append(conns, c)
			if f[0] == "send" {
				sender = c
			}
			fmt.Println("ok")
		default:
			fmt.Println("error: bad command")
		}
	}
	for _, c := range conns {
		_ = c.dtls.Close()
		_ = c.sock.Close()
	}
	wg.Wait()
}

// dialSRTPBenchConn opens a socket, sends one nominating ICE check to the
// transport at addr, runs the DTLS handshake as client and keys SRTP.
func dialSRTPBenchConn(addr, ufrag, pwd string, cert *dtlstransport.Certificate, fp dtlstransport.Fingerprint, received *atomic.Int64, wg *sync.WaitGroup) (*srtpBenchConn, error) {
	remote, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return nil, err
	}
	sock, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(lo)})
	if err != nil {
		return nil, err
	}
	c := &srtpBenchConn{sock: sock, remote: remote, stun: make(chan []byte, 4)}
	c.pc = dtlstransport.NewPacketConn(remote, func(b []byte) error {
		_, err := sock.WriteToUDP(b, remote)
		return err
	})
	wg.Add(1)
	go c.read(received, wg)
	fail := func(err error) (*srtpBenchConn, error) {
		_ = sock.Close()
		_ = c.pc.Close()
		return nil, err
	}
	req, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.NewUsername(ufrag+":peer"),
		stun.RawAttribute{Type: stun.AttrPriority, Value: []byte{0x6e, 0, 1, 0xff}},
		stun.RawAttribute{Type: stun.AttrICEControlling, Value: make([]byte, 8)},
		stun.RawAttribute{Type: stun.AttrUseCandidate}, stun.NewShortTermIntegrity(pwd), stun.Fingerprint)
	if err != nil {
		return fail(err)
	}
	answered := false
	for try := 0; try < 50 && !answered; try++ {
		if _, err := sock.WriteToUDP(req.Raw, remote); err != nil {
			return fail(err)
		}
		select {
		case <-c.stun:
			answered = true
		case <-time.After(100 * time.Millisecond):
		}
	}
	if !answered {
		return fail(fmt.Errorf("no ICE answer from %s", addr))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := dtlstransport.Handshake(ctx, c.pc, remote, dtlstransport.Config{Role: dtlstransport.RoleClient, Certificate: cert, RemoteFingerprint: fp})
	if err != nil {
		return fail(err)
	}
	c.dtls = conn
	keys, err := dtlstransport.ExportSRTP(conn, dtlstransport.RoleClient)
	if err != nil {
		return fail(err)
	}
	s, err := srtpsession.New(keys)
	if err != nil {
		return fail(err)
	}
	c.srtp.Store(s)
	return c, nil
}

// read demultiplexes the socket (RFC 7983): STUN answers, DTLS records
// for the handshake, SRTP counted when it authenticates; SRTCP is
// ignored.
func (c *srtpBenchConn) read(received *atomic.Int64, wg *sync.WaitGroup) {
	defer wg.Done()
	buf := make([]byte, 1500)
	for {
		n, err := c.sock.Read(buf)
		if err != nil {
			return
		}
		b := buf[:n]
		switch {
		case n == 0:
		case b[0] < 4:
			select {
			case c.stun <- append([]byte(nil), b...):
			default:
			}
		case b[0] >= 20 && b[0] < 64:
			c.pc.Push(b)
		case b[0] >= 128 && b[0] < 192 && n > 12 && (b[1] < 192 || b[1] > 223):
			if s := c.srtp.Load(); s != nil {
				if _, err := s.DecryptRTP(b); err == nil {
					received.Add(1)
				}
			}
		}
	}
}

// sendMedia sends count SRTP packets at rate in bursts, as peerSend does
// in clear.
func (c *srtpBenchConn) sendMedia(count, rate, burst int) {
	s := c.srtp.Load()
	start := time.Now()
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, SSRC: benchSSRC}, Payload: make([]byte, 1000)}
	pkt.Payload[0] = 0x10
	plain := make([]byte, 1500)
	enc := make([]byte, 1500)
	to := netip.AddrPortFrom(netip.MustParseAddr(c.remote.IP.String()), uint16(c.remote.Port))
	for i := 0; i < count; i++ {
		if due := start.Add(time.Duration(i-i%burst) * time.Second / time.Duration(rate)); time.Until(due) > 0 {
			time.Sleep(time.Until(due))
		}
		pkt.SequenceNumber = peerSeq
		pkt.Timestamp = uint32(peerSeq) * 3000
		pkt.Payload[1] = 1
		if peerSeq == 0 || i == 0 {
			pkt.Payload[1] = 0 // key frame
		}
		peerSeq++
		n, _ := pkt.MarshalTo(plain)
		out, err := s.EncryptRTP(enc, plain[:n])
		if err != nil {
			panic(err)
		}
		_, _ = c.sock.WriteToUDPAddrPort(out, to)
	}
}
