package main

import (
	"context"
	"errors"
	"sync"

	"github.com/ropehq/rope/media"
)

// processes is a media.API (workerproc's) whose workers it tracks until
// their Close returns, so the server waits for every worker process at
// shutdown, also those a Mafalda is still closing from an event handler
// running on another goroutine.
type processes struct {
	media.API

	// mu guards open.
	mu   sync.Mutex
	open map[*trackedWorker]struct{}
}

func newProcesses(api media.API) *processes {
	return &processes{API: api, open: map[*trackedWorker]struct{}{}}
}

// CreateWorker creates a worker and tracks it.
func (p *processes) CreateWorker(ctx context.Context, s *media.WorkerSettings) (media.Worker, error) {
	w, err := p.API.CreateWorker(ctx, s)
	if err != nil {
		return nil, err
	}
	tw := &trackedWorker{Worker: w, p: p}
	p.mu.Lock()
	p.open[tw] = struct{}{}
	p.mu.Unlock()
	return tw, nil
}

// closeAll closes every tracked worker, waiting for those being closed.
func (p *processes) closeAll(ctx context.Context) error {
	p.mu.Lock()
	workers := make([]*trackedWorker, 0, len(p.open))
	for w := range p.open {
		workers = append(workers, w)
	}
	p.mu.Unlock()
	var errs []error
	for _, w := range workers {
		errs = append(errs, w.Close(ctx))
	}
	return errors.Join(errs...)
}

// trackedWorker is a worker that leaves its processes set once closed.
type trackedWorker struct {
	media.Worker
	p *processes
}

// ID is the worker's own id, when it has one (mediaserver uses it as the
// ROPE id).
func (w *trackedWorker) ID() string {
	if x, ok := w.Worker.(interface{ ID() string }); ok {
		return x.ID()
	}
	return ""
}

// Close closes the worker (workerproc's Close waits for the process and
// is idempotent), then stops tracking it.
func (w *trackedWorker) Close(ctx context.Context) error {
	err := w.Worker.Close(ctx)
	w.p.mu.Lock()
	delete(w.p.open, w)
	w.p.mu.Unlock()
	return err
}
