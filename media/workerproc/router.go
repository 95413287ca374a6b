package workerproc

import (
	"context"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/crosspipe"
)

// router is a router of a worker process. Piping to a router in another
// process goes through a pair of pipe transports, as mediasoup's
// pipeToRouter does between workers; within one process the server pipes.
type router struct {
	media.Router
	w *worker
}

var _ media.Router = (*router)(nil)

// CreateRouter creates a router in the child.
func (w *worker) CreateRouter(ctx context.Context, opts *media.RouterOptions) (media.Router, error) {
	r, err := w.Worker.CreateRouter(ctx, opts)
	if err != nil {
		return nil, err
	}
	return w.router(r), nil
}

// OnNewRouter fires with the child's new routers, the values CreateRouter
// returns.
func (w *worker) OnNewRouter(fn func(media.Router)) func() {
	return w.Worker.OnNewRouter(func(r media.Router) { fn(w.router(r)) })
}

// router returns the one wrapper of a mediaclient router (mediaclient
// keeps one value per mirror object), making it on first use: the value
// CreateRouter returns is the value OnNewRouter reports, so whoever keys
// routers by value (mediaserver does) sees one router.
func (w *worker) router(inner media.Router) *router {
	w.mu.Lock()
	defer w.mu.Unlock()
	if r, ok := w.routers[inner]; ok {
		return r
	}
	r := &router{Router: inner, w: w}
	if inner.Closed() {
		return r
	}
	if w.routers == nil {
		w.routers = map[media.Router]*router{}
	}
	w.routers[inner] = r
	inner.OnClose(func() {
		w.mu.Lock()
		delete(w.routers, inner)
		w.mu.Unlock()
	})
	return r
}

// PipeToRouter pipes a producer or a data producer to o.Router; across
// processes through a pair of pipe transports per pair of routers on
// o.ListenInfo (default UDP on 127.0.0.1), with SCTP unless
// o.EnableSctp is false, as mediasoup's pipeToRouter does between
// workers (media/crosspipe).
func (r *router) PipeToRouter(ctx context.Context, o *media.PipeToRouterOptions) (*media.PipeToRouterResult, error) {
	if o == nil || o.Router == nil {
		return r.Router.PipeToRouter(ctx, o)
	}
	dst, ok := o.Router.(*router)
	if ok && dst.w == r.w {
		same := *o
		same.Router = dst.Router
		return r.Router.PipeToRouter(ctx, &same)
	}
	if !ok {
		return nil, media.NewError(media.ErrInvalidParams, "workerproc: the destination router is not a worker process's")
	}
	li := o.ListenInfo
	if li == nil {
		li = &media.TransportListenInfo{Protocol: media.ProtocolUDP, IP: "127.0.0.1"}
	}
	return r.w.api.pipes.Pipe(ctx, crosspipe.Side{Router: r, ListenInfo: li}, crosspipe.Side{Router: dst, ListenInfo: li}, o)
}
