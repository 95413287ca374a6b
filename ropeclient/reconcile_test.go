package ropeclient_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/ropeclient"
	"github.com/ropehq/rope/ropeserver"
)

// switchable serves whichever server it holds now, so that a client
// reconnecting to one URL meets a server with a new epoch.
type switchable struct {
	srv atomic.Pointer[ropeserver.Server]
}

func (s *switchable) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.srv.Load().ServeHTTP(w, r) }

// thingServer serves objects of the types Thing (props a, b) and Other.
func thingServer(t *testing.T, objects ...ropeserver.ObjectOptions) *ropeserver.Server {
	t.Helper()
	srv := ropeserver.New(&ropeserver.Options{Logger: quiet})
	t.Cleanup(func() { srv.Close() })
	for _, name := range []string{"Thing", "Other"} {
		if err := srv.RegisterType(ropeserver.Type{Name: name, Properties: []string{"a", "b"}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range objects {
		typ := "Thing"
		if strings.HasPrefix(o.ID, "other-") {
			typ = "Other"
		}
		if _, err := srv.Create(typ, &o); err != nil {
			t.Fatal(err)
		}
	}
	return srv
}

// TestReconcileRemovesProps: after a full snapshot, a property the
// snapshot lacks is removed from the mirror and reported with a nil value;
// an object whose type changed is closed and created anew (spec §7.6).
func TestReconcileRemovesProps(t *testing.T) {
	var sw switchable
	sw.srv.Store(thingServer(t,
		ropeserver.ObjectOptions{ID: "x", Props: map[string]any{"a": 1, "b": 2}},
		ropeserver.ObjectOptions{ID: "y", Props: map[string]any{"a": 1}},
	))
	hs := httptest.NewServer(&sw)
	t.Cleanup(hs.Close)
	c := dial(t, "ws"+strings.TrimPrefix(hs.URL, "http")+"/", nil)
	x, okX := c.Object("x")
	y, okY := c.Object("y")
	if !okX || !okY {
		t.Fatal("x and y not mirrored")
	}
	var mu sync.Mutex
	var updates []map[string]json.RawMessage
	x.OnUpdate(func(changed map[string]json.RawMessage) {
		mu.Lock()
		defer mu.Unlock()
		updates = append(updates, changed)
	})
	var yClosed atomic.Bool
	y.OnClose(func() { yClosed.Store(true) })

	next := thingServer(t,
		ropeserver.ObjectOptions{ID: "x", Props: map[string]any{"a": 1.0}},
		ropeserver.ObjectOptions{ID: "other-y"},
	)
	// y comes back as an Other: same id, another type.
	if _, err := next.Create("Other", &ropeserver.ObjectOptions{ID: "y"}); err != nil {
		t.Fatal(err)
	}
	old := sw.srv.Swap(next)
	old.Close() // 1001: the client reconnects and meets the new epoch
	wait.Until(t, "the client reconciles", func() bool {
		return c.ReadyState() == ropeclient.Connected && c.Seq() == next.Seq()
	})
	wait.Until(t, "x's update and y's close are delivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(updates) > 0 && yClosed.Load()
	})
	if x.Closed() {
		t.Error("x, the same object, was closed")
	}
	if got := x.Props(); len(got) != 1 || string(got["a"]) != "1" || x.Prop("b") != nil {
		t.Errorf("x's props %s, want only a", got)
	}
	mu.Lock()
	if len(updates) != 1 || len(updates[0]) != 1 || updates[0]["b"] != nil {
		t.Errorf("x's updates %v, want one listing b, removed (nil)", updates)
	}
	if _, listed := updates[0]["b"]; !listed {
		t.Errorf("b not listed in %v", updates[0])
	}
	mu.Unlock()
	if y2, ok := c.Object("y"); !ok || y2 == y || y2.Type() != "Other" {
		t.Errorf("y after the snapshot: %v, want a new Other", y2)
	}
}
