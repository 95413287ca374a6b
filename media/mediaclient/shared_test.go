package mediaclient_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ropehq/rope/internal/cuttest"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediaclient"
	"github.com/ropehq/rope/media/mediatest"
	"github.com/ropehq/rope/ropeclient"
	"github.com/ropehq/rope/ropeserver"
)

// recorder records event names in order, from any goroutine.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(e string) func() {
	return func() {
		r.mu.Lock()
		r.events = append(r.events, e)
		r.mu.Unlock()
	}
}

func (r *recorder) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// scene is what client A builds: a router with a producer on one plain
// transport and a consumer of it on another.
type scene struct {
	worker   media.Worker
	router   media.Router
	in, out  media.PlainTransport
	producer media.Producer
	consumer media.Consumer
	src, dst *mediatest.Endpoint
}

func buildScene(t *testing.T, api media.API) *scene {
	t.Helper()
	ctx := ctxT(t)
	s := &scene{src: mediatest.NewEndpoint(t), dst: mediatest.NewEndpoint(t)}
	s.worker = must[media.Worker](t)(api.CreateWorker(ctx, nil))
	s.router = must[media.Router](t)(s.worker.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: codecs}))
	s.in = must[media.PlainTransport](t)(s.router.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: loopback(), Comedia: true}))
	s.out = must[media.PlainTransport](t)(s.router.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: loopback()}))
	if err := s.out.Connect(ctx, &media.PlainTransportConnectOptions{IP: "127.0.0.1", Port: s.dst.Port()}); err != nil {
		t.Fatal(err)
	}
	s.producer = must[media.Producer](t)(s.in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo,
		RtpParameters: mediatest.VP8Parameters(1111), AppData: media.AppData{"owner": "A"}}))
	s.consumer = must[media.Consumer](t)(s.out.Consume(ctx, &media.ConsumerOptions{ProducerID: s.producer.ID(),
		RtpCapabilities: mediatest.EndpointCaps()}))
	return s
}

// mirrorOf returns client c's object of type T with that ROPE id,
// waiting for it to appear in its mirror.
func mirrorOf[T any](t *testing.T, c *mediaclient.Client, id string) T {
	t.Helper()
	var out T
	wait.Until(t, "object "+id+" in the other mirror", func() bool {
		x, ok := c.Object(id)
		if ok {
			out, ok = x.(T)
		}
		return ok
	})
	return out
}

func ropeID(x any) string { return x.(interface{ ID() string }).ID() }

// TestTwoClientsShareState: what A creates B sees; A's close of a producer
// reaches B's consumer as producerclose then close; appData set by A
// reads the same in B.
func TestTwoClientsShareState(t *testing.T) {
	srv := startServer(t, nil)
	a, _ := srv.dial(t, nil)
	b, _ := srv.dial(t, nil)

	ctx := ctxT(t)
	w := must[media.Worker](t)(a.CreateWorker(ctx, nil))
	bw := mirrorOf[media.Worker](t, b, ropeID(w))
	newRouters := make(chan media.Router, 1)
	bw.OnNewRouter(func(r media.Router) { newRouters <- r })
	r := must[media.Router](t)(w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: codecs}))
	select {
	case br := <-newRouters:
		if br.ID() != r.ID() || len(br.RtpCapabilities().Codecs) == 0 {
			t.Fatalf("B's router %s caps %v", br.ID(), br.RtpCapabilities())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("B saw no newrouter")
	}
	tr := must[media.DirectTransport](t)(r.CreateDirectTransport(ctx, nil))
	p := must[media.Producer](t)(tr.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(5)}))
	c := must[media.Consumer](t)(tr.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: mediatest.EndpointCaps()}))

	bp := mirrorOf[media.Producer](t, b, p.ID())
	bc := mirrorOf[media.Consumer](t, b, c.ID())
	if bc.ProducerID() != p.ID() || bp.Kind() != media.KindVideo || bc.RtpParameters().Encodings[0].SSRC != c.RtpParameters().Encodings[0].SSRC {
		t.Fatalf("B's consumer producerId %s kind %s", bc.ProducerID(), bp.Kind())
	}
	p.SetAppData(media.AppData{"n": 7, "s": "x"})
	wait.Until(t, "appData in B", func() bool { d := bp.AppData(); return d["n"] == 7 && d["s"] == "x" })

	var rec recorder
	bc.OnProducerClose(rec.add("consumer producerclose"))
	bc.OnClose(rec.add("consumer close"))
	bp.OnClose(rec.add("producer close"))
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if !c.Closed() || !p.Closed() {
		t.Fatal("A's mirror not closed when Close returned")
	}
	wait.Until(t, "B's events", func() bool { return len(rec.get()) == 3 })
	if got := rec.get(); !slices.Equal(got, []string{"consumer producerclose", "consumer close", "producer close"}) {
		t.Fatalf("B got %v", got)
	}
	if !bp.Closed() || !bc.Closed() {
		t.Fatal("B's mirrors not closed")
	}
}

// TestResumeAfterCut cuts client B's TCP connection while A pauses, closes
// and creates media objects; B resumes with the right state, within the
// replay window and past it (snapshot).
func TestResumeAfterCut(t *testing.T) {
	for _, tc := range []struct {
		name   string
		window int
	}{{"replay", 0}, {"snapshot", 1}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServerWith(t, nil, &ropeserver.Options{ReplayWindow: tc.window})
			a, _ := srv.dial(t, nil)
			var cut cuttest.Cutter
			b, brc := srv.dial(t, &ropeclient.Options{HTTPClient: cut.Client(), MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})
			ctx := ctxT(t)
			s := buildScene(t, a)
			other := must[media.Consumer](t)(s.out.Consume(ctx, &media.ConsumerOptions{ProducerID: s.producer.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
			bc := mirrorOf[media.Consumer](t, b, s.consumer.ID())
			bOther := mirrorOf[media.Consumer](t, b, other.ID())
			var rec recorder
			bOther.OnClose(rec.add("other close"))
			disconnected := make(chan struct{}, 1)
			brc.OnDisconnected(func(error) {
				select {
				case disconnected <- struct{}{}:
				default:
				}
			})
			cut.Cut()
			<-disconnected
			must[struct{}](t)(struct{}{}, s.producer.Pause(ctx))
			must[struct{}](t)(struct{}{}, s.consumer.Pause(ctx))
			must[struct{}](t)(struct{}{}, other.Close(ctx))
			late := must[media.DirectTransport](t)(s.router.CreateDirectTransport(ctx, nil))
			wait.Until(t, "B reconnects", func() bool { return brc.ReadyState() == ropeclient.Connected && brc.Seq() == srv.rs.Seq() })
			if !bc.Paused() || !bc.ProducerPaused() {
				t.Fatalf("B's consumer paused %v producerPaused %v", bc.Paused(), bc.ProducerPaused())
			}
			if !bOther.Closed() {
				t.Fatal("B's other consumer not closed")
			}
			wait.Until(t, "B's close event", func() bool { return len(rec.get()) == 1 })
			mirrorOf[media.DirectTransport](t, b, late.ID())
		})
	}
}
