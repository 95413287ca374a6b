package engine_test

import (
	"sync"
	"testing"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
)

// TestConsumeWhileTransportCloses: consumers created on a transport that
// another goroutine closes either fail or close with it; under -race this
// also checks that Consume reads no consumer state a close writes.
func TestConsumeWhileTransportCloses(t *testing.T) {
	f := newFixture(t)
	src, dst := newEndpoint(t), newEndpoint(t)
	in := f.plain(f.router, src)
	p := must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: vp8Params(1111)}))
	for range 20 {
		out := f.plain(f.router, dst)
		var wg sync.WaitGroup
		consumers := make(chan media.Consumer, 8)
		for range 8 {
			wg.Go(func() {
				if c, err := out.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: consumerCaps(false)}); err == nil {
					consumers <- c
				}
			})
		}
		wg.Go(func() { _ = out.Close(f.ctx) })
		wg.Wait()
		close(consumers)
		for c := range consumers {
			wait.Until(t, "the consumer to close with its transport", c.Closed)
		}
	}
}
