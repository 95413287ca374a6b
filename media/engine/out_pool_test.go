package engine_test

import (
	"testing"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
)

// waitOutBuffersBack waits until every packet buffer w's consumers
// borrowed is back in its pool (none held once their queues are sent).
func waitOutBuffersBack(t *testing.T, w media.Worker) {
	t.Helper()
	wait.Until(t, "consumers' packet buffers back in the worker's pool", func() bool {
		made, free := engine.OutBuffers(w)
		return made == free
	})
}
