package workerproc_test

import (
	"sync/atomic"
	"testing"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediaserver"
	"github.com/ropehq/rope/media/mediatest"
	"github.com/ropehq/rope/media/workerproc"
)

// TestManyRtpSubscriptions: the parent's one connection to a worker
// carries every consumer's RTP subscription, beyond the per-connection
// limit a server sets its clients: each of more consumers than that gets
// the packets.
func TestManyRtpSubscriptions(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	w := newWorker(t, workerproc.New(nil))
	r := must[media.Router](t)(w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()}))
	src := must[media.DirectTransport](t)(r.CreateDirectTransport(ctx, nil))
	dst := must[media.DirectTransport](t)(r.CreateDirectTransport(ctx, nil))
	p := must[media.Producer](t)(src.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(9)}))
	const n = mediaserver.DefaultMaxPacketSubscriptions + 2
	var reached atomic.Int64
	for range n {
		c := must[media.Consumer](t)(dst.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
		var once atomic.Bool
		c.OnRtp(func([]byte) {
			if !once.Swap(true) {
				reached.Add(1)
			}
		})
	}
	snd := &mediatest.VP8Sender{SSRC: 9, PT: 101}
	wait.Until(t, "every consumer's RTP", func() bool {
		if err := p.Send(snd.Next(t, true, 100)); err != nil {
			t.Fatal(err)
		}
		return reached.Load() == n
	})
}
