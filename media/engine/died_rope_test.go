package engine_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/mediaclient"
	"github.com/ropehq/rope/media/mediaserver"
	"github.com/ropehq/rope/ropeclient"
	"github.com/ropehq/rope/ropeserver"
)

// A worker that dies in the server's process reaches remote clients as a
// dead worker process does: "died" with the reason, Died(), its objects
// closed with mediasoup's events; the server goes on serving.
func TestWorkerPanicDiesOverROPE(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	api := engine.New(&engine.Options{Logger: quiet})
	inner := make(chan media.Worker, 1)
	api.(media.NewWorkerNotifier).OnNewWorker(func(w media.Worker) { inner <- w })
	rs := ropeserver.New(&ropeserver.Options{Logger: quiet})
	ms, err := mediaserver.Register(rs, api, &mediaserver.Options{Logger: quiet, AllowWorkerClose: true})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(rs)
	t.Cleanup(func() {
		ms.Close(context.Background())
		rs.Close()
		hs.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	mc, err := mediaclient.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/", &mediaclient.Options{Logger: quiet,
		ROPE: &ropeclient.Options{Logger: quiet, Dedicated: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()

	w := must[media.Worker](t)(mc.CreateWorker(ctx, nil))
	victim := <-inner
	r := must[media.Router](t)(w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: mediaCodecs()}))
	tr := must[media.PlainTransport](t)(r.CreatePlainTransport(ctx, &media.PlainTransportOptions{
		ListenInfo: &media.TransportListenInfo{IP: lo}, Comedia: true}))
	routerClosed, transportClosed := make(chan struct{}), make(chan struct{})
	r.OnWorkerClose(func() { close(routerClosed) })
	tr.OnRouterClose(func() { close(transportClosed) })
	died := make(chan error, 1)
	w.OnDied(func(err error) { died <- err })

	engine.InjectPanic(victim)
	e := newEndpoint(t)
	s := &sender{ssrc: 7, pt: 101}
	e.send(tr.Tuple(), s.packet(t, true, 50))
	select {
	case err := <-died:
		if !strings.Contains(err.Error(), "panicked") {
			t.Fatalf("died with %q", err)
		}
	case <-ctx.Done():
		t.Fatal("no died event over ROPE")
	}
	<-routerClosed
	<-transportClosed
	wait.Until(t, "the worker closed and died in the mirror", func() bool { return w.Closed() && w.Died() })
	if !r.Closed() || !tr.Closed() {
		t.Fatal("the dead worker's objects are open in the mirror")
	}
	w2 := must[media.Worker](t)(mc.CreateWorker(ctx, nil))
	must[media.Router](t)(w2.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: mediaCodecs()}))
	if err := w2.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
