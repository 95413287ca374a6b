package horizontal

import (
	"context"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/crosspipe"
)

// worker is a worker of one of the cluster's servers.
type worker struct {
	media.Worker
	m *member
}

var _ media.Worker = (*worker)(nil)

// CreateRouter creates a router on the worker's server.
func (w *worker) CreateRouter(ctx context.Context, opts *media.RouterOptions) (media.Router, error) {
	r, err := w.Worker.CreateRouter(ctx, opts)
	if err != nil {
		return nil, err
	}
	return w.m.router(r), nil
}

// OnNewRouter fires with the worker's new routers, the same values
// CreateRouter returns.
func (w *worker) OnNewRouter(fn func(media.Router)) func() {
	return w.Worker.OnNewRouter(func(r media.Router) { fn(w.m.router(r)) })
}

// router is a router of one of the cluster's servers.
type router struct {
	media.Router
	m *member
}

var _ media.Router = (*router)(nil)

// PipeToRouter pipes a producer to o.Router. On the same server the
// server pipes (between its workers, processes included); to a router on
// another server, a pair of pipe transports listening on each server's
// media address carries it (o.ListenInfo's protocol is kept, its address
// is not: each server listens where it announces).
func (r *router) PipeToRouter(ctx context.Context, o *media.PipeToRouterOptions) (*media.PipeToRouterResult, error) {
	if o == nil || o.Router == nil {
		return r.Router.PipeToRouter(ctx, o)
	}
	dst, ok := o.Router.(*router)
	if !ok {
		return nil, media.NewError(media.ErrInvalidParams, "horizontal: the destination router is not one of this cluster's")
	}
	if dst.m == r.m {
		same := *o
		same.Router = dst.Router
		return r.Router.PipeToRouter(ctx, &same)
	}
	return r.m.api.pipes.Pipe(ctx,
		crosspipe.Side{Router: r.Router, ListenInfo: r.m.listenInfo(o.ListenInfo)},
		crosspipe.Side{Router: dst.Router, ListenInfo: dst.m.listenInfo(o.ListenInfo)},
		o)
}
