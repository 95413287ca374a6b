package mafaldaclient_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/mafalda/mafaldaclient"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/rope"
)

// TestSameCodeLocalAndRemote runs one room through the mafalda.Service
// interface, on a Mafalda in process and on the same kind of Mafalda over
// ROPE: RTP flows through the transports each created.
func TestSameCodeLocalAndRemote(t *testing.T) {
	for name, svc := range map[string]func(t *testing.T) mafalda.Service{
		"local":  func(t *testing.T) mafalda.Service { return startServer(t, nil).m },
		"remote": func(t *testing.T) mafalda.Service { return startServer(t, nil).dial(t) },
	} {
		t.Run(name, func(t *testing.T) {
			s := svc(t)
			room := must[mafalda.Router](t)(s.CreateRouter(ctxT(t), roomOptions()))
			if got, ok := s.GetMafaldaRouter(room.ID()); !ok || got.ID() != room.ID() {
				t.Fatalf("GetMafaldaRouter(%s) = %v, %v", room.ID(), got, ok)
			}
			if room.Options().WatermarkWorker != mafalda.DefaultWatermarkWorker || len(room.RtpCapabilities().Codecs) == 0 {
				t.Fatalf("options %+v, caps %+v", room.Options(), room.RtpCapabilities())
			}
			snd := produce(t, room, 1234)
			rcv := consume(t, room, snd.producer.ID())
			snd.send(t, 10)
			rcv.wait(t, 10)
			if n := len(room.Transports()); n != 2 {
				t.Fatalf("%d transports", n)
			}
			d := must[*mafalda.Dump](t)(s.Dump(ctxT(t)))
			if len(d.MafaldaRouters) != 1 || len(d.MafaldaRouters[0].Transports) != 2 || len(d.Workers) != 1 {
				t.Fatalf("dump %+v", d)
			}
			if err := room.Close(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			wait.Until(t, "transports closed", func() bool { return snd.in.Closed() && rcv.out.Closed() && room.Closed() })
		})
	}
}

// TestTwoClientsShareMafaldaRouter: B finds the MafaldaRouter A created,
// sees its "newrouter", consumes A's producer on a transport of its own
// and gets the RTP A sends; A's close reaches B.
func TestTwoClientsShareMafaldaRouter(t *testing.T) {
	srv := startServer(t, nil)
	a, b := srv.dial(t), srv.dial(t)
	room := must[*mafaldaclient.MafaldaRouter](t)(a.CreateMafaldaRouter(ctxT(t), roomOptions()))
	var bRoom mafalda.Router
	wait.Until(t, "the MafaldaRouter in B's mirror", func() bool {
		var ok bool
		bRoom, ok = b.GetMafaldaRouter(room.ID())
		return ok
	})
	newRouters := make(chan mafalda.RouterInfo, 4)
	bRoom.OnNewRouterInfo(func(ri mafalda.RouterInfo) { newRouters <- ri })
	bClosed := make(chan struct{})
	bRoom.OnClose(func() { close(bClosed) })

	snd := produce(t, room, 5555)
	var ri mafalda.RouterInfo
	select {
	case ri = <-newRouters:
	case <-time.After(5 * time.Second):
		t.Fatal("B saw no newrouter")
	}
	d := must[*mafalda.Dump](t)(b.Dump(ctxT(t)))
	if len(d.Workers) != 1 || len(d.Workers[0].Routers) != 1 || d.Workers[0].Routers[0].ID != ri.RouterID ||
		d.Workers[0].ID != ri.Worker.WorkerID || d.Workers[0].PID != ri.Worker.PID {
		t.Fatalf("newrouter %+v, dump %+v", ri, d)
	}
	rcv := consume(t, bRoom, snd.producer.ID())
	snd.send(t, 10)
	rcv.wait(t, 10)
	if n := len(room.Transports()); n != 2 {
		t.Fatalf("A sees %d transports", n)
	}
	if err := room.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-bClosed:
	case <-time.After(5 * time.Second):
		t.Fatal("B saw no close")
	}
	wait.Until(t, "B's consumer closed", func() bool { return rcv.consumer.Closed() && bRoom.Closed() })
}

// TestRTPAcrossWorkers: with one consumer per worker, the second
// receiver's transport lands on a second worker and the producer is piped
// there; both receivers get the RTP.
func TestRTPAcrossWorkers(t *testing.T) {
	srv := startServer(t, &mafalda.Options{CPUs: 2, MaxConsumersPerWorker: 1})
	c := srv.dial(t)
	room := must[*mafaldaclient.MafaldaRouter](t)(c.CreateMafaldaRouter(ctxT(t), roomOptions()))
	snd := produce(t, room, 7777)
	r1 := consume(t, room, snd.producer.ID())
	r2 := consume(t, room, snd.producer.ID())
	snd.send(t, 10)
	r1.wait(t, 10)
	r2.wait(t, 10)
	d := must[*mafalda.Dump](t)(c.Dump(ctxT(t)))
	if len(d.Workers) != 2 || len(d.MafaldaRouters[0].Pipes) != 1 {
		t.Fatalf("dump %+v", d)
	}
	usages := must[[]mafalda.WorkerUsage](t)(c.GetResourceUsages(ctxT(t)))
	if len(usages) != 2 || usages[0].WorkerID != d.Workers[0].ID || usages[0].Usage == nil {
		t.Fatalf("usages %+v", usages)
	}
}

// TestNoWorkerSurvivesTheWire: a MafaldaRouter that may create no worker
// fails to place a transport with an error that matches
// mafalda.ErrNoWorker, media.ErrInvalidState and the *rope.Error.
func TestNoWorkerSurvivesTheWire(t *testing.T) {
	c := startServer(t, nil).dial(t)
	opts := roomOptions()
	opts.MaxWorkers = mafalda.Int(0)
	room := must[*mafaldaclient.MafaldaRouter](t)(c.CreateMafaldaRouter(ctxT(t), opts))
	_, err := room.CreatePlainTransport(ctxT(t), nil)
	var re *rope.Error
	if !errors.Is(err, mafalda.ErrNoWorker) || !errors.Is(err, media.ErrInvalidState) || !errors.As(err, &re) ||
		re.Code != rope.CodeApplicationError || re.Data.Name != media.NameInvalidStateError {
		t.Fatalf("err %v (%T)", err, err)
	}
	_, err = c.CreateMafaldaRouter(ctxT(t), &mafalda.MafaldaRouterOptions{ID: room.ID()})
	if !errors.Is(err, media.ErrDuplicateID) || errors.Is(err, mafalda.ErrNoWorker) {
		t.Fatalf("duplicate id: %v", err)
	}
	_, err = c.CreateMafaldaRouter(ctxT(t), &mafalda.MafaldaRouterOptions{RouterOptions: media.RouterOptions{
		MediaCodecs: []media.RtpCodecCapability{{Kind: media.KindVideo, MimeType: "video/nope", ClockRate: 90000}}}})
	if !errors.Is(err, media.ErrInvalidParams) && !errors.Is(err, media.ErrUnsupported) {
		t.Fatalf("bad codecs: %v", err)
	}
}

// TestCloseAllMafaldaRouters closes every MafaldaRouter from a client; the
// mirrors close.
func TestCloseAllMafaldaRouters(t *testing.T) {
	srv := startServer(t, nil)
	c := srv.dial(t)
	r1 := must[*mafaldaclient.MafaldaRouter](t)(c.CreateMafaldaRouter(ctxT(t), roomOptions()))
	r2 := must[*mafaldaclient.MafaldaRouter](t)(c.CreateMafaldaRouter(ctxT(t), roomOptions()))
	if n := len(c.MafaldaRouters()); n != 2 {
		t.Fatalf("%d MafaldaRouters", n)
	}
	if err := c.CloseAllMafaldaRouters(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, "closed mirrors", func() bool { return r1.Closed() && r2.Closed() && len(c.MafaldaRouters()) == 0 })
	if n := len(srv.m.MafaldaRouters()); n != 0 {
		t.Fatalf("server has %d MafaldaRouters", n)
	}
	_, err := r1.CreateDirectTransport(ctxT(t), nil)
	if !errors.Is(err, media.ErrClosed) {
		t.Fatalf("on a closed MafaldaRouter: %v", err)
	}
}

// TestPipeBetweenRemoteMafaldaRouters: a producer of room A piped to room
// B by ids over the wire (pipeToRouter with a MafaldaRouter as routerId)
// is consumed in B; the pipe consumer and producer of the result are
// objects of the client's mirror, and RTP reaches B's consumer.
func TestPipeBetweenRemoteMafaldaRouters(t *testing.T) {
	c := startServer(t, nil).dial(t)
	a := must[*mafaldaclient.MafaldaRouter](t)(c.CreateMafaldaRouter(ctxT(t), roomOptions()))
	b := must[*mafaldaclient.MafaldaRouter](t)(c.CreateMafaldaRouter(ctxT(t), roomOptions()))
	snd := produce(t, a, 3333)
	res := must[*media.PipeToRouterResult](t)(a.PipeToRouter(ctxT(t), &media.PipeToRouterOptions{ProducerID: snd.producer.ID(), Router: b}))
	if res.PipeConsumer == nil || res.PipeProducer == nil || res.PipeProducer.ID() != snd.producer.ID() || res.PipeProducer == snd.producer {
		t.Fatalf("result %+v", res)
	}
	rcv := consume(t, b, snd.producer.ID())
	snd.send(t, 10)
	rcv.wait(t, 10)
	_, err := a.PipeToRouter(ctxT(t), &media.PipeToRouterOptions{ProducerID: snd.producer.ID(), Router: a})
	if !errors.Is(err, media.ErrInvalidParams) {
		t.Fatalf("pipe to itself: %v", err)
	}
}

// TestClientsShareWorkers: two clients, as two processes of a host would,
// each create a room with the same settings on one Mafalda server with one
// CPU: the rooms share one worker and one router (mafalda §3.1.5, §3.1.6)
// and media flows in both; one client's room closing leaves the other's
// room its worker.
func TestClientsShareWorkers(t *testing.T) {
	srv := startServer(t, &mafalda.Options{CPUs: 1})
	clients := []*mafaldaclient.Client{srv.dial(t), srv.dial(t)}
	rooms := make([]mafalda.Router, len(clients))
	for i, c := range clients {
		rooms[i] = must[mafalda.Router](t)(c.CreateRouter(ctxT(t), roomOptions()))
		snd := produce(t, rooms[i], uint32(7000+i))
		rcv := consume(t, rooms[i], snd.producer.ID())
		snd.send(t, 10)
		rcv.wait(t, 10)
	}
	d := must[*mafalda.Dump](t)(clients[1].Dump(ctxT(t)))
	if len(d.Workers) != 1 || len(d.Workers[0].Routers) != 1 || len(d.Workers[0].Routers[0].MafaldaRouterIDs) != 2 {
		t.Fatalf("dump %+v: want one worker with one router both rooms use", d.Workers)
	}
	if err := rooms[0].Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	snd := produce(t, rooms[1], 7100)
	rcv := consume(t, rooms[1], snd.producer.ID())
	snd.send(t, 10)
	rcv.wait(t, 10)
	if after := must[*mafalda.Dump](t)(srv.m.Dump(ctxT(t))); len(after.Workers) != 1 || after.Workers[0].ID != d.Workers[0].ID {
		t.Fatalf("workers %+v after the first room closed, want the shared one", after.Workers)
	}
}
