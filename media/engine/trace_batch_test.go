package engine

import (
	"context"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/rtppkt"
)

// TestTraceListenerInFullBatch: a consumer's "rtp" trace listener that
// reads the consumer's score (as mediaserver's does for every event)
// does not deadlock the packet path when a read batch fills the
// consumer's send queue (outBatch packets), which sends the queue while
// the producer's ingress lock is held.
func TestTraceListenerInFullBatch(t *testing.T) {
	ctx := context.Background()
	w, _ := New(nil).CreateWorker(ctx, nil)
	r, _ := w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: []media.RtpCodecCapability{
		{Kind: media.KindVideo, MimeType: "video/VP8", ClockRate: 90000}}})
	in, _ := r.CreateDirectTransport(ctx, nil)
	p, err := in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: media.RtpParameters{
		Codecs:    []media.RtpCodecParameters{{MimeType: "video/VP8", PayloadType: 96, ClockRate: 90000}},
		Encodings: []media.RtpEncodingParameters{{SSRC: 1}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := r.CreateDirectTransport(ctx, nil)
	c, err := out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: &media.RtpCapabilities{
		Codecs: []media.RtpCodecCapability{{Kind: media.KindVideo, MimeType: "video/VP8", ClockRate: 90000}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.EnableTraceEvent(ctx, []media.ProducerTraceEventType{"rtp"}); err != nil {
		t.Fatal(err)
	}
	events := 0
	c.OnTrace(func(media.ProducerTraceEventData) {
		_ = c.Score()
		events++
	})
	tr := in.(*directTransport).transport
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, rtppkt.MaxPacketLen)
		var last *producer
		for i := range 2 * outBatch {
			pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1, SequenceNumber: uint16(i), Timestamp: uint32(i / 4 * 3000)},
				Payload: []byte{0x10, 0, 0x9d, 0x01, 0x2a, 0, 0, 0, 0, 0}}
			n, _ := pkt.MarshalTo(buf)
			last = tr.receive(buf[:n], nanotime())
		}
		last.flush()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the packet path is stuck: the trace listener's Score waits for the producer's ingress lock held by the full batch's send")
	}
	if events != 2*outBatch {
		t.Fatalf("%d trace events, want %d", events, 2*outBatch)
	}
	w.Close(ctx) // not on failure: it would wait for the stuck path
}
