package mafalda_test

import (
	"sync"
	"testing"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediatest"
)

// TestConcurrentRooms creates, consumes and closes from many goroutines
// in two rooms at once, across two workers; everything idle is closed at
// the end.
func TestConcurrentRooms(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	m := newMafalda(t, &mafalda.Options{CPUs: 2, LoadFunc: zeroLoad, MaxConsumersPerWorker: 6})
	var wg sync.WaitGroup
	for room := 0; room < 2; room++ {
		mr := newRoom(t, m, 0)
		in := must[media.DirectTransport](t)(mr.CreateDirectTransport(ctx, nil))
		prod := must[media.Producer](t)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(5)}))
		errs := make(chan error, 16)
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- consumeAndClose(t, mr, prod.ID())
			}()
		}
		t.Cleanup(func() {
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := m.CloseAllMafaldaRouters(ctx); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, "workers closed", func() bool { return len(m.Workers()) == 0 })
}

func consumeAndClose(t *testing.T, mr *mafalda.MafaldaRouter, producerID string) error {
	ctx := ctxFor(t)
	for i := 0; i < 5; i++ {
		tr, err := mr.CreateDirectTransport(ctx, nil)
		if err != nil {
			return err
		}
		c, err := tr.Consume(ctx, &media.ConsumerOptions{ProducerID: producerID, RtpCapabilities: mediatest.EndpointCaps()})
		if err != nil {
			return err
		}
		if i%2 == 0 {
			err = c.Close(ctx)
		} else {
			err = tr.Close(ctx)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
