package horizontal_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ropehq/rope/cluster/horizontal"
	"github.com/ropehq/rope/cluster/registry"
	"github.com/ropehq/rope/internal/wait"
)

// TestPlacementForgetsWorkersClosedUnseen: a worker created and closed
// before its server's record showed it no longer counts as placed: a
// server with maxWorkers 2 takes a third, fourth, … worker once the
// earlier ones closed. Before, each such worker counted for ever (only a
// record that grew uncounted one), and a cluster endpoint whose rooms
// came and went within a heartbeat ended up with every server full.
func TestPlacementForgetsWorkersClosedUnseen(t *testing.T) {
	_, ms, view := cluster(t, 1)
	ms[0].unlist()
	if err := ms[0].reg.Update(func(r *registry.Record) { r.MaxWorkers = 2 }); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, "maxWorkers in the view", func() bool { s, _ := view.Server("sa"); return s.MaxWorkers == 2 })
	api := newAPI(t, view)
	for i := range 5 {
		wait.Until(t, fmt.Sprintf("room for worker %d", i+1), func() bool {
			w, err := api.CreateWorker(ctxT(t), nil)
			if errors.Is(err, horizontal.ErrNoServer) {
				return false
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Close(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			return true
		})
	}
}
