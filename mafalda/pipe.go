package mafalda

import (
	"context"
	"fmt"

	"github.com/ropehq/rope/media"
)

// Pipe kinds, also the index of MafaldaRouter.origins.
const (
	pipeRTP  = 0
	pipeData = 1
)

// pipeKey names the pipe of one (data) producer into one router.
type pipeKey struct {
	kind int
	id   string
	dst  *routerEntry
}

// pipe is a producer piped from its origin router into another router of
// the same MafaldaRouter, shared by every consumer there. Its state is
// guarded by pool.mu.
type pipe struct {
	key pipeKey
	src *routerEntry
	// refs counts the consumers (and observer entries) using it.
	refs    int
	err     error
	closing bool
	// ready is closed once creation ended (err says how), done once the
	// pipe's objects are closed and it left MafaldaRouter.pipes.
	ready, done chan struct{}
	// producer is the pipe producer in dst, consumer the pipe consumer
	// in src.
	producer, consumer closable
}

// acquirePipe returns the pipe of producer id into dst, creating it if
// needed, with one more reference; nil when the producer is unknown (the
// consume call reports it) or already lives in dst (its origin, or a
// shared router where it lives for another room).
func (mr *MafaldaRouter) acquirePipe(ctx context.Context, kind int, id string, dst *routerEntry) (*pipe, error) {
	m := mr.m
	for {
		m.p.mu.Lock()
		o := mr.origins[kind][id]
		if o == nil || o.re == dst || dst.origins[presence{kind, id}] > 0 {
			m.p.mu.Unlock()
			return nil, nil
		}
		key := pipeKey{kind, id, dst}
		p := mr.pipes[key]
		if p == nil {
			p = &pipe{key: key, src: o.re, refs: 1, ready: make(chan struct{}), done: make(chan struct{})}
			mr.pipes[key] = p
			m.p.mu.Unlock()
			if err := mr.openPipe(ctx, p); err != nil {
				return nil, err
			}
			return p, nil
		}
		if p.closing {
			m.p.mu.Unlock()
			if err := wait(ctx, p.done); err != nil {
				return nil, err
			}
			continue
		}
		p.refs++
		m.p.mu.Unlock()
		if err := wait(ctx, p.ready); err != nil {
			mr.releasePipe(p)
			return nil, err
		}
		if p.err != nil {
			return nil, p.err
		}
		return p, nil
	}
}

func wait(ctx context.Context, ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mafalda: waiting for a pipe: %w", ctx.Err())
	}
}

// openPipe creates p with Router.PipeToRouter from the origin router.
func (mr *MafaldaRouter) openPipe(ctx context.Context, p *pipe) error {
	m := mr.m
	opts := &media.PipeToRouterOptions{}
	if m.opts.PipeOptions != nil {
		*opts = *m.opts.PipeOptions
	}
	opts.Router, opts.ProducerID, opts.DataProducerID = p.key.dst.router, "", ""
	if p.key.kind == pipeRTP {
		opts.ProducerID = p.key.id
	} else {
		opts.DataProducerID = p.key.id
	}
	res, err := p.src.router.PipeToRouter(ctx, opts)
	m.p.mu.Lock()
	if err != nil {
		p.err = fmt.Errorf("mafalda: pipe %s to router %s: %w", p.key.id, p.key.dst.router.ID(), err)
		p.closing = true
		delete(mr.pipes, p.key)
		close(p.ready)
		close(p.done)
		m.p.mu.Unlock()
		return p.err
	}
	if p.key.kind == pipeRTP {
		p.producer, p.consumer = res.PipeProducer, res.PipeConsumer
		p.src.worker.consumers++
	} else {
		p.producer, p.consumer = res.PipeDataProducer, res.PipeDataConsumer
	}
	mr.pipesOpened++
	p.key.dst.piped[presence{p.key.kind, p.key.id}]++
	close(p.ready)
	m.p.mu.Unlock()
	onGone(p.producer, func() { mr.dropPipe(p) })
	return nil
}

// releasePipe drops one reference to p, closing it after the last.
func (mr *MafaldaRouter) releasePipe(p *pipe) {
	if p == nil {
		return
	}
	mr.m.p.mu.Lock()
	p.refs--
	if p.refs > 0 || p.closing {
		mr.m.p.mu.Unlock()
		return
	}
	p.closing = true
	mr.m.p.mu.Unlock()
	mr.closePipe(p)
}

// dropPipe closes p because its pipe producer closed (its producer or a
// router closed); its consumers close with it.
func (mr *MafaldaRouter) dropPipe(p *pipe) {
	mr.m.p.mu.Lock()
	if p.closing {
		mr.m.p.mu.Unlock()
		return
	}
	p.closing = true
	mr.m.p.mu.Unlock()
	mr.closePipe(p)
}

func (mr *MafaldaRouter) closePipe(p *pipe) {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	for _, obj := range []closable{p.producer, p.consumer} {
		if obj == nil {
			continue
		}
		if err := obj.Close(ctx); err != nil {
			mr.onError.emit(fmt.Errorf("mafalda: close pipe of %s: %w", p.key.id, err))
		}
	}
	mr.m.p.mu.Lock()
	if mr.pipes[p.key] == p {
		delete(mr.pipes, p.key)
	}
	if p.key.kind == pipeRTP {
		p.src.worker.consumers--
	}
	at := presence{p.key.kind, p.key.id}
	if p.key.dst.piped[at]--; p.key.dst.piped[at] <= 0 {
		delete(p.key.dst.piped, at)
	}
	close(p.done)
	mr.m.p.mu.Unlock()
}

// inboundPipe is a producer piped into a MafaldaRouter by PipeToRouter,
// which keeps its router in use until it closes.
type inboundPipe struct {
	re       *routerEntry
	producer closable
}

// PipeToRouter makes a producer or data producer of this MafaldaRouter
// available in another router. A destination MafaldaRouter places a
// router for it (never the producer's own) and its transports then
// consume it like its own producers; any other destination is piped to
// directly and must belong to the same underlying API.
func (mr *MafaldaRouter) PipeToRouter(ctx context.Context, o *media.PipeToRouterOptions) (*media.PipeToRouterResult, error) {
	if err := mr.checkOpen(); err != nil {
		return nil, err
	}
	if o == nil || (o.ProducerID == "") == (o.DataProducerID == "") {
		return nil, &media.ParamError{Field: "producerId", Reason: "exactly one of producerId and dataProducerId is required"}
	}
	kind, id := pipeRTP, o.ProducerID
	if o.DataProducerID != "" {
		kind, id = pipeData, o.DataProducerID
	}
	mr.m.p.mu.Lock()
	src := mr.origins[kind][id]
	mr.m.p.mu.Unlock()
	if src == nil {
		return nil, media.NewError(media.ErrNotFound, "producer %q not found", id)
	}
	dst, ok := o.Router.(*MafaldaRouter)
	if !ok {
		res, err := src.re.router.PipeToRouter(ctx, o)
		return res, wrapErr("pipeToRouter", err)
	}
	if dst == mr {
		return nil, &media.ParamError{Field: "router", Reason: "cannot use this router as destination"}
	}
	return dst.pipeIn(ctx, src, kind, o)
}

// pipeIn pipes a producer of another MafaldaRouter into a router of mr,
// one where no producer with its id lives yet.
func (mr *MafaldaRouter) pipeIn(ctx context.Context, src *origin, kind int, o *media.PipeToRouterOptions) (*media.PipeToRouterResult, error) {
	at := presence{kind, src.obj.ID()}
	re, err := mr.place(ctx, func(re *routerEntry) bool {
		return re == src.re || re.origins[at] > 0 || re.piped[at] > 0
	})
	if err != nil {
		return nil, wrapErr("pipeToRouter: place", err)
	}
	opts := *o
	opts.Router = re.router
	res, err := src.re.router.PipeToRouter(ctx, &opts)
	if err != nil {
		mr.m.p.release(re, mr)
		return nil, wrapErr("pipeToRouter", err)
	}
	in := &inboundPipe{re: re, producer: res.PipeDataProducer}
	if kind == pipeRTP {
		in.producer = res.PipeProducer
	}
	mr.m.p.mu.Lock()
	mr.inbound[in] = struct{}{}
	mr.m.p.mu.Unlock()
	mr.addOrigin(kind, re, in.producer)
	onGone(in.producer, func() {
		mr.m.p.mu.Lock()
		delete(mr.inbound, in)
		mr.m.p.mu.Unlock()
		mr.m.p.release(re, mr)
	})
	if mr.Closed() {
		_ = in.producer.Close(ctx)
		return nil, media.NewError(media.ErrClosed, "mafaldaRouter %s closed", mr.id)
	}
	return res, nil
}
