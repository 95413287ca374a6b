package engine

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/rtp"
	"github.com/pion/stun/v3"
	pion "github.com/pion/webrtc/v4"

	"github.com/ropehq/rope/internal/peertest"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/rtppkt"
	"github.com/ropehq/rope/media/webrtc/dtlstransport"
)

// TestWebRtcReceiveNoAlloc checks that RTP handed over by the connection
// layer (OnRTP) goes through the forwarding path without allocating, to
// a direct consumer and to a WebRtcTransport consumer that is not
// connected yet, with the transport recording transport-cc sequence
// numbers and the consumers writing their MIDs; the WebRtcTransport
// consumer negotiated transport-cc, so its packets also get the sending
// transport's own transport-wide sequence numbers, recorded in its send
// history (bwe_send.go); both write their abs-send-time
// (abs_send_time.go).
func TestWebRtcReceiveNoAlloc(t *testing.T) {
	ctx := context.Background()
	r, listen := vp8Router(t)
	in, err := r.CreateWebRtcTransport(ctx, listen)
	if err != nil {
		t.Fatal(err)
	}
	p, err := in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: media.RtpParameters{
		Codecs: []media.RtpCodecParameters{{MimeType: "video/VP8", PayloadType: 96, ClockRate: 90000,
			RtcpFeedback: []media.RtcpFeedback{{Type: "transport-cc"}}}},
		HeaderExtensions: []media.RtpHeaderExtensionParameters{{URI: media.ExtTransportWideCC01, ID: 3}},
		Encodings:        []media.RtpEncodingParameters{{SSRC: 1}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if in.(*webRtcTransport).tcc.Load() == nil {
		t.Fatal("transport-cc feedback not on")
	}
	tccCodec := vp8Codec
	tccCodec.RtcpFeedback = []media.RtcpFeedback{{Type: "transport-cc"}}
	var tccID, absID int
	for _, e := range r.RtpCapabilities().HeaderExtensions {
		if e.URI == media.ExtTransportWideCC01 && e.Kind == media.KindVideo {
			tccID = e.PreferredID
		}
		if e.URI == media.ExtAbsSendTime && e.Kind == media.KindVideo {
			absID = e.PreferredID
		}
	}
	caps := &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{tccCodec},
		HeaderExtensions: []media.RtpHeaderExtension{{Kind: media.KindVideo, URI: media.ExtMid, PreferredID: 1},
			{Kind: media.KindVideo, URI: media.ExtTransportWideCC01, PreferredID: tccID},
			{Kind: media.KindVideo, URI: media.ExtAbsSendTime, PreferredID: absID}}}
	direct, _ := r.CreateDirectTransport(ctx, nil)
	out, err := r.CreateWebRtcTransport(ctx, listen)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range []media.Transport{direct, out} {
		c, err := tr.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps})
		if err != nil {
			t.Fatal(err)
		}
		if c.(*consumer).midID == 0 || c.(*consumer).absID == 0 {
			t.Fatalf("consumer writes no MID or abs-send-time: %+v", c.RtpParameters())
		}
	}
	l := in.(*webRtcTransport).link
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1}, Payload: make([]byte, 1000)}
	pkt.Payload[0] = 0x10 // VP8 key frame
	buf := make([]byte, rtppkt.MaxPacketLen)
	seq := uint16(0)
	tccSeq := make([]byte, 2)
	_ = pkt.SetExtension(3, tccSeq)
	allocs := testing.AllocsPerRun(200, func() {
		seq++
		pkt.SequenceNumber = seq
		tccSeq[0], tccSeq[1] = byte(seq>>8), byte(seq)
		n, _ := pkt.MarshalTo(buf)
		l.receive(buf[:n])
		l.readBatchEnd()
	})
	if allocs != 0 {
		t.Errorf("%v allocations per packet", allocs)
	}
	// The recorder's packets may have gone out in feedback meanwhile (its
	// tick drains it); the SSRC of the latest recorded packet stays.
	tcc := in.(*webRtcTransport).tcc.Load()
	tcc.mu.Lock()
	recordedSSRC := tcc.lastSSRC
	tcc.mu.Unlock()
	if recordedSSRC != 1 {
		t.Errorf("no transport-cc sequence number recorded (latest SSRC %d)", recordedSSRC)
	}
	st, _ := in.GetStats(ctx)
	if st[0].RtpBytesReceived == 0 {
		t.Errorf("stats %+v", st[0])
	}
	if ot := out.(*webRtcTransport).transport; ot.tccClient.Load() == nil || ot.twccSeq.Load() < 200 {
		t.Errorf("sending transport numbered %d packets (estimator on: %v)", ot.twccSeq.Load(), ot.tccClient.Load() != nil)
	}
}

// TestWebRtcSendBatch sends consumer batches through a WebRtcTransport
// (sendRTPBatch: SRTP in place, one sendmmsg): a warm batch does not
// allocate, and to a pion PeerConnection every packet arrives decrypted
// and in order. testing.AllocsPerRun counts every goroutine's
// allocations, and a pion peer in this process allocates as it receives
// (its packet buffers grow): the allocations are measured first, towards
// a sink that reads without allocating, before the browser exists.
func TestWebRtcSendBatch(t *testing.T) {
	ctx := context.Background()
	r, listen := vp8Router(t)
	in, err := r.CreateWebRtcTransport(ctx, listen)
	if err != nil {
		t.Fatal(err)
	}
	p, err := in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: media.RtpParameters{
		Codecs:    []media.RtpCodecParameters{{MimeType: "video/VP8", PayloadType: 96, ClockRate: 90000}},
		Encodings: []media.RtpEncodingParameters{{SSRC: 1}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.CreateWebRtcTransport(ctx, listen)
	if err != nil {
		t.Fatal(err)
	}
	caps := r.RtpCapabilities()
	c, err := out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: &caps})
	if err != nil {
		t.Fatal(err)
	}
	cp := c.RtpParameters()
	pt, ssrc := uint8(cp.Codecs[0].PayloadType), cp.Encodings[0].SSRC

	seq := uint16(0)
	packet := func(buf []byte) []byte {
		seq++
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SSRC: ssrc, SequenceNumber: seq,
			Timestamp: uint32(seq) * 3000}, Payload: make([]byte, 100+int(seq)%900)}
		pkt.Payload[0] = 0x10 // VP8 key frame
		pkt.Payload[len(pkt.Payload)-1] = byte(seq)
		n, _ := pkt.MarshalTo(buf)
		return buf[:n]
	}
	bufs := make([][]byte, 40) // more than one 32-packet chunk
	for i := range bufs {
		bufs[i] = make([]byte, rtppkt.MaxPacketLen)
	}
	batch := func(n int) [][]byte {
		out := make([][]byte, n)
		for i := range out {
			out[i] = packet(bufs[i][:cap(bufs[i])])
		}
		return out
	}

	// As a consumer does: each run rewrites its queue (encrypted in
	// place by the previous send) from the producer's packets.
	sinkTr, err := r.CreateWebRtcTransport(ctx, listen)
	if err != nil {
		t.Fatal(err)
	}
	sink := newSink(t, sinkTr)
	sl := sinkTr.(*webRtcTransport).link
	tmpl := batch(16)
	for i, b := range tmpl {
		tmpl[i] = append([]byte(nil), b...)
	}
	fixed := make([][]byte, len(tmpl))
	allocs := testing.AllocsPerRun(100, func() {
		for i, b := range tmpl {
			seq++
			fixed[i] = append(bufs[i][:0], b...)
			rtppkt.SetSequenceNumber(fixed[i], seq)
		}
		sl.sendRTPBatch(fixed)
	})
	if allocs != 0 && !raceEnabled {
		t.Errorf("%v allocations per batch of 16", allocs)
	}
	allocs = testing.AllocsPerRun(100, func() {
		seq++
		fixed[0] = append(bufs[0][:0], tmpl[0]...)
		rtppkt.SetSequenceNumber(fixed[0], seq)
		sl.sendRTPBatch(fixed[:1])
	})
	if allocs != 0 && !raceEnabled {
		t.Errorf("%v allocations per batch of 1", allocs)
	}
	wait.Until(t, "the sink got SRTP", func() bool { return sink.rtp.Load() > 0 })

	b := peertest.NewBrowser(t, pt, false)
	offer, dtls := b.Offer(t)
	if err := out.Connect(ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: dtls}); err != nil {
		t.Fatal(err)
	}
	b.Answer(t, offer, out, ssrc)
	l := out.(*webRtcTransport).link
	wait.Until(t, "connected to the browser", l.ready)
	deadline := time.Now().Add(10 * time.Second)
	var track *pion.TrackRemote
	for track == nil {
		l.sendRTPBatch(batch(1))
		select {
		case track = <-b.Tracks:
		case <-time.After(10 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatal("browser got no track")
			}
		}
	}
	// Each batch is read before the next is sent, so that the peer
	// socket's receive buffer does not overflow.
	for range 5 {
		first := seq + 1
		l.sendRTPBatch(batch(len(bufs)))
		if err := track.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		for want := first; want != seq+1; {
			pkt, _, err := track.ReadRTP()
			if err != nil {
				t.Fatalf("waiting for seq %d of %d..%d: %v", want, first, seq, err)
			}
			if pkt.SequenceNumber < first {
				continue
			}
			if pkt.SequenceNumber != want || pkt.SSRC != ssrc || len(pkt.Payload) != 100+int(want)%900 ||
				pkt.Payload[len(pkt.Payload)-1] != byte(want) {
				t.Fatalf("got seq %d ssrc %d len %d, want seq %d", pkt.SequenceNumber, pkt.SSRC, len(pkt.Payload), want)
			}
			want++
		}
	}
}

// sink stands in for a browser where allocations are counted: one ICE
// check and a DTLS handshake (client) from its own socket, then it reads
// and counts what arrives without allocating. It closes with the test.
type sink struct {
	sock *net.UDPConn
	pc   *dtlstransport.PacketConn
	rtp  atomic.Int64
	wg   sync.WaitGroup
	// dtls is the connected DTLS client.
	dtls *dtls.Conn
}

func newSink(t *testing.T, tr media.WebRtcTransport) *sink {
	t.Helper()
	ctx := context.Background()
	cert, err := dtlstransport.GenerateCertificate()
	if err != nil {
		t.Fatal(err)
	}
	fp := cert.Fingerprints[0]
	if err := tr.Connect(ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: &media.DtlsParameters{Role: "client",
		Fingerprints: []media.DtlsFingerprint{{Algorithm: fp.Algorithm, Value: fp.Value}}}}); err != nil {
		t.Fatal(err)
	}
	ip, cand := tr.IceParameters(), tr.IceCandidates()[0]
	remote := &net.UDPAddr{IP: net.ParseIP(cand.Address), Port: int(cand.Port)}
	sock, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{sock: sock}
	s.pc = dtlstransport.NewPacketConn(remote, func(b []byte) error {
		_, err := sock.WriteToUDP(b, remote)
		return err
	})
	answered := make(chan struct{}, 1)
	s.wg.Go(func() {
		buf := make([]byte, 2048)
		for {
			n, err := sock.Read(buf)
			if err != nil {
				return
			}
			switch b := buf[:n]; {
			case n == 0:
			case b[0] < 4:
				select {
				case answered <- struct{}{}:
				default:
				}
			case b[0] >= 20 && b[0] < 64:
				s.pc.Push(b)
			case b[0] >= 128 && b[0] < 192:
				s.rtp.Add(1)
			}
		}
	})
	var conn interface{ Close() error }
	t.Cleanup(func() {
		if conn != nil {
			_ = conn.Close()
		}
		_ = s.pc.Close()
		_ = sock.Close()
		s.wg.Wait()
	})
	req, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.NewUsername(ip.UsernameFragment+":sink"),
		stun.RawAttribute{Type: stun.AttrPriority, Value: []byte{0x6e, 0, 1, 0xff}},
		stun.RawAttribute{Type: stun.AttrUseCandidate}, stun.NewShortTermIntegrity(ip.Password), stun.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	wait.Until(t, "ICE answer", func() bool {
		if _, err := sock.WriteToUDP(req.Raw, remote); err != nil {
			t.Fatal(err)
		}
		select {
		case <-answered:
			return true
		case <-time.After(50 * time.Millisecond):
			return false
		}
	})
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	dc, err := dtlstransport.Handshake(hctx, s.pc, remote, dtlstransport.Config{Role: dtlstransport.RoleClient, Certificate: cert,
		RemoteFingerprint: dtlstransport.Fingerprint{Algorithm: tr.DtlsParameters().Fingerprints[0].Algorithm,
			Value: tr.DtlsParameters().Fingerprints[0].Value}})
	if err != nil {
		t.Fatal(err)
	}
	conn, s.dtls = dc, dc
	l := tr.(*webRtcTransport).link
	wait.Until(t, "sink connected", l.ready)
	return s
}

// vp8Codec is the one codec of vp8Router's routers.
var vp8Codec = media.RtpCodecCapability{Kind: media.KindVideo, MimeType: "video/VP8", ClockRate: 90000}

// vp8Router returns a router with VP8 on a fresh worker (closed with the
// test) and the options of a WebRtcTransport on loopback.
func vp8Router(t testing.TB) (media.Router, *media.WebRtcTransportOptions) {
	t.Helper()
	ctx := context.Background()
	w, err := New(nil).CreateWorker(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(ctx) })
	r, err := w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: []media.RtpCodecCapability{vp8Codec}})
	if err != nil {
		t.Fatal(err)
	}
	return r, &media.WebRtcTransportOptions{ListenInfos: []media.TransportListenInfo{{IP: "127.0.0.1"}}}
}
