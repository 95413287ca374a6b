package mediaclient_test

import (
	"context"
	"sync"

	"github.com/google/uuid"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/event"
)

// The local engine has no RTP observers yet: fakeAPI wraps it and adds
// in-memory ones, so the observer types can be tested end to end.

type fakeAPI struct {
	media.API
	// observers receives every observer created.
	observers chan *fakeObserver
	// hidden, when set, is the router behind fake WebRtcTransports, which
	// are sent to webrtc.
	hidden media.Router
	webrtc chan *fakeWebRtc
}

func (a *fakeAPI) CreateWorker(ctx context.Context, s *media.WorkerSettings) (media.Worker, error) {
	w, err := a.API.CreateWorker(ctx, s)
	if err != nil {
		return nil, err
	}
	return &fakeWorker{Worker: w, api: a, routers: map[media.Router]media.Router{}}, nil
}

type fakeWorker struct {
	media.Worker
	api *fakeAPI

	// mu guards routers.
	mu      sync.Mutex
	routers map[media.Router]media.Router
}

// wrap returns the one fake router of an engine router.
func (w *fakeWorker) wrap(r media.Router) media.Router {
	w.mu.Lock()
	defer w.mu.Unlock()
	if f, ok := w.routers[r]; ok {
		return f
	}
	f := &fakeRouter{Router: r, api: w.api, producers: map[string]media.Producer{}}
	w.routers[r] = f
	if w.api.hidden != nil {
		w.routers[r] = &webRtcRouter{fakeRouter: f, hidden: w.api.hidden, made: w.api.webrtc}
	}
	r.OnNewTransport(func(t media.Transport) {
		t.OnNewProducer(func(p media.Producer) {
			f.mu.Lock()
			f.producers[p.ID()] = p
			f.mu.Unlock()
		})
	})
	r.OnClose(func() {
		f.mu.Lock()
		obs := f.observers
		f.mu.Unlock()
		for _, o := range obs {
			o.close(true)
		}
	})
	return w.routers[r]
}

func (w *fakeWorker) CreateRouter(ctx context.Context, o *media.RouterOptions) (media.Router, error) {
	r, err := w.Worker.CreateRouter(ctx, o)
	if err != nil {
		return nil, err
	}
	return w.wrap(r), nil
}

func (w *fakeWorker) OnNewRouter(fn func(media.Router)) func() {
	return w.Worker.OnNewRouter(func(r media.Router) { fn(w.wrap(r)) })
}

type fakeRouter struct {
	media.Router
	api *fakeAPI

	// mu guards producers and observers.
	mu        sync.Mutex
	producers map[string]media.Producer
	observers []*fakeObserver

	onNewObserver event.Listeners[media.RtpObserver]
}

func (r *fakeRouter) OnNewRtpObserver(fn func(media.RtpObserver)) func() {
	return r.onNewObserver.On(fn)
}

func (r *fakeRouter) newObserver(audio bool) media.RtpObserver {
	o := &fakeObserver{id: uuid.NewString(), router: r}
	if audio {
		o.outer = &fakeAudioLevel{o}
	} else {
		o.outer = &fakeActiveSpeaker{o}
	}
	r.mu.Lock()
	r.observers = append(r.observers, o)
	r.mu.Unlock()
	r.onNewObserver.Emit(o.outer)
	r.api.observers <- o
	return o.outer
}

func (r *fakeRouter) CreateAudioLevelObserver(context.Context, *media.AudioLevelObserverOptions) (media.AudioLevelObserver, error) {
	return r.newObserver(true).(*fakeAudioLevel), nil
}

func (r *fakeRouter) CreateActiveSpeakerObserver(context.Context, *media.ActiveSpeakerObserverOptions) (media.ActiveSpeakerObserver, error) {
	return r.newObserver(false).(*fakeActiveSpeaker), nil
}

// fakeObserver is both observer kinds; the wrappers below pick one.
type fakeObserver struct {
	id     string
	router *fakeRouter
	// outer is the one wrapper the observer is known by.
	outer media.RtpObserver

	// mu guards paused and closed.
	mu             sync.Mutex
	paused, closed bool

	onClose, onRouterClose, onPause, onResume, onSilence event.Listeners[struct{}]
	onAdd, onRemove, onDominant                          event.Listeners[media.Producer]
	onVolumes                                            event.Listeners[[]media.AudioLevelObserverVolume]
}

func (o *fakeObserver) ID() string { return o.id }
func (o *fakeObserver) Closed() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.closed
}
func (o *fakeObserver) Paused() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.paused
}
func (o *fakeObserver) AppData() media.AppData   { return nil }
func (o *fakeObserver) SetAppData(media.AppData) {}

func (o *fakeObserver) Close(context.Context) error { o.close(false); return nil }

func (o *fakeObserver) close(byRouter bool) {
	o.mu.Lock()
	already := o.closed
	o.closed = true
	o.mu.Unlock()
	if already {
		return
	}
	if byRouter {
		o.onRouterClose.Emit(struct{}{})
	}
	o.onClose.Emit(struct{}{})
}

func (o *fakeObserver) setPaused(p bool, l *event.Listeners[struct{}]) error {
	o.mu.Lock()
	o.paused = p
	o.mu.Unlock()
	l.Emit(struct{}{})
	return nil
}

func (o *fakeObserver) Pause(context.Context) error  { return o.setPaused(true, &o.onPause) }
func (o *fakeObserver) Resume(context.Context) error { return o.setPaused(false, &o.onResume) }

func (o *fakeObserver) producer(id string) (media.Producer, error) {
	o.router.mu.Lock()
	defer o.router.mu.Unlock()
	p, ok := o.router.producers[id]
	if !ok {
		return nil, media.NewError(media.ErrNotFound, "producer %q not found", id)
	}
	return p, nil
}

func (o *fakeObserver) AddProducer(_ context.Context, x media.RtpObserverAddRemoveProducerOptions) error {
	p, err := o.producer(x.ProducerID)
	if err == nil {
		o.onAdd.Emit(p)
	}
	return err
}

func (o *fakeObserver) RemoveProducer(_ context.Context, x media.RtpObserverAddRemoveProducerOptions) error {
	p, err := o.producer(x.ProducerID)
	if err == nil {
		o.onRemove.Emit(p)
	}
	return err
}

func (o *fakeObserver) OnClose(fn func()) func()       { return o.onClose.On(event.Func(fn)) }
func (o *fakeObserver) OnRouterClose(fn func()) func() { return o.onRouterClose.On(event.Func(fn)) }
func (o *fakeObserver) OnPause(fn func()) func()       { return o.onPause.On(event.Func(fn)) }
func (o *fakeObserver) OnResume(fn func()) func()      { return o.onResume.On(event.Func(fn)) }
func (o *fakeObserver) OnAddProducer(fn func(media.Producer)) func() {
	return o.onAdd.On(fn)
}
func (o *fakeObserver) OnRemoveProducer(fn func(media.Producer)) func() {
	return o.onRemove.On(fn)
}

type fakeAudioLevel struct{ *fakeObserver }

func (o *fakeAudioLevel) OnVolumes(fn func([]media.AudioLevelObserverVolume)) func() {
	return o.onVolumes.On(fn)
}
func (o *fakeAudioLevel) OnSilence(fn func()) func() { return o.onSilence.On(event.Func(fn)) }

type fakeActiveSpeaker struct{ *fakeObserver }

func (o *fakeActiveSpeaker) OnDominantSpeaker(fn func(media.Producer)) func() {
	return o.onDominant.On(fn)
}

var (
	_ media.AudioLevelObserver    = (*fakeAudioLevel)(nil)
	_ media.ActiveSpeakerObserver = (*fakeActiveSpeaker)(nil)
)
