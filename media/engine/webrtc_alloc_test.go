package engine

import (
	"context"
	"testing"
	"time"

	"github.com/pion/rtp"
	pion "github.com/pion/webrtc/v4"

	"github.com/ropehq/rope/internal/peertest"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/rtppkt"
)

// TestWebRtcReceiveNoAlloc checks that RTP handed over by the connection
// layer (OnRTP) goes through the forwarding path without allocating, to
// a direct consumer and to a WebRtcTransport consumer that is not
// connected yet, with the transport recording transport-cc sequence
// numbers and the consumers writing their MIDs.
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
	caps := &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{vp8Codec},
		HeaderExtensions: []media.RtpHeaderExtension{{Kind: media.KindVideo, URI: media.ExtMid, PreferredID: 1}}}
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
		if c.(*consumer).midID == 0 {
			t.Fatalf("consumer writes no MID: %+v", c.RtpParameters())
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
	tcc := in.(*webRtcTransport).tcc.Load()
	tcc.mu.Lock()
	held := tcc.recorder.PacketsHeld()
	tcc.mu.Unlock()
	if held == 0 {
		t.Error("no transport-cc sequence number recorded")
	}
	st, _ := in.GetStats(ctx)
	if st[0].RtpBytesReceived == 0 {
		t.Errorf("stats %+v", st[0])
	}
}

// TestWebRtcSendBatch sends consumer batches through a WebRtcTransport
// (sendRTPBatch: SRTP in place, one sendmmsg) to a pion
// PeerConnection: every packet arrives decrypted and in order, and a warm
// batch does not allocate.
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
	b := peertest.NewBrowser(t, pt, false)
	offer, dtls := b.Offer(t)
	if err := out.Connect(ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: dtls}); err != nil {
		t.Fatal(err)
	}
	b.Answer(t, offer, out, ssrc)
	l := out.(*webRtcTransport).link
	deadline := time.Now().Add(10 * time.Second)
	for !l.ready() {
		if time.Now().After(deadline) {
			t.Fatalf("not connected: ice %s dtls %s", out.IceState(), out.DtlsState())
		}
		time.Sleep(5 * time.Millisecond)
	}

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

	// As a consumer does: each run rewrites its queue (encrypted in
	// place by the previous send) from the producer's packets.
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
		l.sendRTPBatch(fixed)
	})
	if allocs != 0 && !raceEnabled {
		t.Errorf("%v allocations per batch of 16", allocs)
	}
	allocs = testing.AllocsPerRun(100, func() {
		seq++
		fixed[0] = append(bufs[0][:0], tmpl[0]...)
		rtppkt.SetSequenceNumber(fixed[0], seq)
		l.sendRTPBatch(fixed[:1])
	})
	if allocs != 0 && !raceEnabled {
		t.Errorf("%v allocations per batch of 1", allocs)
	}
}

// vp8Codec is the one codec of vp8Router's routers.
var vp8Codec = media.RtpCodecCapability{Kind: media.KindVideo, MimeType: "video/VP8", ClockRate: 90000}

// vp8Router returns a router with VP8 on a fresh worker (closed with the
// test) and the options of a WebRtcTransport on loopback.
func vp8Router(t *testing.T) (media.Router, *media.WebRtcTransportOptions) {
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
