package mediaclient_test

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ropehq/rope/internal/cuttest"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/ropeclient"
)

// TestCloseSurvivesCutInFlight cuts the connection after the server has
// closed a transport and before its response reaches the client: Close
// must succeed (mediasoup's close never fails because the connection
// dropped), asking again after the resume, which finds it closed.
func TestCloseSurvivesCutInFlight(t *testing.T) {
	api := engine.New(nil)
	srv := startServerFull(t, api, nil, nil)
	var cut cuttest.Cutter
	c, rc := srv.dial(t, &ropeclient.Options{HTTPClient: cut.Client(), MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})
	api.(media.NewWorkerNotifier).OnNewWorker(func(w media.Worker) {
		w.OnNewRouter(func(r media.Router) {
			r.OnNewTransport(func(tr media.Transport) { tr.OnClose(cut.Cut) })
		})
	})
	ctx := ctxT(t)
	worker := must[media.Worker](t)(c.CreateWorker(ctx, nil))
	router := must[media.Router](t)(worker.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: codecs}))
	tr := must[media.PlainTransport](t)(router.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: loopback()}))
	if err := tr.Close(ctx); err != nil {
		t.Fatalf("Close with the connection cut in flight: %v", err)
	}
	if !tr.Closed() {
		t.Fatal("transport mirror not closed after Close")
	}
	if rc.ReadyState() != ropeclient.Connected {
		t.Fatalf("client %v after the resume", rc.ReadyState())
	}
	if router.Closed() {
		t.Fatal("router closed")
	}
}

// TestCloseSurvivesServerGone cuts the connection after the server has
// closed a transport, refuses every later dial (the server's process
// went) and, once a dial was refused, closes the client (as a worker
// process's owner does): Close succeeds, as mediasoup's close does when
// its worker is gone.
func TestCloseSurvivesServerGone(t *testing.T) {
	api := engine.New(nil)
	srv := startServerFull(t, api, nil, nil)
	var (
		mu      sync.Mutex
		conns   []net.Conn
		refuse  atomic.Bool
		refused = make(chan struct{}, 1)
	)
	dialer := &net.Dialer{}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if refuse.Load() {
			select {
			case refused <- struct{}{}:
			default:
			}
			return nil, syscall.ECONNREFUSED
		}
		conn, err := dialer.DialContext(ctx, network, addr)
		if err == nil {
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}
		return conn, err
	}}}
	c, rc := srv.dial(t, &ropeclient.Options{HTTPClient: client, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})
	go func() {
		<-refused
		rc.Close()
	}()
	api.(media.NewWorkerNotifier).OnNewWorker(func(w media.Worker) {
		w.OnNewRouter(func(r media.Router) {
			r.OnNewTransport(func(tr media.Transport) {
				tr.OnClose(func() {
					refuse.Store(true)
					mu.Lock()
					defer mu.Unlock()
					for _, conn := range conns {
						conn.Close()
					}
				})
			})
		})
	})
	ctx := ctxT(t)
	worker := must[media.Worker](t)(c.CreateWorker(ctx, nil))
	router := must[media.Router](t)(worker.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: codecs}))
	tr := must[media.PlainTransport](t)(router.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: loopback()}))
	if err := tr.Close(ctx); err != nil {
		t.Fatalf("Close with the server gone: %v", err)
	}
}
