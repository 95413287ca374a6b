package mafalda_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/mediatest"
	"github.com/ropehq/rope/media/workerproc"
)

// countingAPI is a media.API passing every call to the API it wraps (the
// real engine or worker processes), counting the workers open on it.
type countingAPI struct {
	media.API

	// mu guards open.
	mu   sync.Mutex
	open int
}

func (a *countingAPI) CreateWorker(ctx context.Context, s *media.WorkerSettings) (media.Worker, error) {
	w, err := a.API.CreateWorker(ctx, s)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.open++
	a.mu.Unlock()
	var once sync.Once
	gone := func() {
		once.Do(func() {
			a.mu.Lock()
			a.open--
			a.mu.Unlock()
		})
	}
	w.OnClose(gone)
	w.OnDied(func(error) { gone() })
	return w, nil
}

func (a *countingAPI) workers() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.open
}

// newShared returns n Mafaldas over api, closed with the test, which then
// checks that api has no worker left.
func newShared(t testing.TB, api *countingAPI, opts ...*mafalda.Options) []*mafalda.Mafalda {
	ms := make([]*mafalda.Mafalda, len(opts))
	for i, o := range opts {
		ms[i] = mafalda.New(api, o)
	}
	t.Cleanup(func() {
		for _, m := range ms {
			if err := m.Close(context.Background()); err != nil {
				t.Error(err)
			}
		}
		if n := api.workers(); n != 0 {
			t.Errorf("%d workers left on the API", n)
		}
	})
	return ms
}

// room is a MafaldaRouter with a producer fed by src and one consumer.
type room struct {
	mr   *mafalda.MafaldaRouter
	src  *mediatest.Endpoint
	in   media.PlainTransport
	snd  *mediatest.VP8Sender
	peer *peer
}

func newMediaRoom(t *testing.T, m *mafalda.Mafalda, ssrc uint32) *room {
	ctx := ctxFor(t)
	r := &room{mr: newRoom(t, m, 0), src: mediatest.NewEndpoint(t), snd: &mediatest.VP8Sender{SSRC: ssrc, PT: 101}}
	r.in = plainTo(t, r.mr, r.src)
	prod := must[media.Producer](t)(r.in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(ssrc)}))
	r.peer = &peer{e: mediatest.NewEndpoint(t)}
	r.peer.tr = plainTo(t, r.mr, r.peer.e)
	r.peer.c = must[media.Consumer](t)(r.peer.tr.Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
	return r
}

func (r *room) check(t *testing.T) {
	t.Helper()
	sendAndCheck(t, r.src, r.in, r.snd, 10, []*peer{r.peer})
}

// TestSharedPool: two Mafaldas over one engine API, one CPU: their rooms
// with the same settings and codecs share one worker and one router, and
// media flows in both; closing A keeps B's room and the worker, closing
// B then leaves no worker.
func TestSharedPool(t *testing.T) {
	t.Parallel()
	api := &countingAPI{API: engine.New(nil)}
	ms := newShared(t, api, &mafalda.Options{CPUs: 1}, &mafalda.Options{CPUs: 1})
	a, b := ms[0], ms[1]
	ra, rb := newMediaRoom(t, a, 1111), newMediaRoom(t, b, 2222)
	if api.workers() != 1 || len(a.Workers()) != 1 || len(b.Workers()) != 1 || a.Workers()[0] != b.Workers()[0] {
		t.Fatalf("engine workers %d, A's %d, B's %d: want one, shared", api.workers(), len(a.Workers()), len(b.Workers()))
	}
	if len(ra.mr.Routers()) != 1 || len(rb.mr.Routers()) != 1 || ra.mr.Routers()[0] != rb.mr.Routers()[0] || len(a.Routers()) != 1 {
		t.Fatalf("rooms on routers %v and %v: want one shared router", ra.mr.Routers(), rb.mr.Routers())
	}
	if len(a.MafaldaRouters()) != 1 || len(b.MafaldaRouters()) != 1 {
		t.Fatal("a Mafalda lists another's rooms")
	}
	d := must[*mafalda.Dump](t)(b.Dump(ctxFor(t)))
	if len(d.Workers) != 1 || len(d.Workers[0].Routers) != 1 || len(d.Workers[0].Routers[0].MafaldaRouterIDs) != 2 || len(d.MafaldaRouters) != 1 {
		t.Fatalf("B's dump %+v", d)
	}
	ra.check(t)
	rb.check(t)

	if err := a.Close(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	if !ra.mr.Closed() || !ra.in.Closed() || rb.mr.Closed() || rb.in.Closed() {
		t.Fatal("closing A must close its room only")
	}
	if api.workers() != 1 || len(b.Workers()) != 1 || len(b.Routers()) != 1 {
		t.Fatalf("after closing A: engine workers %d, B's %d, routers %d", api.workers(), len(b.Workers()), len(b.Routers()))
	}
	rb.check(t)

	if err := b.Close(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	if n := api.workers(); n != 0 || len(b.Workers()) != 0 {
		t.Fatalf("after closing both: engine workers %d", n)
	}
}

// TestSharedPoolIdle: a worker idle for one Mafalda but used by another's
// room stays; it closes once the last room using it does, though both
// Mafaldas stay open. A room with other codecs gets a router of its own
// on the same worker.
func TestSharedPoolIdle(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	api := &countingAPI{API: engine.New(nil)}
	ms := newShared(t, api, &mafalda.Options{CPUs: 1, LoadFunc: zeroLoad}, &mafalda.Options{CPUs: 1, LoadFunc: zeroLoad})
	a, b := ms[0], ms[1]
	ra := newRoom(t, a, 0)
	opus := must[*mafalda.MafaldaRouter](t)(b.CreateMafaldaRouter(ctx, &mafalda.MafaldaRouterOptions{
		RouterOptions: media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()[:1]}}))
	ta := must[media.DirectTransport](t)(ra.CreateDirectTransport(ctx, nil))
	tb := must[media.DirectTransport](t)(opus.CreateDirectTransport(ctx, nil))
	if api.workers() != 1 || len(a.Routers()) != 2 || ra.Routers()[0] == opus.Routers()[0] {
		t.Fatalf("engine workers %d, routers %d: want 1 worker with 2 routers", api.workers(), len(a.Routers()))
	}
	if err := ta.Close(ctx); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, "A's idle router closed", func() bool { return len(b.Routers()) == 1 })
	if api.workers() != 1 || tb.Closed() {
		t.Fatal("the worker B's room uses closed")
	}
	if err := tb.Close(ctx); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, "the idle worker closed", func() bool { return api.workers() == 0 && len(a.Workers()) == 0 })
	// A new room of A's goes to a new worker, which B's rooms then share.
	must[media.DirectTransport](t)(ra.CreateDirectTransport(ctx, nil))
	must[media.DirectTransport](t)(newRoom(t, b, 0).CreateDirectTransport(ctx, nil))
	if api.workers() != 1 || len(b.Routers()) != 1 {
		t.Fatalf("engine workers %d, routers %d: want 1 and 1", api.workers(), len(b.Routers()))
	}
}

// TestSharedPoolCPUs: each Mafalda's CPUs caps the pool's workers per set
// of settings for its own placements. A creates the first worker; B
// (CPUs 1) finds every worker full but may create none; C (CPUs 2) may
// create a second one.
func TestSharedPoolCPUs(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	full := func(context.Context, media.Worker) (float64, error) { return 100, nil }
	api := &countingAPI{API: engine.New(nil)}
	ms := newShared(t, api, &mafalda.Options{CPUs: 1, LoadFunc: zeroLoad},
		&mafalda.Options{CPUs: 1, LoadFunc: full}, &mafalda.Options{CPUs: 2, LoadFunc: full})
	rooms := make([]*mafalda.MafaldaRouter, len(ms))
	for i, m := range ms {
		rooms[i] = newRoom(t, m, 0)
		must[media.DirectTransport](t)(rooms[i].CreateDirectTransport(ctx, nil))
	}
	if api.workers() != 2 || len(ms[0].Workers()) != 2 {
		t.Fatalf("engine workers %d, want 2", api.workers())
	}
	if rooms[0].Routers()[0] != rooms[1].Routers()[0] || rooms[2].Routers()[0] == rooms[0].Routers()[0] {
		t.Fatal("B's room must share A's router, C's be on a second worker")
	}
}

// TestSharedPoolStacked: two Mafaldas over one Mafalda's API share its
// views' MafaldaRouters' workers: one inner worker for both.
func TestSharedPoolStacked(t *testing.T) {
	t.Parallel()
	api := &countingAPI{API: engine.New(nil)}
	inner := newShared(t, api, &mafalda.Options{CPUs: 1})[0]
	if inner.API() != inner.API() {
		t.Fatal("Mafalda.API returns a new value on every call")
	}
	outer := []*mafalda.Mafalda{mafalda.New(inner.API(), &mafalda.Options{CPUs: 1}), mafalda.New(inner.API(), &mafalda.Options{CPUs: 1})}
	t.Cleanup(func() {
		for _, m := range outer {
			if err := m.Close(context.Background()); err != nil {
				t.Error(err)
			}
		}
	})
	for _, m := range outer {
		must[media.DirectTransport](t)(newRoom(t, m, 0).CreateDirectTransport(ctxFor(t), nil))
	}
	if len(outer[0].Workers()) != 1 || len(outer[1].Workers()) != 1 || len(inner.MafaldaRouters()) != 1 || api.workers() != 1 {
		t.Fatalf("outer workers %d and %d, inner rooms %d, engine workers %d: want one of each",
			len(outer[0].Workers()), len(outer[1].Workers()), len(inner.MafaldaRouters()), api.workers())
	}
}

// childPIDs returns the test process's child processes.
func childPIDs(t *testing.T) map[int]bool {
	t.Helper()
	tasks, err := filepath.Glob("/proc/self/task/*/children")
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]bool{}
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread ended
		}
		for _, s := range strings.Fields(string(b)) {
			pid, err := strconv.Atoi(s)
			if err != nil {
				t.Fatal(err)
			}
			out[pid] = true
		}
	}
	return out
}

// newChildren returns how many children the process has that it had
// not in before.
func newChildren(t *testing.T, before map[int]bool) int {
	n := 0
	for pid := range childPIDs(t) {
		if !before[pid] {
			n++
		}
	}
	return n
}

// TestSharedPoolWorkerProcess: two Mafaldas over one media/workerproc API
// run their rooms in one child process; its death reaches the rooms of
// both, which go on in one new process; closing A keeps it for B's room,
// closing B ends it. Not parallel: it counts the test's child processes.
func TestSharedPoolWorkerProcess(t *testing.T) {
	before := childPIDs(t)
	api := &countingAPI{API: workerproc.New(nil)}
	ms := newShared(t, api, &mafalda.Options{CPUs: 1, LoadFunc: zeroLoad}, &mafalda.Options{CPUs: 1, LoadFunc: zeroLoad})
	a, b := ms[0], ms[1]
	died := make(chan int, 4)
	rooms := []*room{newMediaRoom(t, a, 1111), newMediaRoom(t, b, 2222)}
	for _, r := range rooms {
		r.mr.OnWorkerDied(func(w media.Worker, _ error) { died <- w.PID() })
		r.check(t)
	}
	ws := a.Workers()
	if n := newChildren(t, before); n != 1 || len(ws) != 1 || !childPIDs(t)[ws[0].PID()] || api.workers() != 1 {
		t.Fatalf("%d child processes, %d workers: want one", n, len(ws))
	}
	victim := ws[0].PID()
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for range rooms {
		select {
		case pid := <-died:
			if pid != victim {
				t.Fatalf("workerdied for %d, killed %d", pid, victim)
			}
		case <-time.After(timeout):
			t.Fatal("a room got no workerdied")
		}
	}
	wait.Until(t, "the dead worker forgotten", func() bool {
		return len(a.Workers()) == 0 && len(b.Workers()) == 0 && newChildren(t, before) == 0
	})

	rooms = []*room{newMediaRoom(t, a, 3333), newMediaRoom(t, b, 4444)}
	for _, r := range rooms {
		r.check(t)
	}
	ws = b.Workers()
	if n := newChildren(t, before); n != 1 || len(ws) != 1 || ws[0].PID() == victim {
		t.Fatalf("%d child processes, %d workers: want one new", n, len(ws))
	}
	if err := a.Close(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	rooms[1].check(t)
	if n := newChildren(t, before); n != 1 {
		t.Fatalf("%d child processes after closing A, want B's one", n)
	}
	if err := b.Close(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, "the worker process to end", func() bool { return newChildren(t, before) == 0 && api.workers() == 0 })
}

// TestSharedPoolConcurrent: rooms of two Mafaldas over one API create,
// consume and close from many goroutines at once, then A closes while
// B's go on: the pool never holds more than CPUs workers, and the last
// close leaves none on the API.
func TestSharedPoolConcurrent(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	api := &countingAPI{API: engine.New(nil)}
	opts := &mafalda.Options{CPUs: 2, LoadFunc: zeroLoad, MaxConsumersPerWorker: 4}
	ms := newShared(t, api, opts, opts)
	tooMany := func() {
		if n := api.workers(); n > 2 {
			t.Errorf("%d workers on the API, want at most 2", n)
		}
	}
	var wgA, wgB sync.WaitGroup
	stopB := make(chan struct{})
	for i, m := range ms {
		mr := newRoom(t, m, 0)
		in := must[media.DirectTransport](t)(mr.CreateDirectTransport(ctx, nil))
		prod := must[media.Producer](t)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(5)}))
		wg := &wgA
		if i == 1 {
			wg = &wgB
		}
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					if err := consumeAndClose(t, mr, prod.ID()); err != nil {
						t.Errorf("Mafalda %d: %v", i, err)
					}
					tooMany()
					select {
					case <-stopB:
						return
					default:
					}
					if i == 0 {
						return
					}
				}
			}()
		}
	}
	wgA.Wait()
	// A's rooms close (releasing routers and workers B's rooms share)
	// while B's goroutines place, consume and close.
	if err := ms[0].Close(ctx); err != nil {
		t.Error(err)
	}
	close(stopB)
	wgB.Wait()
	tooMany()
	if err := ms[1].Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := api.workers(); n != 0 {
		t.Fatalf("%d workers left", n)
	}
}
