package engine_test

import (
	"testing"
	"time"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
)

// TestKeyFrameRequestDelay: with keyFrameRequestDelay, a key frame
// request within the delay of the last one is not sent at once but when
// the delay ends (mediasoup's KeyFrameRequestDelayer), even though a key
// frame answered the first; without it, the second goes at once.
func TestKeyFrameRequestDelay(t *testing.T) {
	for _, delay := range []int{0, 1500} {
		f := newFixture(t)
		src, dst := newEndpoint(t), newEndpoint(t)
		in, out := f.plain(f.router, src), f.plain(f.router, dst)
		p := must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: vp8Params(100), KeyFrameRequestDelay: delay}))
		c := must[media.Consumer](t)(out.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: consumerCaps(false), Paused: true}))
		snd := &sender{ssrc: 100, pt: 101, seq: 1}
		src.send(in.Tuple(), snd.packet(t, false, 100))
		wait.Until(t, "the stream", func() bool { return p.Score() != nil && len(p.Score()) > 0 })
		start := time.Now()
		mustOK(t, c.RequestKeyFrame(f.ctx))
		wait.Until(t, "the first PLI", func() bool { return plis(src.rtcpPackets(), 100) == 1 })
		// A key frame ends the pending request; the next one is asked.
		mustOK(t, c.Resume(f.ctx))
		src.send(in.Tuple(), snd.packet(t, true, 100))
		wait.Until(t, "the key frame forwarded", func() bool { return len(dst.packets()) == 1 })
		for i := 0; i < 3; i++ {
			mustOK(t, c.RequestKeyFrame(f.ctx))
		}
		wait.Until(t, "the second PLI", func() bool { return plis(src.rtcpPackets(), 100) >= 2 })
		if got := time.Since(start); got < time.Duration(delay)*time.Millisecond {
			t.Fatalf("delay %d ms: second PLI %v after the first request", delay, got)
		}
		if n := plis(src.rtcpPackets(), 100); n != 2 {
			t.Fatalf("delay %d ms: %d PLIs, want 2", delay, n)
		}
	}
}
