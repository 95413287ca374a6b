package engine_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
)

// path is a producer on one plain transport forwarded to a consumer on
// another, each connected to its own endpoint.
type path struct {
	router   media.Router
	in, out  media.PlainTransport
	producer media.Producer
	consumer media.Consumer
	src, dst *endpoint
	snd      *sender
}

func newPath(t *testing.T, f *fixture, w media.Worker, ssrc uint32) *path {
	t.Helper()
	p := &path{src: newEndpoint(t), dst: newEndpoint(t), snd: &sender{ssrc: ssrc, pt: 101}}
	p.router = must[media.Router](t)(w.CreateRouter(f.ctx, &media.RouterOptions{MediaCodecs: mediaCodecs()}))
	p.in, p.out = f.plain(p.router, p.src), f.plain(p.router, p.dst)
	p.producer = must[media.Producer](t)(p.in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: vp8Params(ssrc)}))
	p.consumer = must[media.Consumer](t)(p.out.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.producer.ID(), RtpCapabilities: consumerCaps(false)}))
	return p
}

// forwards sends packets until n more than before reached the consumer's
// endpoint.
func (p *path) forwards(t *testing.T, n int) {
	t.Helper()
	want := len(p.dst.packets()) + n
	wait.Until(t, "forwarding", func() bool {
		p.src.send(p.in.Tuple(), p.snd.packet(t, true, 100))
		return len(p.dst.packets()) >= want
	})
}

// A panic in a goroutine of an in-process worker kills that worker only,
// as a crash kills a worker process: it reports "died" (ErrWorkerPanicked)
// after its objects closed in mediasoup's order, Died() turns true, and
// another worker of the same API keeps forwarding.
func TestWorkerPanicDies(t *testing.T) {
	f := newFixture(t)
	victim := must[media.Worker](t)(f.api.CreateWorker(f.ctx, nil))
	t.Cleanup(func() { victim.Close(context.Background()) })
	bad, good := newPath(t, f, victim, 1111), newPath(t, f, f.worker, 2222)
	bad.forwards(t, 2)
	good.forwards(t, 2)

	var mu sync.Mutex
	var got []string
	rec := func(s string) func() {
		return func() {
			mu.Lock()
			got = append(got, s)
			mu.Unlock()
		}
	}
	bad.consumer.OnClose(rec("consumer close"))
	bad.out.OnRouterClose(rec("transport routerclose"))
	bad.router.OnWorkerClose(rec("router workerclose"))
	died := make(chan error, 1)
	victim.OnDied(func(err error) {
		rec("worker died")()
		if err := victim.Close(context.Background()); err != nil {
			t.Errorf("Close from a died listener: %v", err)
		}
		died <- err
	})
	closed := make(chan struct{})
	victim.OnClose(func() {
		rec("worker close")()
		close(closed)
	})

	engine.InjectPanic(victim)
	bad.src.send(bad.in.Tuple(), bad.snd.packet(t, true, 100))
	var err error
	select {
	case err = <-died:
	case <-time.After(10 * time.Second):
		t.Fatal("no died event")
	}
	<-closed
	if !errors.Is(err, engine.ErrWorkerPanicked) || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("died with %v", err)
	}
	if !victim.Died() || !victim.Closed() || !bad.router.Closed() || !bad.in.Closed() || !bad.consumer.Closed() {
		t.Fatal("the dead worker's objects are not all closed")
	}
	if _, err := victim.CreateRouter(f.ctx, &media.RouterOptions{MediaCodecs: mediaCodecs()}); !isErr(err, media.ErrClosed) {
		t.Fatalf("CreateRouter on a dead worker: %v", err)
	}
	mu.Lock()
	for _, want := range []string{"consumer close", "transport routerclose", "router workerclose", "worker died", "worker close"} {
		if !slices.Contains(got, want) {
			t.Errorf("no %s in %q", want, got)
		}
	}
	if i, j := slices.Index(got, "router workerclose"), slices.Index(got, "worker died"); i > j {
		t.Errorf("died before the routers closed: %q", got)
	}
	if got[len(got)-1] != "worker close" {
		t.Errorf("worker close is not last: %q", got)
	}
	mu.Unlock()

	good.forwards(t, 5)
	if f.worker.Died() || f.worker.Closed() {
		t.Fatal("the other worker died too")
	}
}
