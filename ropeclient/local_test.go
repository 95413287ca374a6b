package ropeclient_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeclient"
	"github.com/ropehq/rope/ropeserver/fixture"
)

// recorder keeps what the listeners saw, in order.
type recorder struct {
	mu  sync.Mutex
	log []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.log = append(r.log, s)
	r.mu.Unlock()
}

func (r *recorder) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.log)
}

// watch records o's events and close.
func (r *recorder) watch(o *ropeclient.Object) {
	o.OnEvent(func(ev string, data json.RawMessage) { r.add(o.ID() + " " + ev + " " + string(data)) })
	o.OnClose(func() { r.add(o.ID() + " close") })
}

func createChild(t *testing.T, c *ropeclient.Client, counter *ropeclient.Object, name string) *ropeclient.Object {
	t.Helper()
	var r rope.CreateResult
	if err := counter.Call(ctxT(t), "createChild", map[string]string{"name": name}, &r); err != nil {
		t.Fatal(err)
	}
	o, ok := c.Object(r.ID)
	if !ok {
		t.Fatalf("child %s not in the mirror", r.ID)
	}
	return o
}

// TestCloseLocal: the mirror closes as a server cascade would, children
// before parents, each after its last event, and the client closes last;
// the server's objects stay.
func TestCloseLocal(t *testing.T) {
	srv, url := startServer(t, nil)
	c := dial(t, url, &ropeclient.Options{Dedicated: true})
	other := dial(t, url, &ropeclient.Options{Dedicated: true})
	c1, c2 := createCounter(t, c), createCounter(t, c)
	k1, k2, k3 := createChild(t, c, c1, "a"), createChild(t, c, c1, "b"), createChild(t, c, c2, "c")
	root, _ := c.Object(fixture.RootID)
	objs := []*ropeclient.Object{root, c1, c2, k1, k2, k3}
	var rec recorder
	for _, o := range objs {
		rec.watch(o)
	}
	c.OnClose(func() { rec.add("client close") })
	disconnected := 0
	c.OnDisconnected(func(error) { disconnected++ })

	err := c.CloseLocal(&ropeclient.LocalCloseOptions{LastEvent: func(o, parent *ropeclient.Object) (string, json.RawMessage) {
		if parent == nil {
			return "", nil
		}
		return "parentclose", json.RawMessage(`"` + parent.ID() + `"`)
	}})
	if err != nil {
		t.Fatal(err)
	}
	// CloseLocal returned: every listener has run.
	got := rec.lines()
	// Five last events (the root has no parent), six closes, the client's.
	if len(got) != 2*len(objs) {
		t.Fatalf("listeners saw %d things, want %d: %q", len(got), 2*len(objs), got)
	}
	at := func(s string) int {
		i := slices.Index(got, s)
		if i < 0 {
			t.Fatalf("%q missing from %q", s, got)
		}
		return i
	}
	for _, o := range objs {
		closed := at(o.ID() + " close")
		if p := o.ParentID(); p != "" {
			if ev := at(o.ID() + ` parentclose "` + p + `"`); ev != closed-1 {
				t.Errorf("%s: its last event at %d, its close at %d: %q", o.ID(), ev, closed, got)
			}
			if closed > at(p+" close") {
				t.Errorf("%s closed after its parent %s: %q", o.ID(), p, got)
			}
		}
		if !o.Closed() {
			t.Errorf("%s not closed", o.ID())
		}
		if err := o.Call(ctxT(t), "ping", nil, nil); !errors.Is(err, ropeclient.ErrObjectClosed) {
			t.Errorf("%s: call after CloseLocal: %v", o.ID(), err)
		}
	}
	if got[len(got)-1] != "client close" {
		t.Errorf("client close not last: %q", got)
	}
	if c.ReadyState() != ropeclient.Closed || len(c.Objects()) != 0 {
		t.Errorf("state %v, %d objects", c.ReadyState(), len(c.Objects()))
	}
	if err := c.Call(ctxT(t), fixture.RootID, "echo", nil, nil); !errors.Is(err, ropeclient.ErrClientClosed) {
		t.Errorf("call on the client: %v", err)
	}
	if disconnected != 0 {
		t.Errorf("disconnected fired %d times after the client closed", disconnected)
	}
	// Idempotent, and Close after it too.
	if err := c.CloseLocal(nil); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if n := len(rec.lines()); n != len(got) {
		t.Errorf("listeners fired again: %q", rec.lines())
	}
	// Only the mirror closed: the server's objects are live.
	wait.Until(t, "the connection to close", func() bool { return srv.ConnCount() == 1 })
	wait.Until(t, "the other client to mirror the child", func() bool {
		_, ok := other.Object(k3.ID())
		return ok
	})
	if err := other.Call(ctxT(t), k3.ID(), "ping", nil, nil); err != nil {
		t.Fatal(err)
	}
}

// TestCloseLocalServerGone: the server went away and the client is
// reconnecting; CloseLocal fails the waiting call and closes the mirror.
func TestCloseLocalServerGone(t *testing.T) {
	srv, url := startServer(t, nil)
	c := dial(t, url, &ropeclient.Options{Dedicated: true})
	counter := createCounter(t, c)
	child := createChild(t, c, counter, "x")
	var rec recorder
	rec.watch(counter)
	rec.watch(child)
	srv.Close()
	wait.Until(t, "the loss of the connection", func() bool { return c.ReadyState() != ropeclient.Connected })
	errc := make(chan error, 1)
	go func() { errc <- c.Call(ctxT(t), fixture.RootID, "echo", nil, nil) }()

	if err := c.CloseLocal(nil); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.lines(), []string{child.ID() + " close", counter.ID() + " close"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if err := <-errc; err == nil {
		t.Fatal("a call waiting for the connection succeeded")
	}
	if err := child.Call(ctxT(t), "ping", nil, nil); !errors.Is(err, ropeclient.ErrObjectClosed) {
		t.Fatalf("call after CloseLocal: %v", err)
	}
}

// TestCloseLocalShared: on a shared connection every client closes.
func TestCloseLocalShared(t *testing.T) {
	_, url := startServer(t, nil)
	a := dial(t, url, nil)
	b := dial(t, url, nil)
	counter := createCounter(t, a)
	var rec recorder
	a.OnClose(func() { rec.add("a close") })
	b.OnClose(func() { rec.add("b close") })
	counter.OnClose(func() { rec.add("counter close") })
	if err := b.CloseLocal(nil); err != nil {
		t.Fatal(err)
	}
	got := rec.lines()
	slices.Sort(got[1:])
	if want := []string{"counter close", "a close", "b close"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if a.ReadyState() != ropeclient.Closed || b.ReadyState() != ropeclient.Closed {
		t.Fatalf("a %v, b %v", a.ReadyState(), b.ReadyState())
	}
	// A new client of the URL gets a new connection.
	c := dial(t, url, nil)
	if _, ok := c.Object(counter.ID()); !ok {
		t.Fatal("a new client does not see the server's counter")
	}
}

// A listener may call CloseLocal: it does not wait for itself.
func TestCloseLocalFromListener(t *testing.T) {
	_, url := startServer(t, nil)
	c := dial(t, url, &ropeclient.Options{Dedicated: true})
	counter := createCounter(t, c)
	done := make(chan struct{})
	counter.OnEvent(func(string, json.RawMessage) {
		_ = c.CloseLocal(nil)
		close(done)
	})
	closed := make(chan struct{})
	counter.OnClose(func() { close(closed) })
	// The call may fail: its listener closes the connection.
	_ = counter.Call(ctxT(t), "increment", nil, nil)
	<-done
	<-closed
}

// TestCloseLocalOrder: Order decides among objects at the same depth;
// depth still comes first.
func TestCloseLocalOrder(t *testing.T) {
	_, url := startServer(t, nil)
	c := dial(t, url, &ropeclient.Options{Dedicated: true})
	counters := []*ropeclient.Object{createCounter(t, c), createCounter(t, c), createCounter(t, c)}
	child := createChild(t, c, counters[0], "a")
	var rec recorder
	for _, o := range append(slices.Clone(counters), child) {
		rec.watch(o)
	}
	// Reverse id order among siblings.
	err := c.CloseLocal(&ropeclient.LocalCloseOptions{Order: func(a, b *ropeclient.Object) int {
		return strings.Compare(b.ID(), a.ID())
	}})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(counters, func(a, b *ropeclient.Object) int { return strings.Compare(b.ID(), a.ID()) })
	want := []string{child.ID() + " close"}
	for _, o := range counters {
		want = append(want, o.ID()+" close")
	}
	if got := rec.lines(); !slices.Equal(got, want) {
		t.Errorf("closes %q, want %q", got, want)
	}
}
