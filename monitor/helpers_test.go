package monitor_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/mediaclient"
	"github.com/ropehq/rope/media/mediaserver"
	"github.com/ropehq/rope/media/mediatest"
	"github.com/ropehq/rope/media/workerproc"
	"github.com/ropehq/rope/monitor"
	"github.com/ropehq/rope/ropeclient"
	"github.com/ropehq/rope/ropeserver"
)

// TestMain runs a media worker instead of the tests when the test binary
// was started as one (workerproc uses the test binary as the worker
// program).
func TestMain(m *testing.M) {
	if workerproc.IsWorkerMode() {
		workerproc.Main()
	}
	goleak.VerifyTestMain(m)
}

const testToken = "s3cr3t"

// server is a ROPE server with the media objects (in-process engine), the
// Monitor, its page and /metrics, on a loopback HTTP server, as
// cmd/ropeserver mounts them.
type server struct {
	rs      *ropeserver.Server
	mon     *monitor.Monitor
	metrics *monitor.Metrics
	ws      string // ws://…/
	http    string // http://…
	api     *mediaclient.Client
}

func newServer(t testing.TB, opts *monitor.Options) *server {
	t.Helper()
	return newServerOn(t, opts, engine.New(nil))
}

// newServerOn is newServer with the media objects over api.
func newServerOn(t testing.TB, opts *monitor.Options, api media.API) *server {
	t.Helper()
	return newServerWith(t, opts, func(rs *ropeserver.Server) (func(context.Context) error, error) {
		ms, err := mediaserver.Register(rs, api, &mediaserver.Options{MaxWorkersPerConn: -1})
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) error {
			err := ms.Close(ctx)
			if c, ok := api.(interface{ Close(context.Context) error }); ok {
				err = errors.Join(err, c.Close(ctx))
			}
			return err
		}, nil
	})
}

// newServerWith is newServer with what register serves (media objects,
// a Mafalda), closed by what it returns.
func newServerWith(t testing.TB, opts *monitor.Options, register func(*ropeserver.Server) (func(context.Context) error, error)) *server {
	t.Helper()
	x := monitor.NewMetrics()
	rs := ropeserver.New(&ropeserver.Options{Token: testToken, OnCall: x.ObserveCall})
	closeMedia, err := register(rs)
	if err != nil {
		t.Fatal(err)
	}
	o := monitor.Options{Interval: 200 * time.Millisecond}
	if opts != nil {
		o = *opts
	}
	o.Metrics = x
	o.Server = monitor.ServerInfo{ID: "test-server", Self: true}
	mon, err := monitor.Register(rs, &o)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/{$}", rs)
	mux.Handle("/monitor/", http.StripPrefix("/monitor", monitor.Handler(rs)))
	mux.Handle("/metrics", monitor.MetricsHandler(rs, x))
	hs := httptest.NewServer(rs.GuardHost(mux))
	s := &server{rs: rs, mon: mon, metrics: x, http: hs.URL, ws: "ws" + strings.TrimPrefix(hs.URL, "http") + "/"}
	s.api = s.dialMedia(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.api.Close()
		_ = mon.Close()
		_ = closeMedia(ctx)
		rs.Close()
		hs.Close()
	})
	return s
}

func (s *server) dialMedia(t testing.TB) *mediaclient.Client {
	t.Helper()
	c, err := mediaclient.Dial(ctxFor(t), s.ws, &mediaclient.Options{ROPE: &ropeclient.Options{Token: testToken}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (s *server) dial(t testing.TB) *ropeclient.Client {
	t.Helper()
	c, err := ropeclient.Dial(ctxFor(t), s.ws, &ropeclient.Options{Token: testToken, Dedicated: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// room is a router with plain-RTP peers: producers fed by a goroutine
// each, consumers whose packets go to a UDP socket that drops them.
type room struct {
	t      testing.TB
	worker media.Worker
	router media.Router
	sink   *net.UDPConn
}

func newRoom(t testing.TB, s *server) *room {
	t.Helper()
	ctx := ctxFor(t)
	w := must[media.Worker](t)(s.api.CreateWorker(ctx, nil))
	rm := newRoomOn(t, must[media.Router](t)(w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()})))
	rm.worker = w
	return rm
}

// newRoomOn is a room on router r (a MafaldaRouter, say).
func newRoomOn(t testing.TB, r media.Router) *room {
	t.Helper()
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 2048)
		for {
			if _, err := sink.Read(buf); err != nil {
				return
			}
		}
	})
	t.Cleanup(func() {
		sink.Close()
		wg.Wait()
	})
	return &room{t: t, router: r, sink: sink}
}

// peer is one producer sending VP8 at 50 packets/s until stopped.
type peer struct {
	transport media.PlainTransport
	producer  media.Producer
	stop      chan struct{}
	wg        sync.WaitGroup
	once      sync.Once
}

// plain creates a transport named name connected to the UDP socket at
// port (the sink when 0).
func (r *room) plain(name string, port int) media.PlainTransport {
	r.t.Helper()
	ctx := ctxFor(r.t)
	tr := must[media.PlainTransport](r.t)(r.router.CreatePlainTransport(ctx, &media.PlainTransportOptions{
		ListenInfo: &media.TransportListenInfo{Protocol: media.ProtocolUDP, IP: "127.0.0.1"},
		AppData:    media.AppData{"name": name, "peerId": name},
	}))
	if port == 0 {
		port = r.sink.LocalAddr().(*net.UDPAddr).Port
	}
	if err := tr.Connect(ctx, &media.PlainTransportConnectOptions{IP: "127.0.0.1", Port: uint16(port)}); err != nil {
		r.t.Fatal(err)
	}
	return tr
}

// produce adds a peer named name sending video at 50 packets/s.
func (r *room) produce(name string, ssrc uint32) *peer {
	r.t.Helper()
	return r.produceAt(name, ssrc, 20*time.Millisecond)
}

// produceAt adds a peer sending a packet every period.
func (r *room) produceAt(name string, ssrc uint32, period time.Duration) *peer {
	r.t.Helper()
	ctx := ctxFor(r.t)
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		r.t.Fatal(err)
	}
	p := &peer{transport: r.plain(name, conn.LocalAddr().(*net.UDPAddr).Port), stop: make(chan struct{})}
	p.producer = must[media.Producer](r.t)(p.transport.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo,
		RtpParameters: mediatest.VP8Parameters(ssrc)}))
	tuple := p.transport.Tuple()
	to := &net.UDPAddr{IP: net.ParseIP(tuple.LocalAddress), Port: int(tuple.LocalPort)}
	sender := &mediatest.VP8Sender{SSRC: ssrc, PT: 101}
	t := r.t
	p.wg.Go(func() {
		defer conn.Close()
		tick := time.NewTicker(period)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
			_, _ = conn.WriteToUDP(sender.Next(t, i%50 == 0, 900), to)
		}
	})
	r.t.Cleanup(p.leave)
	return p
}

// leave stops sending and closes the peer's transport (and so its
// producer and its consumers).
func (p *peer) leave() {
	p.once.Do(func() {
		close(p.stop)
		p.wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.transport.Close(ctx)
	})
}

// consume adds n consumers of p on one transport named name.
func (r *room) consume(name string, p *peer, n int) media.PlainTransport {
	r.t.Helper()
	ctx := ctxFor(r.t)
	tr := r.plain(name, 0)
	for range n {
		must[media.Consumer](r.t)(tr.Consume(ctx, &media.ConsumerOptions{ProducerID: p.producer.ID(),
			RtpCapabilities: mediatest.EndpointCaps()}))
	}
	return tr
}

// consumerOptions consume p with the test endpoint's capabilities.
func consumerOptions(p *peer) *media.ConsumerOptions {
	return &media.ConsumerOptions{ProducerID: p.producer.ID(), RtpCapabilities: mediatest.EndpointCaps()}
}
