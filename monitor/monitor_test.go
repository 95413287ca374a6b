package monitor_test

import (
	"encoding/json"
	"errors"
	"os"
	"runtime"
	"sync"
	"testing"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media/workerproc"
	"github.com/ropehq/rope/monitor"
	"github.com/ropehq/rope/rope"
)

// figuresOf reads the latest figures.
func figuresOf(t testing.TB, s *server) *monitor.Figures {
	t.Helper()
	return s.mon.Figures(ctxFor(t))
}

// TestFiguresFollowTheRoom: a producer joins a room with three viewers;
// the figures count the objects, show the producer's and consumers'
// bitrates and scores and the worker's memory, and the counters of
// forwarded packets grow; once the producer leaves, its objects drop out.
func TestFiguresFollowTheRoom(t *testing.T) {
	s := newServer(t, nil)
	r := newRoom(t, s)
	alice := r.produce("alice", 1111)
	var viewers []string
	for _, name := range []string{"bob", "carol", "dave"} {
		viewers = append(viewers, r.consume(name, alice, 1).ID())
	}
	var f *monitor.Figures
	wait.Until(t, "the producer's bitrate and forwarded packets", func() bool {
		f = figuresOf(t, s)
		p := f.Objects[alice.producer.ID()]
		return p.Recv > 0 && f.Totals.ForwardedPackets > 0 && f.Totals.Consumers == 3
	})
	if f.Totals.Workers != 1 || f.Totals.Routers != 1 || f.Totals.Transports != 4 || f.Totals.Producers != 1 {
		t.Fatalf("totals %+v", f.Totals)
	}
	wait.Until(t, "every viewer's transport sending", func() bool {
		f = figuresOf(t, s)
		for _, id := range viewers {
			if f.Objects[id].Send == 0 {
				return false
			}
		}
		return f.Totals.SendBitrate > 0 && f.Totals.RecvBitrate > 0
	})
	for id, o := range f.Objects {
		if o.Score != nil && (*o.Score < 0 || *o.Score > 10) {
			t.Fatalf("object %s score %d", id, *o.Score)
		}
	}
	var worker *monitor.ObjectFigures
	for _, o := range f.Objects {
		if o.Mem > 0 {
			worker = &o
		}
	}
	if worker == nil {
		t.Fatalf("no worker figures in %+v", f.Objects)
	}
	before := f.Totals.ForwardedPackets
	wait.Until(t, "forwarded packets to grow, and key frames each way", func() bool {
		f = figuresOf(t, s)
		return f.Totals.ForwardedPackets > before && f.Totals.KeyFramesReceived > 0 && f.Totals.KeyFramesSent > 0
	})

	alice.leave()
	wait.Until(t, "the producer and its consumers to leave the figures", func() bool {
		f = figuresOf(t, s)
		_, ok := f.Objects[alice.producer.ID()]
		return !ok && f.Totals.Producers == 0 && f.Totals.Consumers == 0
	})
	after := f.Totals.ForwardedPackets
	if after < before {
		t.Fatalf("forwarded packets went back from %d to %d", before, after)
	}
}

// TestMaxObjectsBoundsTheFigures: with room for three entries, the worker
// and the transports come first, the totals still count everything, and
// Omitted says how many were left out.
func TestMaxObjectsBoundsTheFigures(t *testing.T) {
	s := newServer(t, &monitor.Options{MaxObjects: 3})
	r := newRoom(t, s)
	p := r.produce("alice", 2222)
	r.consume("bob", p, 5)
	var f *monitor.Figures
	wait.Until(t, "five consumers", func() bool {
		f = figuresOf(t, s)
		return f.Totals.Consumers == 5
	})
	// worker, 2 transports, 1 producer, 5 consumers = 9 entries.
	if len(f.Objects) != 3 || f.Omitted != 6 {
		t.Fatalf("%d entries, %d omitted; want 3 and 6", len(f.Objects), f.Omitted)
	}
	for id := range f.Objects {
		if id == p.producer.ID() {
			t.Fatalf("the producer kept before a transport: %v", f.Objects)
		}
	}
}

// TestSubscribersGetFiguresByNotification: a subscribed connection
// receives monitor.figures notifications with growing times; another
// connection, not subscribed, receives none; one over MaxSubscribers is
// refused with -32005; a closed connection leaves the subscribers.
func TestSubscribersGetFiguresByNotification(t *testing.T) {
	s := newServer(t, &monitor.Options{MaxSubscribers: 1, Interval: monitor.DefaultInterval / 5})
	page := s.dial(t)
	var mu sync.Mutex
	var times []int64
	page.OnNotification(func(method string, params json.RawMessage) {
		if method != monitor.MethodFigures {
			return
		}
		var f monitor.Figures
		if err := json.Unmarshal(params, &f); err != nil {
			t.Error(err)
		}
		mu.Lock()
		times = append(times, f.Time)
		mu.Unlock()
	})
	other := s.dial(t)
	otherGot := make(chan string, 100)
	other.OnNotification(func(method string, _ json.RawMessage) { otherGot <- method })

	var first monitor.Figures
	if err := page.Call(ctxFor(t), monitor.RootID, "subscribe", nil, &first); err != nil {
		t.Fatal(err)
	}
	if first.Time == 0 || first.Server.Conns < 2 {
		t.Fatalf("subscribe answered %+v", first)
	}
	wait.Until(t, "three figures notifications", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(times) >= 3
	})
	mu.Lock()
	for i := 1; i < len(times); i++ {
		if times[i] <= times[i-1] {
			t.Fatalf("figures times %v do not grow", times)
		}
	}
	mu.Unlock()
	select {
	case m := <-otherGot:
		t.Fatalf("a connection that did not subscribe got %s", m)
	default:
	}

	err := other.Call(ctxFor(t), monitor.RootID, "subscribe", nil, nil)
	var re *rope.Error
	if !errors.As(err, &re) || re.Code != rope.CodeOverloaded {
		t.Fatalf("second subscriber: %v, want -32005", err)
	}
	page.Close()
	wait.Until(t, "the closed page to leave the subscribers", func() bool { return s.mon.Subscribers() == 0 })
	if err := other.Call(ctxFor(t), monitor.RootID, "subscribe", nil, nil); err != nil {
		t.Fatalf("subscribe after the first left: %v", err)
	}
	if err := other.Call(ctxFor(t), monitor.RootID, "unsubscribe", nil, nil); err != nil || s.mon.Subscribers() != 0 {
		t.Fatalf("unsubscribe: %v, %d subscribers", err, s.mon.Subscribers())
	}
}

// TestMonitorHasNoMutatingMethods: the Monitor type's catalogue lists
// subscribe, unsubscribe and snapshot, nothing else; snapshot answers
// the figures; its appData cannot be set (-32004).
func TestMonitorHasNoMutatingMethods(t *testing.T) {
	s := newServer(t, nil)
	c := s.dial(t)
	if o, ok := c.Object(monitor.RootID); !ok || o.Type() != monitor.TypeMonitor {
		t.Fatalf("no %s object", monitor.TypeMonitor)
	}
	ti, ok := c.Type(monitor.TypeMonitor)
	if !ok {
		t.Fatal("no Monitor type in the catalogue")
	}
	want := map[string]bool{"subscribe": true, "unsubscribe": true, "snapshot": true}
	if len(ti.Methods) != len(want) {
		t.Fatalf("methods %v, want %v", ti.Methods, want)
	}
	for _, m := range ti.Methods {
		if !want[m] {
			t.Fatalf("unexpected method %s", m)
		}
	}
	var f monitor.Figures
	if err := c.Call(ctxFor(t), monitor.RootID, "snapshot", nil, &f); err != nil || f.Time == 0 {
		t.Fatalf("snapshot: %v %+v", err, f)
	}
	o, _ := c.Object(monitor.RootID)
	var re *rope.Error
	if err := o.SetAppData(ctxFor(t), map[string]any{"x": 1}); !errors.As(err, &re) || re.Code != rope.CodeUnauthorized {
		t.Fatalf("setAppData on the Monitor: %v, want -32004", err)
	}
	if string(o.AppData()) != "{}" {
		t.Fatalf("the Monitor's appData became %s", o.AppData())
	}
}

// TestMaxStatsCallsTakeTurns: with two stats calls per collection besides
// the worker's, the objects take turns: every consumer's figures appear
// in time, each keeping its last turn's, and the counters add up what
// each counted.
func TestMaxStatsCallsTakeTurns(t *testing.T) {
	s := newServer(t, &monitor.Options{MaxStatsCalls: 2, Interval: monitor.DefaultInterval / 5})
	r := newRoom(t, s)
	p := r.produce("alice", 6666)
	tr := r.consume("bob", p, 4)
	consumers := map[string]bool{}
	for _, o := range s.rs.Objects() {
		if o.Type() == "Consumer" && o.Parent().ID() == tr.ID() {
			consumers[o.ID()] = true
		}
	}
	if len(consumers) != 4 {
		t.Fatalf("%d consumers", len(consumers))
	}
	var f *monitor.Figures
	wait.Until(t, "every consumer's figures with packets sent", func() bool {
		f = s.mon.Collect(ctxFor(t)) // a collection per poll: each is one turn
		for id := range consumers {
			if f.Objects[id].Packets == 0 {
				return false
			}
		}
		return true
	})
	// 1 worker + 2 transports + 1 producer + 4 consumers, all with figures.
	if len(f.Objects) != 8 || f.Omitted != 0 {
		t.Fatalf("%d entries (%d omitted), want 8", len(f.Objects), f.Omitted)
	}
	var sent uint64
	for id := range consumers {
		sent += f.Objects[id].Packets
	}
	if f.Totals.ForwardedPackets != sent {
		t.Fatalf("forwarded %d packets, the consumers' last turns say %d", f.Totals.ForwardedPackets, sent)
	}
}

// TestWorkerProcessFigures: with workers in child processes, each
// worker's figures are its own process's (CPU over the interval, peak
// RSS), the room's stats come through the control API, and the workers'
// CPU counts each process once.
func TestWorkerProcessFigures(t *testing.T) {
	s := newServerOn(t, &monitor.Options{Interval: monitor.DefaultInterval / 5}, workerproc.New(nil))
	r := newRoom(t, s)
	if r.worker.PID() == os.Getpid() {
		t.Fatal("the worker runs in the test's process")
	}
	p := r.produce("alice", 8888)
	r.consume("bob", p, 2)
	var f *monitor.Figures
	wait.Until(t, "the worker process's CPU and the room's figures", func() bool {
		f = figuresOf(t, s)
		var w monitor.ObjectFigures
		for _, o := range s.rs.Objects() {
			if o.Type() == "Worker" {
				w = f.Objects[o.ID()]
			}
		}
		return w.CPU != nil && w.Mem > 0 && f.Objects[p.producer.ID()].Recv > 0 && f.Totals.ForwardedPackets > 0 &&
			f.Totals.WorkersCPUSeconds > 0
	})
}

// TestResubscribingDoesNotGrow: a connection that subscribes and
// unsubscribes over and over costs the monitor one entry and one close
// hook, no goroutine per subscribe, and counts as a subscriber only while
// subscribed.
func TestResubscribingDoesNotGrow(t *testing.T) {
	s := newServer(t, nil)
	c := s.dial(t)
	call := func(method string) {
		t.Helper()
		if err := c.Call(ctxFor(t), monitor.RootID, method, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	call("subscribe")
	call("unsubscribe")
	before := runtime.NumGoroutine()
	for range 50 {
		call("subscribe")
		call("subscribe")
		call("unsubscribe")
	}
	if s.mon.Subscribers() != 0 {
		t.Fatalf("%d subscribers after unsubscribe", s.mon.Subscribers())
	}
	if after := runtime.NumGoroutine(); after > before+5 {
		t.Fatalf("goroutines grew from %d to %d over 50 resubscriptions", before, after)
	}
}
