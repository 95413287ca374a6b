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

// pipe is a producer piped into router dst of a MafaldaRouter from src,
// the router before dst on the producer's path in the MafaldaRouter's
// tree (tree.go): its origin, or a relay that the hop up brought it to.
// Every consumer on dst shares it, as do the next hops piping it on from
// dst. It keeps a use of dst, so a relay stays while a pipe needs it,
// and a reference to up. Its state is guarded by pool.mu.
type pipe struct {
	key pipeKey
	src *routerEntry
	// up is the hop into src; nil when the producer lives in src.
	up *pipe
	// refs counts the consumers, observer entries and next hops using
	// it; next the next hops among them.
	refs, next int
	err        error
	closing    bool
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
// shared router where it lives for another room). Creating it pipes the
// producer hop by hop along the tree path from the nearest router that
// has it, reusing the pipes already open on the way.
func (mr *MafaldaRouter) acquirePipe(ctx context.Context, kind int, id string, dst *routerEntry) (*pipe, error) {
	for {
		mr.m.p.mu.Lock()
		chain, reached, busy := mr.reservePathLocked(kind, id, dst)
		mr.m.p.mu.Unlock()
		if busy == nil {
			return mr.openPath(ctx, chain, reached)
		}
		if err := wait(ctx, busy.done); err != nil {
			return nil, err
		}
	}
}

// reservePathLocked walks from dst towards the producer's origin along
// mr's tree until a router where the producer lives or an open pipe of
// it (reached, given one more reference). It registers a pipe for each
// hop walked, dst's first, each with one reference (the caller's for
// chain[0], the next hop's for the others) and a use of its router.
// busy is a closing pipe met on the way; nothing is reserved then.
func (mr *MafaldaRouter) reservePathLocked(kind int, id string, dst *routerEntry) (chain []*pipe, reached, busy *pipe) {
	o := mr.origins[kind][id]
	if o == nil {
		return nil, nil, nil
	}
	mr.syncTreeLocked()
	at := presence{kind, id}
	var hops [][2]*routerEntry // {dst, src} of each hop
	for re := dst; re != o.re && re.origins[at] == 0; {
		if p := mr.pipes[pipeKey{kind, id, re}]; p != nil {
			if p.closing {
				return nil, nil, p
			}
			reached = p
			break
		}
		src := mr.prevHopLocked(o.re, re)
		if len(hops) > len(mr.slots) {
			src = o.re // cannot happen in one tree; never loop
		}
		hops = append(hops, [2]*routerEntry{re, src})
		re = src
	}
	if reached != nil {
		reached.refs++
		if len(hops) > 0 {
			reached.next++
		}
	}
	chain = make([]*pipe, len(hops))
	for i, h := range hops {
		p := &pipe{key: pipeKey{kind, id, h[0]}, src: h[1], refs: 1, ready: make(chan struct{}), done: make(chan struct{})}
		if i > 0 {
			p.next = 1
			chain[i-1].up = p
		}
		mr.pipes[p.key] = p
		useLocked(h[0], mr)
		chain[i] = p
	}
	if len(chain) > 0 {
		chain[len(chain)-1].up = reached
	}
	return chain, reached, nil
}

// openPath waits for the pipe reached, then opens the hops of chain
// from the one next to it to dst's, and returns dst's pipe. On failure
// no hop of chain is left, nor the references they held.
func (mr *MafaldaRouter) openPath(ctx context.Context, chain []*pipe, reached *pipe) (*pipe, error) {
	if reached != nil {
		err := wait(ctx, reached.ready)
		if err == nil {
			err = reached.err
		}
		if err != nil {
			if len(chain) == 0 {
				mr.releasePipe(reached)
			}
			mr.failPath(chain, err)
			return nil, err
		}
	}
	for i := len(chain) - 1; i >= 0; i-- {
		if err := mr.openPipe(ctx, chain[i]); err != nil {
			mr.failPath(chain[:i+1], err)
			return nil, err
		}
	}
	if len(chain) == 0 {
		return reached, nil
	}
	return chain[0], nil
}

func wait(ctx context.Context, ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mafalda: waiting for a pipe: %w", ctx.Err())
	}
}

// openPipe creates p with Router.PipeToRouter from its source router.
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
	if err != nil {
		return fmt.Errorf("mafalda: pipe %s to router %s: %w", p.key.id, p.key.dst.router.ID(), err)
	}
	m.p.mu.Lock()
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

// failPath ends the hops of chain (dst's first) that could not open with
// err, and drops the reference the last one held on the pipe before it.
func (mr *MafaldaRouter) failPath(chain []*pipe, err error) {
	if len(chain) == 0 {
		return
	}
	mr.m.p.mu.Lock()
	for _, p := range chain {
		p.err, p.closing = err, true
		if mr.pipes[p.key] == p {
			delete(mr.pipes, p.key)
		}
		close(p.ready)
		close(p.done)
	}
	mr.m.p.mu.Unlock()
	for _, p := range chain {
		mr.m.p.release(p.key.dst, mr)
	}
	mr.releaseHop(chain[len(chain)-1].up)
}

// releasePipe drops one reference to p, closing it after the last.
func (mr *MafaldaRouter) releasePipe(p *pipe) { mr.release(p, false) }

// releaseHop drops the reference of a next hop to p.
func (mr *MafaldaRouter) releaseHop(p *pipe) { mr.release(p, true) }

func (mr *MafaldaRouter) release(p *pipe, hop bool) {
	if p == nil {
		return
	}
	mr.m.p.mu.Lock()
	p.refs--
	if hop {
		p.next--
	}
	if p.refs > 0 || p.closing {
		mr.m.p.mu.Unlock()
		return
	}
	p.closing = true
	mr.m.p.mu.Unlock()
	mr.closePipe(p)
}

// dropPipe closes p because its pipe producer closed (its producer, a
// router or a relay before it closed); its consumers close with it, and
// the hops after it with their pipe consumers.
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

// closePipe closes p's objects, then gives back what it held: its
// reference to the hop before it, which closes in turn if nothing else
// needs it, and its use of dst, which closes if idle.
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
	mr.releaseHop(p.up)
	mr.m.p.release(p.key.dst, mr)
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
