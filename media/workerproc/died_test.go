package workerproc_test

import (
	"context"
	"slices"
	"sync"
	"syscall"
	"testing"

	"github.com/ropehq/rope/media/workerproc"
)

// A killed worker's objects close as mediasoup closes them, children
// first, each after the event its parent's end gives it, and the worker
// last after "died"; Close called from a listener meanwhile returns.
func TestKilledWorkerCloseOrder(t *testing.T) {
	t.Parallel()
	victim := newWorker(t, workerproc.New(nil))
	p := newPath(t, victim)
	p.forwards(t, 3)

	var mu sync.Mutex
	var got []string
	rec := func(s string) func() {
		return func() {
			mu.Lock()
			got = append(got, s)
			mu.Unlock()
		}
	}
	p.consumer.OnTransportClose(rec("consumer transportclose"))
	p.consumer.OnClose(rec("consumer close"))
	p.out.OnRouterClose(rec("transport routerclose"))
	p.out.OnClose(rec("transport close"))
	p.router.OnWorkerClose(rec("router workerclose"))
	p.router.OnClose(rec("router close"))
	victim.OnDied(func(error) {
		rec("worker died")()
		if err := victim.Close(context.Background()); err != nil {
			t.Errorf("Close from a died listener: %v", err)
		}
		rec("closed from the listener")()
	})
	closed := make(chan struct{})
	victim.OnClose(func() {
		rec("worker close")()
		close(closed)
	})

	if err := syscall.Kill(victim.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-closed
	// Close from here waits for the listeners to have run.
	if err := victim.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"consumer transportclose", "consumer close", "transport routerclose", "transport close",
		"router workerclose", "router close", "worker died", "closed from the listener", "worker close"}
	if !slices.Equal(got, want) {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}
