package workerproc_test

import (
	"context"
	"io"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
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

// A worker that panics inside its child process (envTestPanic: a "tuple"
// listener panics on the engine's goroutine) dies as a killed process's
// worker does: "died" with the panic as its reason, its router,
// transports, producer and consumer closed with mediasoup's events, the
// child stopped; this process goes on, and a worker in another child
// keeps forwarding.
func TestWorkerPanicInChild(t *testing.T) {
	t.Parallel()
	survivor := newWorker(t, workerproc.New(nil))
	other := newPath(t, survivor)
	other.forwards(t, 3)

	victim := newWorker(t, workerproc.New(&workerproc.Options{
		Env: []string{workerproc.EnvTestPanic + "=tuple"}, Stderr: io.Discard}))
	p := newPath(t, victim)
	p.forwards(t, 3) // connected transports emit no "tuple"
	closes := map[string]chan struct{}{}
	for _, name := range []string{"consumer close", "producer transportclose", "out routerclose", "in routerclose", "router workerclose", "worker close"} {
		closes[name] = make(chan struct{})
	}
	done := func(name string) func() { return func() { close(closes[name]) } }
	// The consumer closes with "transportclose", as mediasoup's whose
	// worker died, whichever transport the child closed first.
	p.consumer.OnTransportClose(done("consumer close"))
	p.consumer.OnProducerClose(func() { t.Error("consumer got producerclose from a dead worker") })
	p.producer.OnTransportClose(done("producer transportclose"))
	p.out.OnRouterClose(done("out routerclose"))
	p.in.OnRouterClose(done("in routerclose"))
	p.router.OnWorkerClose(done("router workerclose"))
	victim.OnClose(done("worker close"))
	died := make(chan error, 1)
	victim.OnDied(func(err error) { died <- err })

	comedia := must[media.PlainTransport](t)(p.router.CreatePlainTransport(ctxT(t), &media.PlainTransportOptions{
		ListenInfo: &media.TransportListenInfo{Protocol: media.ProtocolUDP, IP: "127.0.0.1"}, Comedia: true}))
	p.src.Send(comedia.Tuple(), p.sender.Next(t, true, 100))
	ctx := ctxT(t)
	select {
	case err := <-died:
		if !strings.Contains(err.Error(), "panicked") || !strings.Contains(err.Error(), "injected") {
			t.Fatalf("died with %q, want the injected panic", err)
		}
	case <-ctx.Done():
		t.Fatal("no died event from the worker that panicked in its child")
	}
	for name, ch := range closes {
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("no %s after the worker died", name)
		}
	}
	if !victim.Died() || !victim.Closed() || !p.router.Closed() || !p.in.Closed() || !comedia.Closed() || !p.consumer.Closed() {
		t.Fatal("the dead worker or one of its objects is open")
	}
	pid := victim.PID()
	wait.Until(t, "the dead worker's child to be gone", func() bool { return syscall.Kill(pid, 0) != nil })
	if err := victim.Close(ctxT(t)); err != nil {
		t.Fatalf("Close on the dead worker: %v", err)
	}
	other.forwards(t, 20)
}
