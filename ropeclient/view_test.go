package ropeclient_test

import (
	"errors"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeclient"
	"github.com/ropehq/rope/ropeserver"
	"github.com/ropehq/rope/ropeserver/fixture"
)

// A client with a view (spec §18) mirrors the objects it sees, accepts the
// global seq with gaps without reconnecting, and an object whose parent
// is outside the view.
func TestClientWithView(t *testing.T) {
	_, url := startServer(t, &ropeserver.Options{Authorize: fixture.Authorize})
	op := dial(t, url, &ropeclient.Options{Dedicated: true})
	ctx := ctxT(t)
	var a, b rope.CreateResult
	if err := op.Call(ctx, fixture.RootID, "createCounter", nil, &a); err != nil {
		t.Fatal(err)
	}
	if err := op.Call(ctx, fixture.RootID, "createCounter", nil, &b); err != nil {
		t.Fatal(err)
	}
	v := dial(t, url, &ropeclient.Options{Dedicated: true, Token: fixture.ViewTokenPrefix + a.ID})
	var lost atomic.Int32
	v.OnDisconnected(func(error) { lost.Add(1) })
	for range 3 {
		if err := op.Call(ctx, b.ID, "increment", nil, nil); err != nil {
			t.Fatal(err)
		}
		if err := op.Call(ctx, a.ID, "increment", nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	var ping rope.PingResult
	if err := v.Call(ctx, a.ID, "increment", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := v.Request(ctx, rope.MethodPing, nil, &ping); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, o := range v.Objects() {
		ids = append(ids, o.ID())
	}
	if !slices.Equal(ids, []string{a.ID}) {
		t.Fatalf("the view mirrors %v, want [%s]", ids, a.ID)
	}
	o, _ := v.Object(a.ID)
	if string(o.Prop("value")) != "4" || o.ParentID() != fixture.RootID {
		t.Errorf("counter value %s parent %q, want 4 and %q", o.Prop("value"), o.ParentID(), fixture.RootID)
	}
	if lost.Load() != 0 {
		t.Errorf("the view lost its connection %d times: the gaps were taken for a broken sequence", lost.Load())
	}
	err := v.Call(ctx, b.ID, "increment", nil, nil)
	if !errors.Is(err, rope.ErrObjectNotFound) {
		t.Errorf("a call outside the view: %v, want -32001", err)
	}
}
