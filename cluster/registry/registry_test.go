package registry_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ropehq/rope/cluster/natsutil"
	"github.com/ropehq/rope/cluster/registry"
	"github.com/ropehq/rope/internal/wait"
)

// TestJoinUpdateLeave: members over one NATS server learn each other at
// once (the who-is-there answers), see each other's updates, and a
// member that leaves is gone at once (its goodbye).
func TestJoinUpdateLeave(t *testing.T) {
	ns := startNATS(t, nil)
	a := join(t, connect(t, ns.ClientURL()), "a")
	watch := a.Watch(ctxT(t))
	b := join(t, connect(t, ns.ClientURL()), "b")
	// b's New waited for the answers: a is already in its view.
	if got := ids(b); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("b sees %v right after joining, want [a]", got)
	}
	if s, _ := b.Server("a"); s.RopeURL != "ws://127.0.0.1:8444/a" || !slices.Equal(s.MediaAddresses, []string{"127.0.0.1"}) {
		t.Fatalf("b's record of a: %+v", s)
	}
	e := waitEvent(t, watch, registry.EventJoined, "b")
	if e.Server.RopeURL != "ws://127.0.0.1:8444/b" {
		t.Fatalf("joined event %+v", e)
	}

	workers := []registry.Worker{{ID: "w1", PID: 42, Load: 12.5}, {ID: "w2", Load: 80}}
	if err := b.Update(func(r *registry.Record) { r.Workers, r.Load, r.MaxWorkers = workers, 46.25, 8 }); err != nil {
		t.Fatal(err)
	}
	e = waitEvent(t, watch, registry.EventUpdated, "b")
	if !slices.Equal(e.Server.Workers, workers) || e.Server.Load != 46.25 || e.Server.MaxWorkers != 8 {
		t.Fatalf("updated event %+v", e.Server.Record)
	}
	if s, _ := a.Server("b"); !slices.Equal(s.Workers, workers) {
		t.Fatalf("a's view of b: %+v", s)
	}

	if err := b.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, watch, registry.EventLeft, "b")
	if sees(a, "b") {
		t.Fatal("b still in a's view after its goodbye")
	}
	if st := a.Stats(); st.Malformed+st.Oversized != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestLostAfterMissedHeartbeats: a member whose NATS connection dies
// without a goodbye is lost once its heartbeats stop.
func TestLostAfterMissedHeartbeats(t *testing.T) {
	ns := startNATS(t, nil)
	a := join(t, connect(t, ns.ClientURL()), "a")
	watch := a.Watch(ctxT(t))
	ncB := connect(t, ns.ClientURL())
	join(t, ncB, "b")
	waitEvent(t, watch, registry.EventJoined, "b")
	ncB.Close() // no goodbye
	start := time.Now()
	e := waitEvent(t, watch, registry.EventLost, "b")
	t.Logf("lost after %s (interval %s × %d misses)", time.Since(start).Round(time.Millisecond), testInterval, testMisses)
	if e.Server.RopeURL == "" || sees(a, "b") {
		t.Fatalf("lost event %+v; still in view: %v", e, sees(a, "b"))
	}
}

// TestRestartIsLossThenJoin: a server that comes back under the same id
// with a new incarnation is reported lost (what it ran is gone), then
// joined.
func TestRestartIsLossThenJoin(t *testing.T) {
	ns := startNATS(t, nil)
	a := join(t, connect(t, ns.ClientURL()), "a")
	watch := a.Watch(ctxT(t))
	ncB := connect(t, ns.ClientURL())
	b1 := join(t, ncB, "b")
	first := waitEvent(t, watch, registry.EventJoined, "b")
	ncB.Close()
	b2 := join(t, connect(t, ns.ClientURL()), "b")
	if b1.Self().Incarnation == b2.Self().Incarnation {
		t.Fatal("same incarnation twice")
	}
	// Events of b until the new incarnation joins: the old one must be
	// lost before (a loaded machine may add a spurious loss and return
	// of the old one, which changes nothing here).
	lostOld := false
	for e := range watch {
		if e.Server.ID != "b" {
			continue
		}
		if e.Kind == registry.EventLost && e.Server.Incarnation == first.Server.Incarnation {
			lostOld = true
		}
		if e.Kind == registry.EventJoined && e.Server.Incarnation == b2.Self().Incarnation {
			break
		}
	}
	if !lostOld {
		t.Fatal("the new incarnation joined without the old one lost")
	}
	if s, _ := a.Server("b"); s.Incarnation != b2.Self().Incarnation {
		t.Fatalf("a's view of b: incarnation %s, want %s", s.Incarnation, b2.Self().Incarnation)
	}
}

// TestBadMessagesAreDroppedAndCounted sends, over NATS, what a broken or
// hostile peer could: the member drops each, counts it, and goes on.
func TestBadMessagesAreDroppedAndCounted(t *testing.T) {
	ns := startNATS(t, nil)
	a := join(t, connect(t, ns.ClientURL()), "a", func(o *registry.Options) { o.MaxRecordBytes = 4096 })
	raw := connect(t, ns.ClientURL())
	valid := func(id string) registry.Record {
		return registry.Record{V: 1, ID: id, Incarnation: "i1", Seq: 1, IntervalMS: 1000, RopeURL: "ws://h:1/"}
	}
	enc := func(r registry.Record) []byte { b, _ := json.Marshal(r); return b }
	spoof := valid("x")
	v2 := valid("y")
	v2.V = 2
	badWorker := valid("z")
	badWorker.Workers = []registry.Worker{{ID: "", Load: 1}}
	malformed := map[string][]byte{
		registry.HeartbeatSubject("j"): []byte("{not json"),
		registry.HeartbeatSubject("k"): []byte(`[1,2]`),
		registry.HeartbeatSubject("e"): enc(spoof),
		registry.HeartbeatSubject("y"): enc(v2),
		registry.HeartbeatSubject("z"): enc(badWorker),
		registry.GoodbyeSubject("q"):   []byte(`{"v":1,"id":"r","incarnation":"i"}`),
		registry.WhoSubject:            []byte(`{"v":1}`),
	}
	for subject, data := range malformed {
		if err := raw.Publish(subject, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := raw.Publish(registry.HeartbeatSubject("big"), []byte(`{"v":1,"id":"big","pad":"`+strings.Repeat("x", 5000)+`"}`)); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, "every bad message counted", func() bool {
		st := a.Stats()
		return st.Malformed == uint64(len(malformed)) && st.Oversized == 1
	})
	// A good record still gets in; an older one of the same incarnation
	// is stale.
	ok := valid("ok")
	ok.Seq = 5
	_ = raw.Publish(registry.HeartbeatSubject("ok"), enc(ok))
	ok.Seq = 4
	_ = raw.Publish(registry.HeartbeatSubject("ok"), enc(ok))
	wait.Until(t, "the good record in view and the old one stale", func() bool { return sees(a, "ok") && a.Stats().Stale == 1 })
	if got := ids(a); !slices.Equal(got, []string{"ok"}) {
		t.Fatalf("view %v", got)
	}
}

// TestMaxServersBoundsTheView: records of new servers beyond MaxServers
// are dropped and counted; a known one still updates.
func TestMaxServersBoundsTheView(t *testing.T) {
	ns := startNATS(t, nil)
	a := join(t, connect(t, ns.ClientURL()), "a", func(o *registry.Options) { o.MaxServers = 2; o.Misses = 1000 })
	raw := connect(t, ns.ClientURL())
	for i := range 5 {
		id := fmt.Sprintf("s%d", i)
		b, _ := json.Marshal(registry.Record{V: 1, ID: id, Incarnation: "i", Seq: 1, IntervalMS: 1000, RopeURL: "ws://h:1/"})
		_ = raw.Publish(registry.HeartbeatSubject(id), b)
	}
	wait.Until(t, "two in view, three refused", func() bool { return len(a.Servers()) == 2 && a.Stats().Full == 3 })
}

// TestWatchEndsWithItsContextAndWithClose: a watch's channel closes when
// its context ends, and every watch's when the registry closes.
func TestWatchEndsWithItsContextAndWithClose(t *testing.T) {
	ns := startNATS(t, nil)
	a := join(t, connect(t, ns.ClientURL()), "a")
	join(t, connect(t, ns.ClientURL()), "b")
	wait.Until(t, "a sees b", func() bool { return sees(a, "b") })
	ctx, cancel := context.WithCancel(context.Background())
	w1 := a.Watch(ctx)
	if e := <-w1; e.Kind != registry.EventJoined || e.Server.ID != "b" {
		t.Fatalf("first event %+v, want b joined", e)
	}
	cancel()
	for range w1 {
	}
	w2 := a.Watch(context.Background())
	if err := a.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	for range w2 {
	}
	if _, ok := <-a.Watch(context.Background()); ok {
		t.Fatal("a watch of a closed registry delivered")
	}
	if err := a.Update(func(*registry.Record) {}); !errors.Is(err, registry.ErrClosed) {
		t.Fatalf("update after close: %v", err)
	}
}

// TestSlowWatcherGetsLatestState: a watcher that reads nothing while a
// server changes many times then gets the server's latest record in at
// most two events (the one already on its way, and the rest merged), and
// does not hold the registry up.
func TestSlowWatcherGetsLatestState(t *testing.T) {
	ns := startNATS(t, nil)
	a := join(t, connect(t, ns.ClientURL()), "a")
	slow := a.Watch(ctxT(t))
	b := join(t, connect(t, ns.ClientURL()), "b")
	for i := range 50 {
		if err := b.Update(func(r *registry.Record) { r.Load = float64(i) }); err != nil {
			t.Fatal(err)
		}
	}
	wait.Until(t, "a sees b's last load", func() bool { s, _ := a.Server("b"); return s.Load == 49 })
	first := <-slow
	if first.Kind != registry.EventJoined || first.Server.ID != "b" {
		t.Fatalf("first event %v %s, want b joined", first.Kind, first.Server.ID)
	}
	if first.Server.Load != 49 {
		if e := <-slow; e.Kind != registry.EventUpdated || e.Server.Load != 49 {
			t.Fatalf("second event %v load %v, want the update to load 49", e.Kind, e.Server.Load)
		}
	}
}

func TestBadOptions(t *testing.T) {
	ns := startNATS(t, nil)
	nc := connect(t, ns.ClientURL())
	for name, o := range map[string]*registry.Options{
		"nil":            nil,
		"no id":          {RopeURL: "ws://h/"},
		"dotted id":      {ServerID: "a.b", RopeURL: "ws://h/"},
		"no url":         {ServerID: "a"},
		"http url":       {ServerID: "a", RopeURL: "http://h/"},
		"fast":           {ServerID: "a", RopeURL: "ws://h/", Interval: time.Millisecond},
		"one miss":       {ServerID: "a", RopeURL: "ws://h/", Misses: 1},
		"many addresses": {ServerID: "a", RopeURL: "ws://h/", MediaAddresses: make([]string, 17)},
	} {
		if _, err := registry.New(context.Background(), nc, o); !errors.Is(err, registry.ErrBadOptions) {
			t.Errorf("%s: %v, want ErrBadOptions", name, err)
		}
	}
	a := join(t, nc, "a")
	if err := a.Update(func(r *registry.Record) { r.Load = -1 }); !errors.Is(err, registry.ErrMalformed) {
		t.Fatalf("negative load: %v", err)
	}
	if a.Self().Load != 0 {
		t.Fatal("a refused update was applied")
	}
}

// TestJoinBeforeNATSIsUp: a member created while NATS is down joins once
// it comes up.
func TestJoinBeforeNATSIsUp(t *testing.T) {
	probe := startNATS(t, nil)
	url := probe.ClientURL()
	probe.Close()
	nc, err := natsutil.Connect(&natsutil.ConnectOptions{URLs: []string{url}, ReconnectWait: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	early := join(t, nc, "early")
	ns := startNATS(t, &natsutil.ServerOptions{Port: port(t, url)})
	late := join(t, connect(t, ns.ClientURL()), "late")
	wait.Until(t, "both see each other", func() bool { return sees(early, "late") && sees(late, "early") })
}

// TestObserverSeesEveryoneAndIsSeenByNobody: an observer learns the
// members at once from its empty who-is-there request, sees them leave,
// and never appears in a member's view.
func TestObserverSeesEveryoneAndIsSeenByNobody(t *testing.T) {
	ns := startNATS(t, nil)
	a := join(t, connect(t, ns.ClientURL()), "a", func(o *registry.Options) { o.Interval = registry.MaxInterval })
	b := join(t, connect(t, ns.ClientURL()), "b", func(o *registry.Options) { o.Interval = registry.MaxInterval })
	obs := join(t, connect(t, ns.ClientURL()), "", func(o *registry.Options) {
		o.Observer, o.RopeURL, o.MediaAddresses = true, "", nil
	})
	// With heartbeats a minute apart (beyond wait.Until), only the answers to the observer's
	// request can have told it of a and b.
	wait.Until(t, "the observer sees a and b", func() bool { return slices.Equal(ids(obs), []string{"a", "b"}) })
	if err := obs.Update(func(*registry.Record) {}); !errors.Is(err, registry.ErrObserver) {
		t.Fatalf("observer Update: %v", err)
	}
	if err := b.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, "the observer sees b leave", func() bool { return slices.Equal(ids(obs), []string{"a"}) })
	wait.Until(t, "a sees b leave", func() bool { return len(ids(a)) == 0 })
	if got := ids(a); len(got) != 0 {
		t.Fatalf("a's view %v: the observer must not be in it", got)
	}
	if st := obs.Stats(); st.Published != 1 || st.BytesPublished != 0 {
		t.Fatalf("observer published %d messages, %d bytes; want one empty request", st.Published, st.BytesPublished)
	}
}
