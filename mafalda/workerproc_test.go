package mafalda_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediatest"
	"github.com/ropehq/rope/media/workerproc"
)

// newProcMafalda returns a Mafalda whose workers are child processes
// (media/workerproc), closed with the test, which then checks that no
// worker is left.
func newProcMafalda(t testing.TB, opts *mafalda.Options) *mafalda.Mafalda {
	m := mafalda.New(workerproc.New(nil), opts)
	t.Cleanup(func() {
		if err := m.Close(context.Background()); err != nil {
			t.Error(err)
		}
		if n := len(m.Workers()); n != 0 {
			t.Errorf("%d workers left", n)
		}
	})
	return m
}

// workerOf returns the worker whose router has that id.
func workerOf(t testing.TB, m *mafalda.Mafalda, routerID string) mafalda.WorkerDump {
	t.Helper()
	d := must[*mafalda.Dump](t)(m.Dump(ctxFor(t)))
	for _, w := range d.Workers {
		for _, r := range w.Routers {
			if r.ID == routerID {
				return w
			}
		}
	}
	t.Fatalf("router %s on no worker", routerID)
	return mafalda.WorkerDump{}
}

// sendAndCheck sends n packets from src into in and waits until every
// peer's endpoint has received them.
func sendAndCheck(t *testing.T, src *mediatest.Endpoint, in media.PlainTransport, snd *mediatest.VP8Sender, n int, peers []*peer) {
	t.Helper()
	have := make([]int, len(peers))
	for i, p := range peers {
		have[i] = len(p.e.RTP(p.c.RtpParameters().Encodings[0].SSRC))
	}
	// UDP across processes may drop some of a burst on a loaded machine:
	// send in rounds until each consumer has n more packets.
	arrived := func() bool {
		for i, p := range peers {
			if len(p.e.RTP(p.c.RtpParameters().Encodings[0].SSRC)) < have[i]+n {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(timeout)
	for sent := 0; !arrived(); {
		if time.Now().After(deadline) {
			for i, p := range peers {
				t.Logf("consumer %d: %d of %d packets", i, len(p.e.RTP(p.c.RtpParameters().Encodings[0].SSRC))-have[i], n)
			}
			t.Fatalf("timed out waiting for RTP at the consumers (%d packets sent)", sent)
		}
		for range 20 {
			src.Send(in.Tuple(), snd.Next(t, sent == 0, 600))
			sent++
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestKilledWorkerProcess: a room spans two worker processes, the second
// fed by a pipe; SIGKILL to the second: the room reports workerdied, what
// lived there closes with mediasoup's events, the first worker's
// consumers keep receiving, and the next transport goes to a live worker.
func TestKilledWorkerProcess(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	// The default LoadFunc: the children's own CPU.
	m := newProcMafalda(t, &mafalda.Options{CPUs: 2, MaxConsumersPerWorker: 3})
	mr := newRoom(t, m, 0)
	died := make(chan media.Worker, 2)
	mr.OnWorkerDied(func(w media.Worker, err error) {
		if err == nil {
			t.Error("workerdied without a cause")
		}
		died <- w
	})

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
	for i, p := range peers {
		if onHome := p.rid == home; onHome != (i < 3) {
			t.Fatalf("consumer %d on the producer's router: %v", i, onHome)
		}
	}
	workers := m.Workers()
	if len(workers) != 2 || workers[0].PID() == workers[1].PID() || workers[0].PID() == os.Getpid() || workers[1].PID() == os.Getpid() {
		t.Fatalf("%d workers, want 2 processes of their own", len(workers))
	}
	checkOnePipe(t, m, mr, prod.ID(), home, peers[3].rid)
	snd := &mediatest.VP8Sender{SSRC: 1111, PT: 101}
	sendAndCheck(t, src, in, snd, 10, peers)

	victim := workerOf(t, m, peers[3].rid)
	if victim.PID != workers[1].PID() {
		t.Fatalf("the consumers' worker %d is not the second one %d", victim.PID, workers[1].PID())
	}
	type ev struct{ who, what string }
	events := make(chan ev, 32)
	for i, p := range peers[3:] {
		who := fmt.Sprintf("peer %d", i+3)
		p.c.OnTransportClose(func() { events <- ev{who, "consumer transportclose"} })
		p.c.OnClose(func() { events <- ev{who, "consumer close"} })
		p.tr.OnRouterClose(func() { events <- ev{who, "transport routerclose"} })
		p.tr.OnClose(func() { events <- ev{who, "transport close"} })
	}
	if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case w := <-died:
		if w.PID() != victim.PID {
			t.Fatalf("workerdied for %d, killed %d", w.PID(), victim.PID)
		}
	case <-time.After(timeout):
		t.Fatal("no workerdied")
	}
	want := map[ev]bool{}
	for _, who := range []string{"peer 3", "peer 4"} {
		for _, what := range []string{"consumer transportclose", "consumer close", "transport routerclose", "transport close"} {
			want[ev{who, what}] = true
		}
	}
	for len(want) > 0 {
		select {
		case e := <-events:
			delete(want, e)
		case <-time.After(timeout):
			t.Fatalf("events missing: %v", want)
		}
	}
	for _, p := range peers[3:] {
		if !p.c.Closed() || !p.tr.Closed() {
			t.Fatal("the dead worker's consumer or transport is open")
		}
	}
	// The pipe into the dead worker goes, with its consumer on the first.
	wait.Until(t, "pipe closed", func() bool { return len(mr.DumpState().Pipes) == 0 })
	wait.Until(t, "pipe consumer closed", func() bool { return consumersOf(t, m, home, prod.ID()) == 3 })
	// So is the pipe's transport on the survivor: its router keeps the
	// producer's transport and the three consumers'.
	wait.Until(t, "pipe transport closed", func() bool {
		for _, r := range m.Routers() {
			if r.ID() == home {
				return len(must[*media.RouterDump](t)(r.Dump(ctx)).TransportIDs) == 4
			}
		}
		return false
	})
	if ws := m.Workers(); len(ws) != 1 || ws[0].PID() != workers[0].PID() {
		t.Fatalf("workers after the death: %d", len(ws))
	}
	if us := must[[]mafalda.WorkerUsage](t)(m.GetResourceUsages(ctx)); len(us) != 1 || us[0].PID != workers[0].PID() {
		t.Fatalf("usages after the death: %+v", us)
	}
	if d := mr.DumpState(); len(d.Transports) != 4 || len(d.RouterIDs) != 1 || d.RouterIDs[0] != home {
		t.Fatalf("room after the death: %d transports on routers %v", len(d.Transports), d.RouterIDs)
	}
	// The survivor forwards on.
	sendAndCheck(t, src, in, snd, 10, peers[:3])

	// The first worker is full: the next consumer goes to a fresh worker
	// process, fed by a new pipe.
	p := &peer{e: mediatest.NewEndpoint(t)}
	p.tr = plainTo(t, mr, p.e)
	p.c = must[media.Consumer](t)(p.tr.Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
	p.rid = routerOf(t, mr, p.tr.ID())
	fresh := workerOf(t, m, p.rid)
	if fresh.PID == victim.PID || fresh.PID == workers[0].PID() || syscall.Kill(fresh.PID, 0) != nil {
		t.Fatalf("new transport on worker %d (dead %d, survivor %d)", fresh.PID, victim.PID, workers[0].PID())
	}
	sendAndCheck(t, src, in, snd, 10, append(peers[:3:3], p))
	select {
	case w := <-died:
		t.Fatalf("second workerdied for %d", w.PID())
	default:
	}
}

// TestWorkerProcessUsage: Mafalda's resource usage, and so its default
// load figure, is each child process's own, read between two readings
// of the child's /proc/<pid>/stat; an idle worker's process ends.
func TestWorkerProcessUsage(t *testing.T) {
	t.Parallel()
	m := newProcMafalda(t, &mafalda.Options{CPUs: 2, LoadFunc: zeroLoad, MaxConsumersPerWorker: 1})
	mr := newRoom(t, m, 0)
	src := mediatest.NewEndpoint(t)
	in := plainTo(t, mr, src)
	prod := must[media.Producer](t)(in.Produce(ctxFor(t), &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(1111)}))
	// One consumer per worker: the second goes to a second process.
	peers := make([]*peer, 2)
	for i := range peers {
		p := &peer{e: mediatest.NewEndpoint(t)}
		p.tr = plainTo(t, mr, p.e)
		p.c = must[media.Consumer](t)(p.tr.Consume(ctxFor(t), &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
		peers[i] = p
	}
	snd := &mediatest.VP8Sender{SSRC: 1111, PT: 101}
	sendAndCheck(t, src, in, snd, 200, peers)
	// /proc counts CPU time in ticks of 10 ms, which a child that
	// forwarded a few hundred packets may not have used yet: forward
	// more until both show some, so that a usage of 0 cannot pass.
	wait.Until(t, "CPU time of both worker processes in /proc", func() bool {
		for _, w := range m.Workers() {
			if procCPU(t, w.PID()) == 0 {
				sendAndCheck(t, src, in, snd, 200, peers)
				return false
			}
		}
		return true
	})

	before := map[int]int64{}
	for _, w := range m.Workers() {
		before[w.PID()] = procCPU(t, w.PID())
	}
	usages := must[[]mafalda.WorkerUsage](t)(m.GetResourceUsages(ctxFor(t)))
	if len(usages) != 2 || len(before) != 2 {
		t.Fatalf("%d usages of %d worker processes, want 2", len(usages), len(before))
	}
	for _, u := range usages {
		b, ok := before[u.PID]
		if !ok || u.PID == os.Getpid() {
			t.Fatalf("usage of process %d, not a worker's", u.PID)
		}
		cpu, after := u.Usage.UTime+u.Usage.STime, procCPU(t, u.PID)
		if cpu < b || cpu > after || after == 0 {
			t.Fatalf("process %d: usage %d ms, its /proc says %d then %d ms", u.PID, cpu, b, after)
		}
	}

	// The second worker's last transport closes: its process ends.
	second := workerOf(t, m, routerOf(t, mr, peers[1].tr.ID())).PID
	if err := peers[1].tr.Close(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, "the idle worker process to end", func() bool {
		return len(m.Workers()) == 1 && syscall.Kill(second, 0) != nil
	})
}

// procCPU is a process's user + system time in ms from /proc/<pid>/stat.
func procCPU(t *testing.T, pid int) int64 {
	t.Helper()
	stat := must[[]byte](t)(os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"))
	f := bytes.Fields(stat[bytes.LastIndexByte(stat, ')')+1:])
	ut, _ := strconv.ParseInt(string(f[14-3]), 10, 64)
	st, _ := strconv.ParseInt(string(f[15-3]), 10, 64)
	return (ut + st) * 10
}

// TestWorkerProcessesPerCPU: at most Options.CPUs worker processes per set
// of worker settings, however many full workers a room has; they end
// with the rooms (CloseAllMafaldaRouters).
func TestWorkerProcessesPerCPU(t *testing.T) {
	t.Parallel()
	m := newProcMafalda(t, &mafalda.Options{CPUs: 2, LoadFunc: zeroLoad, MaxConsumersPerWorker: 1})
	rooms := []*mafalda.MafaldaRouter{newRoom(t, m, 0)}
	rooms = append(rooms, must[*mafalda.MafaldaRouter](t)(m.CreateMafaldaRouter(ctxFor(t), &mafalda.MafaldaRouterOptions{
		RouterOptions:  media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()},
		WorkerSettings: media.WorkerSettings{LogLevel: media.LogLevelDebug}})))
	for _, mr := range rooms {
		src := mediatest.NewEndpoint(t)
		in := plainTo(t, mr, src)
		prod := must[media.Producer](t)(in.Produce(ctxFor(t), &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(1111)}))
		for range 4 {
			tr := plainTo(t, mr, mediatest.NewEndpoint(t))
			must[media.Consumer](t)(tr.Consume(ctxFor(t), &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
		}
	}
	d := must[*mafalda.Dump](t)(m.Dump(ctxFor(t)))
	perSettings := map[media.WorkerLogLevel]int{}
	pids := map[int]bool{}
	for _, w := range d.Workers {
		perSettings[w.Settings.LogLevel]++
		pids[w.PID] = true
	}
	if len(d.Workers) != 4 || len(pids) != 4 || perSettings[""] != 2 || perSettings[media.LogLevelDebug] != 2 {
		t.Fatalf("%d workers in %d processes, per settings %v; want 2 processes per settings", len(d.Workers), len(pids), perSettings)
	}
	// Closing every room leaves every worker idle: all four processes end.
	if err := m.CloseAllMafaldaRouters(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, "the worker processes to end", func() bool {
		for pid := range pids {
			if syscall.Kill(pid, 0) == nil {
				return false
			}
		}
		return len(m.Workers()) == 0 && len(m.MafaldaRouters()) == 0
	})
}

// TestKilledProducerProcess: SIGKILL to the worker process holding the
// producer: its consumers on the other worker get "producerclose" through
// the pipe and their transports stay, the room reports workerdied, and a
// new producer placed in the room reaches a new consumer.
func TestKilledProducerProcess(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	m := newProcMafalda(t, &mafalda.Options{CPUs: 2, LoadFunc: zeroLoad, MaxConsumersPerWorker: 1})
	mr := newRoom(t, m, 0)
	died := make(chan media.Worker, 2)
	mr.OnWorkerDied(func(w media.Worker, _ error) { died <- w })
	src := mediatest.NewEndpoint(t)
	in := plainTo(t, mr, src)
	prod := must[media.Producer](t)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(1111)}))
	home := routerOf(t, mr, in.ID())
	peers := make([]*peer, 2)
	for i := range peers {
		p := &peer{e: mediatest.NewEndpoint(t)}
		p.tr = plainTo(t, mr, p.e)
		p.c = must[media.Consumer](t)(p.tr.Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
		p.rid = routerOf(t, mr, p.tr.ID())
		peers[i] = p
	}
	far := peers[1]
	if peers[0].rid != home || far.rid == home {
		t.Fatalf("consumers on %s and %s, producer on %s: want one on each worker", peers[0].rid, far.rid, home)
	}
	sendAndCheck(t, src, in, &mediatest.VP8Sender{SSRC: 1111, PT: 101}, 10, peers)
	producerClosed := make(chan struct{})
	far.c.OnProducerClose(func() { close(producerClosed) })
	victim := workerOf(t, m, home)
	if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case w := <-died:
		if w.PID() != victim.PID {
			t.Fatalf("workerdied for %d, killed %d", w.PID(), victim.PID)
		}
	case <-time.After(timeout):
		t.Fatal("no workerdied")
	}
	select {
	case <-producerClosed:
	case <-time.After(timeout):
		t.Fatal("no producerclose on the other worker")
	}
	wait.Until(t, "pipe gone", func() bool { return len(mr.DumpState().Pipes) == 0 })
	if far.tr.Closed() || !in.Closed() || !peers[0].tr.Closed() {
		t.Fatal("transports: the far one must stay, the dead worker's close")
	}
	d := mr.DumpState()
	if len(d.Producers) != 0 || len(d.Transports) != 1 || len(d.RouterIDs) != 1 || d.RouterIDs[0] != far.rid {
		t.Fatalf("room after the death: %+v", d)
	}
	// A new producer on the live worker reaches the far peer.
	src2 := mediatest.NewEndpoint(t)
	in2 := plainTo(t, mr, src2)
	prod2 := must[media.Producer](t)(in2.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(2222)}))
	far.c = must[media.Consumer](t)(far.tr.Consume(ctx, &media.ConsumerOptions{ProducerID: prod2.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
	sendAndCheck(t, src2, in2, &mediatest.VP8Sender{SSRC: 2222, PT: 101}, 10, []*peer{far})
}

// TestAPIWorkerProcesses runs the shared media API suite against Mafalda
// over worker processes.
func TestAPIWorkerProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts many worker processes")
	}
	mediatest.Run(t, func(t *testing.T) media.API {
		return newProcMafalda(t, &mafalda.Options{CPUs: 2}).API()
	}, append(mafaldaSkips(), mediatest.As("mafalda-workerproc"))...)
}

// TestConsumeDataAcrossWorkerProcesses: a room on two worker processes
// carries a data producer's messages from one to a data consumer on the
// other (crosspipe's pipe transports with SCTP).
func TestConsumeDataAcrossWorkerProcesses(t *testing.T) {
	t.Parallel()
	testConsumeDataAcrossWorkers(t, newProcMafalda(t, &mafalda.Options{CPUs: 2, LoadFunc: zeroLoad, MaxConsumersPerWorker: 1}))
}
