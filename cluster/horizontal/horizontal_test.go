package horizontal_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ropehq/rope/cluster/horizontal"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediaclient"
	"github.com/ropehq/rope/media/mediatest"
	"github.com/ropehq/rope/ropeclient"
)

// TestAPI runs the shared media API suite against a cluster of two
// servers on 127.0.0.2 and 127.0.0.3: its two-worker steps (pipeToRouter)
// place a worker on each and pipe across them.
func TestAPI(t *testing.T) {
	mediatest.Run(t, func(t *testing.T) media.API {
		_, _, view := cluster(t, 2)
		return newAPI(t, view)
	}, mediatest.As("horizontal"))
}

func TestPlacementSpreadsWorkersOverServers(t *testing.T) {
	_, _, view := cluster(t, 3)
	api := newAPI(t, view)
	count := map[string]int{}
	for range 6 {
		w, err := api.CreateWorker(ctxT(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		id, ok := horizontal.ServerOf(w)
		if !ok {
			t.Fatalf("worker %T has no server", w)
		}
		count[id]++
	}
	for _, id := range []string{"sa", "sb", "sc"} {
		if count[id] != 2 {
			t.Fatalf("workers per server %v, want 2 each", count)
		}
	}
	all, err := api.Workers(ctxT(t))
	if err != nil || len(all) != 6 {
		t.Fatalf("Workers: %d, %v", len(all), err)
	}
}

func TestCreateWorkerOnNamedServer(t *testing.T) {
	_, _, view := cluster(t, 2)
	api := newAPI(t, view)
	w, err := api.CreateWorkerOn(ctxT(t), "sb", nil)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := horizontal.ServerOf(w); id != "sb" {
		t.Fatalf("worker on %q", id)
	}
	if _, err := api.CreateWorkerOn(ctxT(t), "nope", nil); !errors.Is(err, horizontal.ErrUnknownServer) {
		t.Fatalf("unknown server: %v", err)
	}
}

func TestNoServer(t *testing.T) {
	ns := startNATS(t)
	api := newAPI(t, observer(t, ns.ClientURL()))
	if _, err := api.CreateWorker(ctxT(t), nil); !errors.Is(err, horizontal.ErrNoServer) {
		t.Fatalf("empty cluster: %v", err)
	}
}

// TestPipeAcrossServersUsesTheirAddresses pipes a producer from a router
// on 127.0.0.2 to one on 127.0.0.3: RTP arrives at a consumer of the
// second, and each pipe transport listens on its own server's address.
func TestPipeAcrossServersUsesTheirAddresses(t *testing.T) {
	_, ms, view := cluster(t, 2)
	api := newAPI(t, view)
	ctx := ctxT(t)
	ra := routerOn(t, api, "sa")
	rb := routerOn(t, api, "sb")
	room := startRoom(t, ra)
	res, err := ra.PipeToRouter(ctx, &media.PipeToRouterOptions{ProducerID: room.producer.ID(), Router: rb,
		ListenInfo: &media.TransportListenInfo{IP: "127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.PipeProducer.ID() != room.producer.ID() {
		t.Fatalf("pipe producer %s", res.PipeProducer.ID())
	}
	viewer := consumeOn(t, rb, room.producer.ID())
	room.send(t, 10)
	wait.Until(t, "RTP through the pipe", func() bool { return viewer.received() >= 10 })
	for _, m := range ms {
		for _, tu := range pipeTuples(t, m.url) {
			if tu.LocalAddress != m.ip {
				t.Errorf("server %s: a pipe transport listens on %s, want %s", m.id, tu.LocalAddress, m.ip)
			}
		}
	}
}

// TestLostServer kills a server of a room: its workers die with
// mediasoup's events, the room's consumers elsewhere keep receiving, and
// new workers land on the survivors.
func TestLostServer(t *testing.T) {
	_, ms, view := cluster(t, 3)
	api := newAPI(t, view)
	ctx := ctxT(t)
	ra, rb, rc := routerOn(t, api, "sa"), routerOn(t, api, "sb"), routerOn(t, api, "sc")
	room := startRoom(t, ra)
	for _, r := range []media.Router{rb, rc} {
		if _, err := ra.PipeToRouter(ctx, &media.PipeToRouterOptions{ProducerID: room.producer.ID(), Router: r}); err != nil {
			t.Fatal(err)
		}
	}
	onB := consumeOn(t, rb, room.producer.ID())
	onC := consumeOn(t, rc, room.producer.ID())
	room.send(t, 5)
	wait.Until(t, "RTP on B and C", func() bool { return onB.received() >= 5 && onC.received() >= 5 })

	wb := workerOf(t, api, "sb")
	died := make(chan error, 1)
	wb.OnDied(func(err error) { died <- err })
	transportClosed := make(chan struct{}, 1)
	onB.consumer.OnTransportClose(func() { transportClosed <- struct{}{} })
	ms[1].kill()
	select {
	case err := <-died:
		if err == nil || !strings.Contains(err.Error(), "server sb lost") {
			t.Fatalf("died with %v, want the server's loss", err)
		}
	case <-ctx.Done():
		t.Fatal("the lost server's worker never died")
	}
	<-transportClosed
	if !wb.Died() || !wb.Closed() {
		t.Fatalf("worker of the lost server: died %v closed %v", wb.Died(), wb.Closed())
	}
	before := onC.received()
	room.send(t, 5)
	wait.Until(t, "RTP on C after B died", func() bool { return onC.received() >= before+5 })
	for range 2 {
		w, err := api.CreateWorker(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if id, _ := horizontal.ServerOf(w); id == "sb" {
			t.Fatal("a worker was placed on the lost server")
		}
	}
}

// TestServerJoiningLaterTakesPlacements: a server that joins an empty
// cluster's view gets the next worker.
func TestServerJoiningLaterTakesPlacements(t *testing.T) {
	ns, _, view := cluster(t, 1)
	api := newAPI(t, view)
	for range 2 {
		if _, err := api.CreateWorkerOn(ctxT(t), "sa", nil); err != nil {
			t.Fatal(err)
		}
	}
	startMember(t, ns.ClientURL(), "sz", "127.0.0.9")
	wait.Until(t, "the new server in the view", func() bool { return len(view.Servers()) == 2 })
	w, err := api.CreateWorker(ctxT(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := horizontal.ServerOf(w); id != "sz" {
		t.Fatalf("placed on %s, want the new server", id)
	}
}

func routerOn(t *testing.T, api *horizontal.API, server string) media.Router {
	t.Helper()
	w, err := api.CreateWorkerOn(ctxT(t), server, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := w.CreateRouter(ctxT(t), &media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func workerOf(t *testing.T, api *horizontal.API, server string) media.Worker {
	t.Helper()
	all, err := api.Workers(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range all {
		if id, _ := horizontal.ServerOf(w); id == server {
			return w
		}
	}
	t.Fatalf("no worker on %s", server)
	return nil
}

// room is a VP8 producer fed over a PlainTransport from a test endpoint.
type room struct {
	producer media.Producer
	in       media.PlainTransport
	src      *mediatest.Endpoint
	vp8      *mediatest.VP8Sender
	sent     int
}

const roomSSRC = 4444

func startRoom(t *testing.T, r media.Router) *room {
	t.Helper()
	src := mediatest.NewEndpoint(t)
	in := plainTo(t, r, src)
	p, err := in.Produce(ctxT(t), &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(roomSSRC)})
	if err != nil {
		t.Fatal(err)
	}
	return &room{producer: p, in: in, src: src, vp8: &mediatest.VP8Sender{SSRC: roomSSRC, PT: 101}}
}

func (r *room) send(t *testing.T, n int) {
	for range n {
		r.src.Send(r.in.Tuple(), r.vp8.Next(t, r.sent == 0, 500))
		r.sent++
	}
}

// viewer is a consumer sending to a test endpoint.
type viewer struct {
	consumer media.Consumer
	dst      *mediatest.Endpoint
}

func consumeOn(t *testing.T, r media.Router, producerID string) *viewer {
	t.Helper()
	dst := mediatest.NewEndpoint(t)
	out := plainTo(t, r, dst)
	c, err := out.Consume(ctxT(t), &media.ConsumerOptions{ProducerID: producerID, RtpCapabilities: mediatest.EndpointCaps()})
	if err != nil {
		t.Fatal(err)
	}
	return &viewer{consumer: c, dst: dst}
}

func (v *viewer) received() int { return len(v.dst.RTP(v.consumer.RtpParameters().Encodings[0].SSRC)) }

func plainTo(t *testing.T, r media.Router, e *mediatest.Endpoint) media.PlainTransport {
	t.Helper()
	tr, err := r.CreatePlainTransport(ctxT(t), &media.PlainTransportOptions{ListenInfo: &media.TransportListenInfo{IP: "127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Connect(ctxT(t), &media.PlainTransportConnectOptions{IP: "127.0.0.1", Port: e.Port()}); err != nil {
		t.Fatal(err)
	}
	return tr
}

// pipeTuples lists the tuples of every pipe transport on the server at
// url, read by a client of its own.
func pipeTuples(t *testing.T, url string) []media.TransportTuple {
	t.Helper()
	c, err := mediaclient.Dial(ctxT(t), url, &mediaclient.Options{Logger: quiet, ROPE: &ropeclient.Options{Logger: quiet, Dedicated: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out []media.TransportTuple
	for _, o := range c.ROPE().Objects() {
		if v, ok := c.Object(o.ID()); ok {
			if pt, ok := v.(media.PipeTransport); ok {
				out = append(out, pt.Tuple())
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no pipe transport on %s", url)
	}
	return out
}

// TestPipesShareTransportPairs: producers piped between two routers use
// one pair of pipe transports, as mediasoup's pipeToRouter does.
func TestPipesShareTransportPairs(t *testing.T) {
	_, ms, view := cluster(t, 2)
	api := newAPI(t, view)
	ctx := ctxT(t)
	ra, rb := routerOn(t, api, "sa"), routerOn(t, api, "sb")
	for range 3 {
		room := startRoom(t, ra)
		if _, err := ra.PipeToRouter(ctx, &media.PipeToRouterOptions{ProducerID: room.producer.ID(), Router: rb}); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range ms {
		if n := len(pipeTuples(t, m.url)); n != 1 {
			t.Errorf("server %s has %d pipe transports, want 1", m.id, n)
		}
	}
}

// TestServerLeavingClosesItsWorkers: a server that leaves cleanly
// (goodbye) closes its workers without "died", with the cascade's events.
func TestServerLeavingClosesItsWorkers(t *testing.T) {
	_, ms, view := cluster(t, 2)
	api := newAPI(t, view)
	rb := routerOn(t, api, "sb")
	wb := workerOf(t, api, "sb")
	died := make(chan error, 1)
	wb.OnDied(func(err error) { died <- err })
	closed := make(chan struct{})
	wb.OnClose(func() { close(closed) })
	routerClosed := make(chan struct{})
	rb.OnWorkerClose(func() { close(routerClosed) })
	ms[1].stop()
	select {
	case <-closed:
	case <-ctxT(t).Done():
		t.Fatal("the departed server's worker never closed")
	}
	<-routerClosed
	if wb.Died() || len(died) != 0 {
		t.Fatal("a worker of a server that left reports died")
	}
}

// TestDataPipeAcrossServers pipes a data producer from a router on
// 127.0.0.2 to one on 127.0.0.3 over the pair of pipe transports its RTP
// producer already uses (SCTP beside RTP, each listening on its server's
// address): messages reach a data consumer on the second server in order.
func TestDataPipeAcrossServers(t *testing.T) {
	_, ms, view := cluster(t, 2)
	api := newAPI(t, view)
	ctx := ctxT(t)
	ra, rb := routerOn(t, api, "sa"), routerOn(t, api, "sb")
	room := startRoom(t, ra)
	if _, err := ra.PipeToRouter(ctx, &media.PipeToRouterOptions{ProducerID: room.producer.ID(), Router: rb}); err != nil {
		t.Fatal(err)
	}
	src, err := ra.CreateDirectTransport(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	dp, err := src.ProduceData(ctx, &media.DataProducerOptions{Label: "chat"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := ra.PipeToRouter(ctx, &media.PipeToRouterOptions{DataProducerID: dp.ID(), Router: rb})
	if err != nil {
		t.Fatal(err)
	}
	if res.PipeDataProducer.ID() != dp.ID() {
		t.Fatalf("pipe data producer %s", res.PipeDataProducer.ID())
	}
	dst, err := rb.CreateDirectTransport(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := dst.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	dc.OnMessage(func(b []byte, _ int) {
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
	})
	want := []string{"hello", "from", "server", "a"}
	for _, m := range want {
		if err := dp.Send([]byte(m), &media.DataSendOptions{PPID: media.PPIDString}); err != nil {
			t.Fatal(err)
		}
	}
	wait.Until(t, "messages across servers", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Equal(got, want)
	})
	for _, m := range ms {
		tuples := pipeTuples(t, m.url)
		if len(tuples) != 1 || tuples[0].LocalAddress != m.ip {
			t.Errorf("server %s: pipe transports %+v, want one on %s", m.id, tuples, m.ip)
		}
	}
}
