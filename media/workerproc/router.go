package workerproc

import (
	"context"
	"fmt"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediaclient"
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

// PipeToRouter pipes a producer to o.Router; across processes only RTP
// producers are piped (data producers answer media.ErrUnsupported).
func (r *router) PipeToRouter(ctx context.Context, o *media.PipeToRouterOptions) (*media.PipeToRouterResult, error) {
	if o == nil || o.Router == nil {
		return r.Router.PipeToRouter(ctx, o)
	}
	if dst, ok := o.Router.(*router); ok && dst.w == r.w {
		same := *o
		same.Router = dst.Router
		return r.Router.PipeToRouter(ctx, &same)
	}
	if o.ProducerID == "" {
		return nil, media.NewError(media.ErrUnsupported, "workerproc: piping data producers between worker processes")
	}
	return pipeAcross(ctx, r, o)
}

// pipeAcross connects two pipe transports, consumes the producer on the
// source one and produces it, same id, on the destination one. Each side
// closes with the other; the producer's pause and resume follow.
func pipeAcross(ctx context.Context, src media.Router, o *media.PipeToRouterOptions) (res *media.PipeToRouterResult, err error) {
	li := o.ListenInfo
	if li == nil {
		li = &media.TransportListenInfo{Protocol: media.ProtocolUDP, IP: "127.0.0.1"}
	}
	topts := &media.PipeTransportOptions{ListenInfo: li, EnableRtx: o.EnableRtx, EnableSrtp: o.EnableSrtp}
	var made []interface{ Close(context.Context) error }
	defer func() {
		if err != nil {
			for _, m := range made {
				_ = m.Close(context.WithoutCancel(ctx))
			}
		}
	}()
	local, err := src.CreatePipeTransport(ctx, topts)
	if err != nil {
		return nil, err
	}
	made = append(made, local)
	remote, err := o.Router.CreatePipeTransport(ctx, topts)
	if err != nil {
		return nil, err
	}
	made = append(made, remote)
	if err := local.Connect(ctx, connectTo(remote)); err != nil {
		return nil, err
	}
	if err := remote.Connect(ctx, connectTo(local)); err != nil {
		return nil, err
	}
	pc, err := local.Consume(ctx, &media.ConsumerOptions{ProducerID: o.ProducerID})
	if err != nil {
		return nil, err
	}
	pp, err := remote.Produce(ctx, &media.ProducerOptions{ID: o.ProducerID, Kind: pc.Kind(),
		RtpParameters: pc.RtpParameters(), Paused: pc.ProducerPaused(), AppData: media.AppData{}})
	if err != nil {
		return nil, fmt.Errorf("workerproc: pipe producer: %w", err)
	}
	// The pair's transports go with the pipe: a closed pipe consumer
	// (its producer closed) closes the pipe producer, whose consumers get
	// producerclose, and the other way round. The callbacks run on the
	// clients' event goroutines, which may call back.
	// Failures are ignored: a side whose process went has nothing left.
	bg := context.WithoutCancel(ctx)
	closeAll := func() {
		ctx, cancel := context.WithTimeout(bg, mediaclient.DefaultTimeout)
		defer cancel()
		for _, m := range []interface{ Close(context.Context) error }{pc, pp, local, remote} {
			_ = m.Close(ctx)
		}
	}
	follow := func(fn func(context.Context) error) func() {
		return func() {
			ctx, cancel := context.WithTimeout(bg, mediaclient.DefaultTimeout)
			defer cancel()
			_ = fn(ctx)
		}
	}
	pc.OnClose(closeAll)
	pp.OnClose(closeAll)
	pc.OnProducerPause(follow(pp.Pause))
	pc.OnProducerResume(follow(pp.Resume))
	return &media.PipeToRouterResult{PipeConsumer: pc, PipeProducer: pp}, nil
}

func connectTo(t media.PipeTransport) *media.PipeTransportConnectOptions {
	tu := t.Tuple()
	return &media.PipeTransportConnectOptions{IP: tu.LocalAddress, Port: tu.LocalPort, SrtpParameters: t.SrtpParameters()}
}
