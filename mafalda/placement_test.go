package mafalda_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediatest"
)

// TestSharing: rooms with the same settings share the worker, and with
// the same codecs the router; each room's close releases only its part.
func TestSharing(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	m := newMafalda(t, &mafalda.Options{CPUs: 2, LoadFunc: zeroLoad})
	a, b := newRoom(t, m, 0), newRoom(t, m, 0)
	opus := must[*mafalda.MafaldaRouter](t)(m.CreateMafaldaRouter(ctx, &mafalda.MafaldaRouterOptions{
		RouterOptions: media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()[:1]}}))
	if len(m.Workers()) != 0 {
		t.Fatal("a worker before the first transport")
	}
	for _, mr := range []*mafalda.MafaldaRouter{a, b, opus} {
		must[media.DirectTransport](t)(mr.CreateDirectTransport(ctx, nil))
	}
	d := must[*mafalda.Dump](t)(m.Dump(ctx))
	if len(d.Workers) != 1 || len(d.Workers[0].Routers) != 2 {
		t.Fatalf("dump %+v, want 1 worker with 2 routers", d.Workers)
	}
	if _, err := json.Marshal(d); err != nil {
		t.Fatal(err)
	}
	if a.Routers()[0] != b.Routers()[0] || a.Routers()[0] == opus.Routers()[0] {
		t.Fatal("rooms with the same codecs do not share the router, or others do")
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if len(m.Routers()) != 2 {
		t.Fatal("closing one room closed a shared router")
	}
	if err := m.CloseAllMafaldaRouters(ctx); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, "workers closed", func() bool { return len(m.Workers()) == 0 })
	if len(m.MafaldaRouters()) != 0 {
		t.Fatal("rooms left")
	}
}

// TestMaxWorkersZero: a room that may create no worker fails without one
// and uses another room's worker once there is one.
func TestMaxWorkersZero(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	m := newMafalda(t, &mafalda.Options{CPUs: 2, LoadFunc: zeroLoad})
	guest := must[*mafalda.MafaldaRouter](t)(m.CreateMafaldaRouter(ctx, &mafalda.MafaldaRouterOptions{MaxWorkers: mafalda.Int(0)}))
	_, err := guest.CreateDirectTransport(ctx, nil)
	if !errors.Is(err, mafalda.ErrNoWorker) || !errors.Is(err, media.ErrInvalidState) {
		t.Fatalf("error %v, want ErrNoWorker, ErrInvalidState", err)
	}
	host := newRoom(t, m, 0)
	must[media.DirectTransport](t)(host.CreateDirectTransport(ctx, nil))
	must[media.DirectTransport](t)(guest.CreateDirectTransport(ctx, nil))
	if len(m.Workers()) != 1 || len(m.Routers()) != 2 {
		t.Fatalf("%d workers, %d routers, want 1 and 2", len(m.Workers()), len(m.Routers()))
	}
}

// TestFullWorkersOverflow: once every worker allowed is full, transports
// go to the least loaded one.
func TestFullWorkersOverflow(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	m := newMafalda(t, &mafalda.Options{CPUs: 1, LoadFunc: func(context.Context, media.Worker) (float64, error) { return 99, nil }})
	mr := newRoom(t, m, 0)
	for i := 0; i < 3; i++ {
		must[media.DirectTransport](t)(mr.CreateDirectTransport(ctx, nil))
	}
	if len(m.Workers()) != 1 {
		t.Fatalf("%d workers, want 1", len(m.Workers()))
	}
}

// TestProducerCloseAcrossPipe: closing a piped producer closes the remote
// consumer ("producerclose") and the pipe.
func TestProducerCloseAcrossPipe(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	m := newMafalda(t, &mafalda.Options{CPUs: 2, LoadFunc: zeroLoad, MaxConsumersPerWorker: 1})
	mr := newRoom(t, m, 0)
	in := must[media.DirectTransport](t)(mr.CreateDirectTransport(ctx, nil))
	prod := must[media.Producer](t)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(7)}))
	local := must[media.DirectTransport](t)(mr.CreateDirectTransport(ctx, nil))
	must[media.Consumer](t)(local.Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
	remote := must[media.DirectTransport](t)(mr.CreateDirectTransport(ctx, nil))
	c := must[media.Consumer](t)(remote.Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
	if len(mr.DumpState().Pipes) != 1 || !mr.CanConsume(prod.ID(), mediatest.EndpointCaps()) {
		t.Fatalf("pipes %+v", mr.DumpState().Pipes)
	}
	closed := make(chan struct{}, 1)
	c.OnProducerClose(func() { closed <- struct{}{} })
	if err := prod.Close(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-ctx.Done():
		t.Fatal("no producerclose through the pipe")
	}
	wait.Until(t, "pipe gone", func() bool { return len(mr.DumpState().Pipes) == 0 && len(mr.DumpState().Producers) == 0 })
}

// TestObserverAcrossWorkers: an observer on another worker gets the
// producer through a pipe while it observes it.
func TestObserverAcrossWorkers(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	m := newMafalda(t, &mafalda.Options{CPUs: 2, LoadFunc: zeroLoad, MaxConsumersPerWorker: 1})
	mr := newRoom(t, m, 0)
	in := must[media.DirectTransport](t)(mr.CreateDirectTransport(ctx, nil))
	prod := must[media.Producer](t)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindAudio, RtpParameters: opusParameters(9)}))
	out := must[media.DirectTransport](t)(mr.CreateDirectTransport(ctx, nil))
	must[media.Consumer](t)(out.Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
	obs, err := mr.CreateAudioLevelObserver(ctx, nil)
	if errors.Is(err, media.ErrUnsupported) {
		t.Skip("the engine has no audio level observer yet:", err)
	} else if err != nil {
		t.Fatal(err)
	}
	if len(m.Workers()) != 2 || len(mr.RtpObservers()) != 1 {
		t.Fatalf("%d workers, %d observers", len(m.Workers()), len(mr.RtpObservers()))
	}
	added := make(chan media.Producer, 1)
	obs.OnAddProducer(func(p media.Producer) { added <- p })
	if err := obs.AddProducer(ctx, media.RtpObserverAddRemoveProducerOptions{ProducerID: prod.ID()}); err != nil {
		t.Fatal(err)
	}
	// The event reports the room's producer itself, not the pipe
	// producer that brought it to the observer's router.
	if p := <-added; p != prod || len(mr.DumpState().Pipes) != 1 {
		t.Fatalf("added %T %s (the producer: %v), pipes %+v", p, p.ID(), p == prod, mr.DumpState().Pipes)
	}
	removed := make(chan media.Producer, 1)
	obs.OnRemoveProducer(func(p media.Producer) { removed <- p })
	if err := obs.RemoveProducer(ctx, media.RtpObserverAddRemoveProducerOptions{ProducerID: prod.ID()}); err != nil {
		t.Fatal(err)
	}
	if p := <-removed; p != prod {
		t.Fatalf("removed %T %s, not the producer", p, p.ID())
	}
	wait.Until(t, "pipe gone", func() bool { return len(mr.DumpState().Pipes) == 0 })
	routerClosed := make(chan struct{}, 1)
	obs.OnRouterClose(func() { routerClosed <- struct{}{} })
	if err := mr.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if len(routerClosed) != 1 || !obs.Closed() {
		t.Fatal("observer not closed with routerclose")
	}
	wait.Until(t, "workers closed", func() bool { return len(m.Workers()) == 0 })
}

func opusParameters(ssrc uint32) media.RtpParameters {
	return media.RtpParameters{
		Codecs:    []media.RtpCodecParameters{{MimeType: "audio/opus", PayloadType: 111, ClockRate: 48000, Channels: 2}},
		Encodings: []media.RtpEncodingParameters{{SSRC: ssrc}},
		Rtcp:      media.RtcpParameters{CNAME: "mafalda"},
	}
}

// TestResourceUsages reports one entry per worker.
func TestResourceUsages(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	m := newMafalda(t, nil)
	mr := newRoom(t, m, 0)
	must[media.DirectTransport](t)(mr.CreateDirectTransport(ctx, nil))
	us := must[[]mafalda.WorkerUsage](t)(m.GetResourceUsages(ctx))
	if len(us) != 1 || us[0].Usage == nil || len(m.Transports()) != 1 {
		t.Fatalf("usages %+v", us)
	}
}

// TestPipedInSharedRouter: a producer piped from room A into room B, B's
// transport then placed on the router A and B share: it consumes the
// producer there directly, without a second pipe of the same id.
func TestPipedInSharedRouter(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	var mu sync.Mutex
	full := map[media.Worker]bool{}
	m := newMafalda(t, &mafalda.Options{CPUs: 2, LoadFunc: func(_ context.Context, w media.Worker) (float64, error) {
		mu.Lock()
		defer mu.Unlock()
		if full[w] {
			return 100, nil
		}
		return 0, nil
	}})
	a, b := newRoom(t, m, 0), newRoom(t, m, 0)
	in := must[media.DirectTransport](t)(a.CreateDirectTransport(ctx, nil))
	prod := must[media.Producer](t)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(3)}))
	res := must[*media.PipeToRouterResult](t)(a.PipeToRouter(ctx, &media.PipeToRouterOptions{ProducerID: prod.ID(), Router: b}))
	if len(m.Workers()) != 2 || res.PipeProducer.ID() != prod.ID() {
		t.Fatalf("%d workers, want the pipe on a second one", len(m.Workers()))
	}
	mu.Lock()
	full[m.Workers()[1]] = true
	mu.Unlock()
	out := must[media.DirectTransport](t)(b.CreateDirectTransport(ctx, nil))
	if got := routerOf(t, b, out.ID()); got != a.Routers()[0].ID() {
		t.Fatalf("transport on %s, want the shared router %s", got, a.Routers()[0].ID())
	}
	must[media.Consumer](t)(out.Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
	if d := b.DumpState(); len(d.Pipes) != 0 || len(d.Producers) != 1 {
		t.Fatalf("room B: pipes %+v producers %+v", d.Pipes, d.Producers)
	}
	if err := prod.Close(ctx); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, "piped-in producer gone", func() bool { return len(b.DumpState().Producers) == 0 })
}

// TestConsumeDataAcrossWorkers: a data producer on another worker is piped
// on demand like RTP, over pipe transports with SCTP: its messages reach
// the data consumer on the other worker in order, and its close follows.
func TestConsumeDataAcrossWorkers(t *testing.T) {
	t.Parallel()
	testConsumeDataAcrossWorkers(t, newMafalda(t, &mafalda.Options{CPUs: 2, LoadFunc: zeroLoad, MaxConsumersPerWorker: 1}))
}

func testConsumeDataAcrossWorkers(t *testing.T, m *mafalda.Mafalda) {
	ctx := ctxFor(t)
	mr := newRoom(t, m, 0)
	in := must[media.DirectTransport](t)(mr.CreateDirectTransport(ctx, nil))
	prod := must[media.Producer](t)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(8)}))
	dp := must[media.DataProducer](t)(in.ProduceData(ctx, &media.DataProducerOptions{Label: "chat"}))
	must[media.Consumer](t)(in.Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
	other := must[media.DirectTransport](t)(mr.CreateDirectTransport(ctx, nil))
	if routerOf(t, mr, other.ID()) == routerOf(t, mr, in.ID()) {
		t.Fatal("second transport on the full worker")
	}
	dc := must[media.DataConsumer](t)(other.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}))
	if dc.DataProducerID() != dp.ID() || dc.Label() != "chat" || len(mr.DumpState().Pipes) != 1 {
		t.Fatalf("data consumer of %s (%q), pipes %+v", dc.DataProducerID(), dc.Label(), mr.DumpState().Pipes)
	}
	var mu sync.Mutex
	var got []string
	dc.OnMessage(func(b []byte, _ int) {
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
	})
	want := []string{"a", "chat", "across", "workers"}
	for _, msg := range want {
		if err := dp.Send([]byte(msg), &media.DataSendOptions{PPID: media.PPIDString}); err != nil {
			t.Fatal(err)
		}
	}
	wait.Until(t, "messages across workers", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Equal(got, want)
	})
	closed := make(chan struct{})
	dc.OnDataProducerClose(func() { close(closed) })
	if err := dp.Close(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-ctx.Done():
		t.Fatal("no dataproducerclose across workers")
	}
	wait.Until(t, "the data pipe gone", func() bool { return len(mr.DumpState().Pipes) == 0 })
}
