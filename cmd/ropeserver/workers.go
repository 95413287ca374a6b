package main

import (
	"context"
	"errors"
	"sync"

	"github.com/ropehq/rope/media"
)

// workerSet is a media.API whose workers it counts and tracks until their
// Close returns: at most max are open at once (clients of a Mafalda do
// not create workers themselves, placements do, so the mediaserver's own
// limit does not bound them), and the server waits for every worker at
// shutdown, also those a Mafalda is still closing from an event handler
// running on another goroutine.
type workerSet struct {
	media.API
	max int

	// mu guards open and creating.
	mu       sync.Mutex
	open     map[*trackedWorker]struct{}
	creating int
}

func newWorkerSet(api media.API, max int) *workerSet {
	return &workerSet{API: api, max: max, open: map[*trackedWorker]struct{}{}}
}

// CreateWorker creates a worker and tracks it; beyond max it fails with
// media.ErrInvalidState.
func (ws *workerSet) CreateWorker(ctx context.Context, s *media.WorkerSettings) (media.Worker, error) {
	ws.mu.Lock()
	if ws.max > 0 && len(ws.open)+ws.creating >= ws.max {
		ws.mu.Unlock()
		return nil, media.NewError(media.ErrInvalidState, "at most %d workers may be open", ws.max)
	}
	ws.creating++
	ws.mu.Unlock()
	w, err := ws.API.CreateWorker(ctx, s)
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.creating--
	if err != nil {
		return nil, err
	}
	tw := &trackedWorker{Worker: w, set: ws}
	ws.open[tw] = struct{}{}
	return tw, nil
}

// closeAll closes every tracked worker, waiting for those being closed.
func (ws *workerSet) closeAll(ctx context.Context) error {
	ws.mu.Lock()
	workers := make([]*trackedWorker, 0, len(ws.open))
	for w := range ws.open {
		workers = append(workers, w)
	}
	ws.mu.Unlock()
	var errs []error
	for _, w := range workers {
		errs = append(errs, w.Close(ctx))
	}
	return errors.Join(errs...)
}

// trackedWorker is a worker that leaves its set once closed.
type trackedWorker struct {
	media.Worker
	set *workerSet
}

// ID is the worker's own id, when it has one (mediaserver uses it as the
// ROPE id).
func (w *trackedWorker) ID() string {
	if x, ok := w.Worker.(interface{ ID() string }); ok {
		return x.ID()
	}
	return ""
}

// Close closes the worker (Close is idempotent and, for a worker process,
// waits for the process), then stops tracking it.
func (w *trackedWorker) Close(ctx context.Context) error {
	err := w.Worker.Close(ctx)
	w.set.mu.Lock()
	delete(w.set.open, w)
	w.set.mu.Unlock()
	return err
}
