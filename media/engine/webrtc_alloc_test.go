package engine

import (
	"context"
	"testing"

	"github.com/pion/rtp"
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
	w, err := New(nil).CreateWorker(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(ctx)
	vp8 := media.RtpCodecCapability{Kind: media.KindVideo, MimeType: "video/VP8", ClockRate: 90000}
	r, err := w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: []media.RtpCodecCapability{vp8}})
	if err != nil {
		t.Fatal(err)
	}
	listen := &media.WebRtcTransportOptions{ListenInfos: []media.TransportListenInfo{{IP: "127.0.0.1"}}}
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
	caps := &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{vp8},
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
