package mafalda

import (
	"context"
	"sync"

	"github.com/ropehq/rope/media"
)

// transportCore is what every transport a MafaldaRouter hands out adds to
// the underlying transport: it records its producers and pipes the
// producers it consumes from other routers.
type transportCore struct {
	mr      *MafaldaRouter
	re      *routerEntry
	t       media.Transport
	wrapped media.Transport
	once    sync.Once

	onRouterClose listeners[struct{}]
}

// newTransport places a router, creates the transport there with create
// and wraps it.
func (mr *MafaldaRouter) newTransport(ctx context.Context, create func(context.Context, *routerEntry) (media.Transport, error),
	wrap func(*transportCore) media.Transport) (media.Transport, error) {
	if err := mr.checkOpen(); err != nil {
		return nil, err
	}
	re, err := mr.place(ctx, nil)
	if err != nil {
		return nil, wrapErr("place transport", err)
	}
	t, err := create(ctx, re)
	if err != nil {
		mr.m.p.release(re, mr)
		return nil, wrapErr("create transport", err)
	}
	c := &transportCore{mr: mr, re: re, t: t}
	c.wrapped = wrap(c)
	t.OnClose(c.closed)
	if !mr.addTransport(c) {
		_ = t.Close(ctx)
		return nil, media.NewError(media.ErrClosed, "mafaldaRouter %s closed", mr.id)
	}
	if t.Closed() {
		c.closed()
	}
	mr.onNewTransport.emit(c.wrapped)
	return c.wrapped, nil
}

func (mr *MafaldaRouter) addTransport(c *transportCore) bool {
	mr.m.p.mu.Lock()
	defer mr.m.p.mu.Unlock()
	if mr.closed {
		return false
	}
	mr.transports[c.t.ID()] = c
	return true
}

// closed forgets the transport and releases its router, once.
func (c *transportCore) closed() {
	c.once.Do(func() {
		m := c.mr.m
		m.p.mu.Lock()
		if c.mr.transports[c.t.ID()] == c {
			delete(c.mr.transports, c.t.ID())
		}
		m.p.mu.Unlock()
		m.p.release(c.re, c.mr)
	})
}

// closeByRouter closes the transport because its MafaldaRouter closed.
func (c *transportCore) closeByRouter(ctx context.Context) {
	if c.t.Closed() {
		return
	}
	// "routerclose" precedes the close, whose listeners (a mediaserver
	// closing the ROPE object) would otherwise hide it.
	c.onRouterClose.emit(struct{}{})
	_ = c.t.Close(ctx)
}

// onRouterCloseFn registers fn for "routerclose" from the MafaldaRouter
// and from the underlying router.
func (c *transportCore) onRouterCloseFn(fn func()) func() {
	return offAll(onFunc(&c.onRouterClose, fn), c.t.OnRouterClose(fn))
}

func (c *transportCore) produce(ctx context.Context, o *media.ProducerOptions) (media.Producer, error) {
	if o != nil && o.ID != "" && c.mr.hasOrigin(pipeRTP, o.ID) {
		return nil, media.NewError(media.ErrDuplicateID, "producer %q exists", o.ID)
	}
	p, err := c.t.Produce(ctx, o)
	if err != nil {
		return nil, wrapErr("produce", err)
	}
	c.mr.addOrigin(pipeRTP, c.re, p)
	return p, nil
}

func (c *transportCore) produceData(ctx context.Context, o *media.DataProducerOptions) (media.DataProducer, error) {
	if o != nil && o.ID != "" && c.mr.hasOrigin(pipeData, o.ID) {
		return nil, media.NewError(media.ErrDuplicateID, "dataProducer %q exists", o.ID)
	}
	p, err := c.t.ProduceData(ctx, o)
	if err != nil {
		return nil, wrapErr("produceData", err)
	}
	c.mr.addOrigin(pipeData, c.re, p)
	return p, nil
}

// consume pipes the producer to this transport's router if it lives on
// another one, then consumes it; the pipe lives as long as a consumer
// needs it.
func (c *transportCore) consume(ctx context.Context, o *media.ConsumerOptions) (media.Consumer, error) {
	var p *pipe
	if o != nil {
		var err error
		if p, err = c.mr.acquirePipe(ctx, pipeRTP, o.ProducerID, c.re); err != nil {
			return nil, err
		}
	}
	cons, err := c.t.Consume(ctx, o)
	if err != nil {
		c.mr.releasePipe(p)
		return nil, wrapErr("consume", err)
	}
	c.mr.m.p.track(c.re.worker, cons, func() { c.mr.releasePipe(p) })
	return cons, nil
}

func (c *transportCore) consumeData(ctx context.Context, o *media.DataConsumerOptions) (media.DataConsumer, error) {
	var p *pipe
	if o != nil {
		var err error
		if p, err = c.mr.acquirePipe(ctx, pipeData, o.DataProducerID, c.re); err != nil {
			return nil, err
		}
	}
	cons, err := c.t.ConsumeData(ctx, o)
	if err != nil {
		c.mr.releasePipe(p)
		return nil, wrapErr("consumeData", err)
	}
	onGone(cons, func() { c.mr.releasePipe(p) })
	return cons, nil
}

// track counts a consumer on we until it closes, then calls done.
func (p *pool) track(we *workerEntry, cons closable, done func()) {
	p.mu.Lock()
	we.consumers++
	p.mu.Unlock()
	onGone(cons, func() {
		p.mu.Lock()
		we.consumers--
		p.mu.Unlock()
		done()
	})
}

// onGone calls fn once obj has closed, even if it closed already.
func onGone(obj closable, fn func()) {
	var once sync.Once
	run := func() { once.Do(fn) }
	obj.OnClose(run)
	if obj.Closed() {
		run()
	}
}

func (mr *MafaldaRouter) hasOrigin(kind int, id string) bool {
	mr.m.p.mu.Lock()
	defer mr.m.p.mu.Unlock()
	return mr.origins[kind][id] != nil
}

// addOrigin records where a (data) producer lives until it closes.
func (mr *MafaldaRouter) addOrigin(kind int, re *routerEntry, obj closable) {
	o := &origin{re: re, obj: obj}
	at := presence{kind, obj.ID()}
	mr.m.p.mu.Lock()
	mr.origins[kind][obj.ID()] = o
	re.origins[at]++
	mr.m.p.mu.Unlock()
	onGone(obj, func() {
		mr.m.p.mu.Lock()
		if mr.origins[kind][obj.ID()] == o {
			delete(mr.origins[kind], obj.ID())
		}
		if re.origins[at]--; re.origins[at] <= 0 {
			delete(re.origins, at)
		}
		mr.m.p.mu.Unlock()
	})
}

type plainTransport struct {
	media.PlainTransport
	c *transportCore
}

func (t *plainTransport) Produce(ctx context.Context, o *media.ProducerOptions) (media.Producer, error) {
	return t.c.produce(ctx, o)
}
func (t *plainTransport) Consume(ctx context.Context, o *media.ConsumerOptions) (media.Consumer, error) {
	return t.c.consume(ctx, o)
}
func (t *plainTransport) ProduceData(ctx context.Context, o *media.DataProducerOptions) (media.DataProducer, error) {
	return t.c.produceData(ctx, o)
}
func (t *plainTransport) ConsumeData(ctx context.Context, o *media.DataConsumerOptions) (media.DataConsumer, error) {
	return t.c.consumeData(ctx, o)
}
func (t *plainTransport) OnRouterClose(fn func()) func() { return t.c.onRouterCloseFn(fn) }

type pipeTransport struct {
	media.PipeTransport
	c *transportCore
}

func (t *pipeTransport) Produce(ctx context.Context, o *media.ProducerOptions) (media.Producer, error) {
	return t.c.produce(ctx, o)
}
func (t *pipeTransport) Consume(ctx context.Context, o *media.ConsumerOptions) (media.Consumer, error) {
	return t.c.consume(ctx, o)
}
func (t *pipeTransport) ProduceData(ctx context.Context, o *media.DataProducerOptions) (media.DataProducer, error) {
	return t.c.produceData(ctx, o)
}
func (t *pipeTransport) ConsumeData(ctx context.Context, o *media.DataConsumerOptions) (media.DataConsumer, error) {
	return t.c.consumeData(ctx, o)
}
func (t *pipeTransport) OnRouterClose(fn func()) func() { return t.c.onRouterCloseFn(fn) }

type directTransport struct {
	media.DirectTransport
	c *transportCore
}

func (t *directTransport) Produce(ctx context.Context, o *media.ProducerOptions) (media.Producer, error) {
	return t.c.produce(ctx, o)
}
func (t *directTransport) Consume(ctx context.Context, o *media.ConsumerOptions) (media.Consumer, error) {
	return t.c.consume(ctx, o)
}
func (t *directTransport) ProduceData(ctx context.Context, o *media.DataProducerOptions) (media.DataProducer, error) {
	return t.c.produceData(ctx, o)
}
func (t *directTransport) ConsumeData(ctx context.Context, o *media.DataConsumerOptions) (media.DataConsumer, error) {
	return t.c.consumeData(ctx, o)
}
func (t *directTransport) OnRouterClose(fn func()) func() { return t.c.onRouterCloseFn(fn) }

type webRtcTransport struct {
	media.WebRtcTransport
	c *transportCore
}

func (t *webRtcTransport) Produce(ctx context.Context, o *media.ProducerOptions) (media.Producer, error) {
	return t.c.produce(ctx, o)
}
func (t *webRtcTransport) Consume(ctx context.Context, o *media.ConsumerOptions) (media.Consumer, error) {
	return t.c.consume(ctx, o)
}
func (t *webRtcTransport) ProduceData(ctx context.Context, o *media.DataProducerOptions) (media.DataProducer, error) {
	return t.c.produceData(ctx, o)
}
func (t *webRtcTransport) ConsumeData(ctx context.Context, o *media.DataConsumerOptions) (media.DataConsumer, error) {
	return t.c.consumeData(ctx, o)
}
func (t *webRtcTransport) OnRouterClose(fn func()) func() { return t.c.onRouterCloseFn(fn) }

var (
	_ media.PlainTransport  = (*plainTransport)(nil)
	_ media.PipeTransport   = (*pipeTransport)(nil)
	_ media.DirectTransport = (*directTransport)(nil)
	_ media.WebRtcTransport = (*webRtcTransport)(nil)
)
