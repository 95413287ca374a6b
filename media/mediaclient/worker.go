package mediaclient

import (
	"context"
	"errors"

	"github.com/ropehq/rope/media"
)

type worker struct{ *base }

var _ media.Worker = (*worker)(nil)

// PID is the server worker's process id.
func (w *worker) PID() int                        { return get[int](w.base, "pid") }
func (w *worker) Died() bool                      { return get[bool](w.base, "died") || w.c.buried.Load() }
func (w *worker) Close(ctx context.Context) error { return w.close(ctx) }

func (w *worker) Dump(ctx context.Context) (*media.WorkerDump, error) {
	var d media.WorkerDump
	return &d, w.call(ctx, "dump", nil, &d)
}

func (w *worker) GetResourceUsage(ctx context.Context) (*media.WorkerResourceUsage, error) {
	var u media.WorkerResourceUsage
	return &u, w.call(ctx, "getResourceUsage", nil, &u)
}

func (w *worker) UpdateSettings(ctx context.Context, s *media.WorkerUpdateableSettings) error {
	return w.call(ctx, "updateSettings", orEmpty(s), nil)
}

func (w *worker) CreateRouter(ctx context.Context, opts *media.RouterOptions) (media.Router, error) {
	o, err := w.create(ctx, "createRouter", orEmpty(opts))
	if err != nil {
		return nil, err
	}
	return w.c.wrap(o).(*router), nil
}

func (w *worker) CreateWebRtcServer(ctx context.Context, opts *media.WebRtcServerOptions) (media.WebRtcServer, error) {
	o, err := w.create(ctx, "createWebRtcServer", orEmpty(opts))
	if err != nil {
		return nil, err
	}
	return w.c.wrap(o).(*webRtcServer), nil
}

func (w *worker) OnNewWebRtcServer(fn func(media.WebRtcServer)) func() {
	return w.onChild(func(x any) { fn(x.(media.WebRtcServer)) }, typeWebRtcServer)
}

// OnDied fires with the server's reason when the worker dies.
func (w *worker) OnDied(fn func(error)) func() {
	return onData(w.base, "died", func(msg string) { fn(errors.New(msg)) })
}

func (w *worker) OnNewRouter(fn func(media.Router)) func() {
	return w.onChild(func(x any) { fn(x.(media.Router)) }, typeRouter)
}
