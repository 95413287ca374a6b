package mafalda

import (
	"context"
	"sync"

	"github.com/ropehq/rope/media"
)

// observerCore is what every RTP observer a MafaldaRouter hands out adds
// to the underlying one: producers of other routers are piped to it, and
// its events report the producers the room's transports returned, not
// the pipe producers.
type observerCore struct {
	mr      *MafaldaRouter
	re      *routerEntry
	o       media.RtpObserver
	wrapped media.RtpObserver
	once    sync.Once

	// pipes, guarded by pool.mu, are the pipes of the producers added.
	pipes map[string]*pipe

	onRouterClose listeners[struct{}]
}

// newObserver places a router, creates the observer there with create
// and wraps it.
func (mr *MafaldaRouter) newObserver(ctx context.Context, create func(context.Context, media.Router) (media.RtpObserver, error),
	wrap func(*observerCore) media.RtpObserver) (media.RtpObserver, error) {
	if err := mr.checkOpen(); err != nil {
		return nil, err
	}
	re, err := mr.place(ctx, nil)
	if err != nil {
		return nil, wrapErr("place observer", err)
	}
	o, err := create(ctx, re.router)
	if err != nil {
		mr.m.p.release(re, mr)
		return nil, wrapErr("create observer", err)
	}
	c := &observerCore{mr: mr, re: re, o: o, pipes: map[string]*pipe{}}
	c.wrapped = wrap(c)
	o.OnClose(c.closed)
	mr.m.p.mu.Lock()
	open := !mr.closed
	if open {
		mr.observers[o.ID()] = c
	}
	mr.m.p.mu.Unlock()
	if !open {
		_ = o.Close(ctx)
		return nil, media.NewError(media.ErrClosed, "mafaldaRouter %s closed", mr.id)
	}
	if o.Closed() {
		c.closed()
	}
	mr.onNewRtpObserver.emit(c.wrapped)
	return c.wrapped, nil
}

// closed releases the observer's pipes and router, once.
func (c *observerCore) closed() {
	c.once.Do(func() {
		m := c.mr.m
		m.p.mu.Lock()
		if c.mr.observers[c.o.ID()] == c {
			delete(c.mr.observers, c.o.ID())
		}
		pipes := c.pipes
		c.pipes = map[string]*pipe{}
		m.p.mu.Unlock()
		for _, p := range pipes {
			c.mr.releasePipe(p)
		}
		m.p.release(c.re, c.mr)
	})
}

func (c *observerCore) closeByRouter(ctx context.Context) {
	if c.o.Closed() {
		return
	}
	// "routerclose" precedes the close, as for transports.
	c.onRouterClose.emit(struct{}{})
	_ = c.o.Close(ctx)
}

func (c *observerCore) addProducer(ctx context.Context, opts media.RtpObserverAddRemoveProducerOptions) error {
	p, err := c.mr.acquirePipe(ctx, pipeRTP, opts.ProducerID, c.re)
	if err != nil {
		return err
	}
	if err := c.o.AddProducer(ctx, opts); err != nil {
		c.mr.releasePipe(p)
		return wrapErr("addProducer", err)
	}
	if p == nil {
		return nil
	}
	c.mr.m.p.mu.Lock()
	old := c.pipes[opts.ProducerID]
	if old == nil {
		c.pipes[opts.ProducerID] = p
	}
	c.mr.m.p.mu.Unlock()
	if old != nil {
		c.mr.releasePipe(p)
	}
	return nil
}

func (c *observerCore) removeProducer(ctx context.Context, opts media.RtpObserverAddRemoveProducerOptions) error {
	err := c.o.RemoveProducer(ctx, opts)
	c.mr.m.p.mu.Lock()
	p := c.pipes[opts.ProducerID]
	delete(c.pipes, opts.ProducerID)
	c.mr.m.p.mu.Unlock()
	c.mr.releasePipe(p)
	return wrapErr("removeProducer", err)
}

func (c *observerCore) onRouterCloseFn(fn func()) func() {
	return offAll(onFunc(&c.onRouterClose, fn), c.o.OnRouterClose(fn))
}

// origin is the producer the room knows by p's id: the one its transport
// returned, where the underlying observer reports the pipe producer that
// brought it to the observer's router. Without one (closed meanwhile) it
// is p.
func (c *observerCore) origin(p media.Producer) media.Producer {
	if p == nil {
		return nil
	}
	c.mr.m.p.mu.Lock()
	o := c.mr.origins[pipeRTP][p.ID()]
	c.mr.m.p.mu.Unlock()
	if o != nil {
		if op, ok := o.obj.(media.Producer); ok {
			return op
		}
	}
	return p
}

// producerEvent registers fn on an event of the underlying observer that
// reports a producer, reporting its origin instead.
func (c *observerCore) producerEvent(on func(func(media.Producer)) func(), fn func(media.Producer)) func() {
	if fn == nil {
		return func() {}
	}
	return on(func(p media.Producer) { fn(c.origin(p)) })
}

// CreateAudioLevelObserver creates an audio level observer on a placed
// router; producers added from other routers are piped to it.
func (mr *MafaldaRouter) CreateAudioLevelObserver(ctx context.Context, o *media.AudioLevelObserverOptions) (media.AudioLevelObserver, error) {
	obs, err := mr.newObserver(ctx, func(ctx context.Context, r media.Router) (media.RtpObserver, error) {
		return r.CreateAudioLevelObserver(ctx, o)
	}, func(c *observerCore) media.RtpObserver { return &audioLevelObserver{c.o.(media.AudioLevelObserver), c} })
	if err != nil {
		return nil, err
	}
	return obs.(media.AudioLevelObserver), nil
}

// CreateActiveSpeakerObserver creates an active speaker observer on a
// placed router; producers added from other routers are piped to it.
func (mr *MafaldaRouter) CreateActiveSpeakerObserver(ctx context.Context, o *media.ActiveSpeakerObserverOptions) (media.ActiveSpeakerObserver, error) {
	obs, err := mr.newObserver(ctx, func(ctx context.Context, r media.Router) (media.RtpObserver, error) {
		return r.CreateActiveSpeakerObserver(ctx, o)
	}, func(c *observerCore) media.RtpObserver {
		return &activeSpeakerObserver{c.o.(media.ActiveSpeakerObserver), c}
	})
	if err != nil {
		return nil, err
	}
	return obs.(media.ActiveSpeakerObserver), nil
}

type audioLevelObserver struct {
	media.AudioLevelObserver
	c *observerCore
}

func (o *audioLevelObserver) AddProducer(ctx context.Context, opts media.RtpObserverAddRemoveProducerOptions) error {
	return o.c.addProducer(ctx, opts)
}
func (o *audioLevelObserver) RemoveProducer(ctx context.Context, opts media.RtpObserverAddRemoveProducerOptions) error {
	return o.c.removeProducer(ctx, opts)
}
func (o *audioLevelObserver) OnRouterClose(fn func()) func() { return o.c.onRouterCloseFn(fn) }
func (o *audioLevelObserver) OnAddProducer(fn func(media.Producer)) func() {
	return o.c.producerEvent(o.AudioLevelObserver.OnAddProducer, fn)
}
func (o *audioLevelObserver) OnRemoveProducer(fn func(media.Producer)) func() {
	return o.c.producerEvent(o.AudioLevelObserver.OnRemoveProducer, fn)
}

// OnVolumes reports the producers the room knows (origin).
func (o *audioLevelObserver) OnVolumes(fn func([]media.AudioLevelObserverVolume)) func() {
	if fn == nil {
		return func() {}
	}
	return o.AudioLevelObserver.OnVolumes(func(v []media.AudioLevelObserverVolume) {
		out := make([]media.AudioLevelObserverVolume, len(v))
		for i, e := range v {
			out[i] = media.AudioLevelObserverVolume{Producer: o.c.origin(e.Producer), Volume: e.Volume}
		}
		fn(out)
	})
}

type activeSpeakerObserver struct {
	media.ActiveSpeakerObserver
	c *observerCore
}

func (o *activeSpeakerObserver) AddProducer(ctx context.Context, opts media.RtpObserverAddRemoveProducerOptions) error {
	return o.c.addProducer(ctx, opts)
}
func (o *activeSpeakerObserver) RemoveProducer(ctx context.Context, opts media.RtpObserverAddRemoveProducerOptions) error {
	return o.c.removeProducer(ctx, opts)
}
func (o *activeSpeakerObserver) OnRouterClose(fn func()) func() { return o.c.onRouterCloseFn(fn) }
func (o *activeSpeakerObserver) OnAddProducer(fn func(media.Producer)) func() {
	return o.c.producerEvent(o.ActiveSpeakerObserver.OnAddProducer, fn)
}
func (o *activeSpeakerObserver) OnRemoveProducer(fn func(media.Producer)) func() {
	return o.c.producerEvent(o.ActiveSpeakerObserver.OnRemoveProducer, fn)
}
func (o *activeSpeakerObserver) OnDominantSpeaker(fn func(media.Producer)) func() {
	return o.c.producerEvent(o.ActiveSpeakerObserver.OnDominantSpeaker, fn)
}

var (
	_ media.AudioLevelObserver    = (*audioLevelObserver)(nil)
	_ media.ActiveSpeakerObserver = (*activeSpeakerObserver)(nil)
)
