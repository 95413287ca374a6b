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
// connected yet.
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
		Codecs:    []media.RtpCodecParameters{{MimeType: "video/VP8", PayloadType: 96, ClockRate: 90000}},
		Encodings: []media.RtpEncodingParameters{{SSRC: 1}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	caps := &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{vp8}}
	direct, _ := r.CreateDirectTransport(ctx, nil)
	out, err := r.CreateWebRtcTransport(ctx, listen)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range []media.Transport{direct, out} {
		if _, err := tr.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps}); err != nil {
			t.Fatal(err)
		}
	}
	l := in.(*webRtcTransport).link
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1}, Payload: make([]byte, 1000)}
	pkt.Payload[0] = 0x10 // VP8 key frame
	buf := make([]byte, rtppkt.MaxPacketLen)
	seq := uint16(0)
	allocs := testing.AllocsPerRun(200, func() {
		seq++
		pkt.SequenceNumber = seq
		n, _ := pkt.MarshalTo(buf)
		l.receive(buf[:n])
	})
	if allocs != 0 {
		t.Errorf("%v allocations per packet", allocs)
	}
	st, _ := in.GetStats(ctx)
	if st[0].RtpBytesReceived == 0 {
		t.Errorf("stats %+v", st[0])
	}
}
