package ropeclient_test

import (
	"testing"
	"time"

	"github.com/ropehq/rope/internal/cuttest"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/ropeclient"
	"github.com/ropehq/rope/ropeserver"
	"github.com/ropehq/rope/ropeserver/fixture"
)

// TestClientKeepsItsSession: after a dropped connection the client
// presents its session, resuming or not, so the server keeps the objects
// it created (spec §17).
func TestClientKeepsItsSession(t *testing.T) {
	for _, tc := range []struct {
		name   string
		window int
	}{{"resumed", 30000}, {"snapshot", 10}} {
		t.Run(tc.name, func(t *testing.T) {
			srv, url := startServer(t, &ropeserver.Options{ReplayWindow: tc.window, LeaseGrace: time.Millisecond})
			var cut cuttest.Cutter
			a := dial(t, url, &ropeclient.Options{Dedicated: true, HTTPClient: cut.Client(), Lease: time.Minute,
				MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})
			b := dial(t, url, &ropeclient.Options{Dedicated: true})
			sid := a.Session()
			if sid == "" {
				t.Fatal("no session after connecting")
			}
			counter := createCounter(t, a)
			seq := a.Seq()
			cut.Cut()
			// Changes while A is away: past a small window A gets a snapshot.
			b.Call(ctxT(t), counter.ID(), "increment", map[string]int{"times": 20}, nil)
			wait.Until(t, "A reconnects", func() bool { return a.Seq() > seq && a.ReadyState() == ropeclient.Connected })
			if got := a.Session(); got != sid {
				t.Errorf("session %q after reconnecting, want %q", got, sid)
			}
			if o, ok := srv.Object(counter.ID()); !ok || o.Closed() || counter.Closed() {
				t.Fatal("A's counter closed across the reconnection")
			}
		})
	}
}

// TestClientObjectsCloseAfterItGoes: a client that asks for a short lease
// loses its objects once it is gone; another client sees them close.
func TestClientObjectsCloseAfterItGoes(t *testing.T) {
	_, url := startServer(t, nil)
	a := dial(t, url, &ropeclient.Options{Dedicated: true, Lease: time.Millisecond})
	b := dial(t, url, &ropeclient.Options{Dedicated: true})
	counter := createCounter(t, a)
	wait.Until(t, "B mirrors the counter", func() bool { _, ok := b.Object(counter.ID()); return ok })
	seen, _ := b.Object(counter.ID())
	a.Close()
	wait.Until(t, "the counter closes", seen.Closed)
}

// TestClientResumesSessionFromURL: a new client whose URL names a session
// (a restarted process) takes it over, with its objects.
func TestClientResumesSessionFromURL(t *testing.T) {
	srv, url := startServer(t, &ropeserver.Options{LeaseGrace: time.Hour})
	a := dial(t, url, &ropeclient.Options{Dedicated: true})
	sid := a.Session()
	counter := createCounter(t, a)
	a.Close()
	c := dial(t, url+"?session="+sid, &ropeclient.Options{Dedicated: true, Lease: time.Millisecond})
	if got := c.Session(); got != sid {
		t.Fatalf("session %q, want %q", got, sid)
	}
	var r struct{ ID string }
	if err := c.Call(ctxT(t), fixture.RootID, "createCounter", nil, &r); err != nil {
		t.Fatal(err)
	}
	c.Close()
	// c asked for 1 ms: the session ends, with a's counter and c's.
	wait.Until(t, "both counters close", func() bool {
		_, ok1 := srv.Object(counter.ID())
		_, ok2 := srv.Object(r.ID)
		return !ok1 && !ok2
	})
}
