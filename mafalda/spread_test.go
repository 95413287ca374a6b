package mafalda_test

import (
	"fmt"
	"testing"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediatest"
)

// peer is a consuming endpoint of the room.
type peer struct {
	e   *mediatest.Endpoint
	tr  media.PlainTransport
	c   media.Consumer
	rid string
}

// TestRoomSpansTwoWorkers: with 3 consumers per worker, a room's fourth
// and fifth consumers land on a second worker, fed by one pipe; closing
// them closes the pipe, closing their transports the idle worker.
func TestRoomSpansTwoWorkers(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	m := newMafalda(t, &mafalda.Options{CPUs: 2, LoadFunc: zeroLoad, MaxConsumersPerWorker: 3})
	mr := newRoom(t, m, 0)
	newRouters := make(chan media.Worker, 4)
	mr.OnNewRouter(func(_ media.Router, w media.Worker) { newRouters <- w })

	src := mediatest.NewEndpoint(t)
	in := plainTo(t, mr, src)
	prod := must[media.Producer](t)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(1111)}))
	home := routerOf(t, mr, in.ID())
	peers := make([]*peer, 5)
	for i := range peers {
		p := &peer{e: mediatest.NewEndpoint(t)}
		p.tr = plainTo(t, mr, p.e)
		p.c = must[media.Consumer](t)(p.tr.Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
		p.rid = routerOf(t, mr, p.tr.ID())
		peers[i] = p
	}
	if len(m.Workers()) != 2 || len(newRouters) != 2 {
		t.Fatalf("%d workers, %d newrouter events, want 2", len(m.Workers()), len(newRouters))
	}
	for i, p := range peers {
		if onHome := p.rid == home; onHome != (i < 3) {
			t.Fatalf("consumer %d on the producer's router: %v", i, onHome)
		}
	}
	checkOnePipe(t, m, mr, prod.ID(), home, peers[3].rid)

	snd := &mediatest.VP8Sender{SSRC: 1111, PT: 101}
	for i := 0; i < 10; i++ {
		src.Send(in.Tuple(), snd.Next(t, i == 0, 600))
	}
	for i, p := range peers {
		ssrc := p.c.RtpParameters().Encodings[0].SSRC
		wait.Until(t, fmt.Sprintf("RTP at consumer %d", i), func() bool { return len(p.e.RTP(ssrc)) == 10 })
	}

	for _, p := range peers[3:] {
		if err := p.c.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	wait.Until(t, "pipe closed", func() bool { return len(mr.DumpState().Pipes) == 0 })
	if n := consumersOf(t, m, home, prod.ID()); n != 3 {
		t.Fatalf("%d consumers left on the producer's router, want 3 (pipe consumer gone)", n)
	}
	if len(m.Workers()) != 2 {
		t.Fatal("worker closed while its transports are open")
	}
	for _, p := range peers[3:] {
		if err := p.tr.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	wait.Until(t, "idle worker closed", func() bool { return len(m.Workers()) == 1 && len(m.Routers()) == 1 })
}

// checkOnePipe asserts one pipe of the producer into dst, seen from
// Mafalda and from the engine: 3 consumers and the pipe consumer on the
// producer's router, 2 consumers on dst.
func checkOnePipe(t *testing.T, m *mafalda.Mafalda, mr *mafalda.MafaldaRouter, producerID, home, dst string) {
	t.Helper()
	d := mr.DumpState()
	if len(d.Pipes) != 1 || d.PipesOpened != 1 {
		t.Fatalf("pipes %+v, opened %d, want 1", d.Pipes, d.PipesOpened)
	}
	if p := d.Pipes[0]; p.ProducerID != producerID || p.FromRouterID != home || p.ToRouterID != dst || p.Consumers != 2 {
		t.Fatalf("pipe %+v", p)
	}
	if n := consumersOf(t, m, home, producerID); n != 4 {
		t.Fatalf("%d consumers on the producer's router, want 3 + 1 pipe consumer", n)
	}
	if n := consumersOf(t, m, dst, producerID); n != 2 {
		t.Fatalf("%d consumers on the second router, want 2", n)
	}
}
