package mafalda

import (
	"context"
	"fmt"
	"sort"

	"github.com/ropehq/rope/media"
)

// MafaldaRouter is one room's router spanning as many workers as its load
// needs. It satisfies media.Router: transports and observers it creates
// live on one of its routers, and their Consume and ConsumeData reach
// producers on any of them.
type MafaldaRouter struct {
	m    *Mafalda
	id   string
	opts MafaldaRouterOptions
	caps media.RtpCapabilities
	wkey string // worker settings key
	rkey string // router options key
	skey string // WebRtcServerOptions key; "" without

	// Guarded by m.p.mu.
	closed     bool
	appData    media.AppData
	transports map[string]*transportCore
	observers  map[string]*observerCore
	inbound    map[*inboundPipe]struct{}
	// origins are the (data) producers of the room by id, with the router
	// they live on: origins[pipeRTP] and origins[pipeData].
	origins     [2]map[string]*origin
	pipes       map[pipeKey]*pipe
	pipesOpened int
	// slots are its routers' places in its pipe tree (tree.go), by slot
	// and by router; made at the first sync.
	slots  map[int]*routerEntry
	slotOf map[*routerEntry]int

	onClose          listeners[struct{}]
	onWorkerClose    listeners[struct{}]
	onNewTransport   listeners[media.Transport]
	onNewRtpObserver listeners[media.RtpObserver]
	onNewRouter      listeners[routerWorker]
	onWorkerDied     listeners[workerErr]
	onError          listeners[error]
}

var _ media.Router = (*MafaldaRouter)(nil)

type routerWorker struct {
	router media.Router
	worker media.Worker
}

type workerErr struct {
	worker media.Worker
	id     string // Mafalda's name of the worker (WorkerInfo.WorkerID)
	err    error
}

// origin is where a (data) producer of the room lives.
type origin struct {
	re  *routerEntry
	obj closable
}

// closable is what producers, consumers and their data variants share.
type closable interface {
	ID() string
	Closed() bool
	Close(ctx context.Context) error
	OnClose(func()) (off func())
}

// ID returns the MafaldaRouter's id.
func (mr *MafaldaRouter) ID() string { return mr.id }

// Options returns the options it was created with, defaults applied.
func (mr *MafaldaRouter) Options() MafaldaRouterOptions { return mr.opts }

// Closed reports whether it closed.
func (mr *MafaldaRouter) Closed() bool {
	mr.m.p.mu.Lock()
	defer mr.m.p.mu.Unlock()
	return mr.closed
}

// RtpCapabilities are those of every one of its routers.
func (mr *MafaldaRouter) RtpCapabilities() media.RtpCapabilities { return mr.caps.Clone() }

// AppData returns the application data.
func (mr *MafaldaRouter) AppData() media.AppData {
	mr.m.p.mu.Lock()
	defer mr.m.p.mu.Unlock()
	return mr.appData
}

// SetAppData replaces the application data.
func (mr *MafaldaRouter) SetAppData(d media.AppData) {
	mr.m.p.mu.Lock()
	defer mr.m.p.mu.Unlock()
	mr.appData = d
}

// OnClose ("close") fires once it has closed.
func (mr *MafaldaRouter) OnClose(fn func()) func() { return onFunc(&mr.onClose, fn) }

// OnWorkerClose ("workerclose") fires when it closed because the
// media.Worker view it was created from (Mafalda.API) closed.
func (mr *MafaldaRouter) OnWorkerClose(fn func()) func() { return onFunc(&mr.onWorkerClose, fn) }

// OnNewTransport (observer "newtransport").
func (mr *MafaldaRouter) OnNewTransport(fn func(media.Transport)) func() {
	return mr.onNewTransport.on(fn)
}

// OnNewRtpObserver (observer "newrtpobserver").
func (mr *MafaldaRouter) OnNewRtpObserver(fn func(media.RtpObserver)) func() {
	return mr.onNewRtpObserver.on(fn)
}

// OnNewRouter ("newrouter") fires when it starts using a router, new or
// shared, and the worker that router lives on.
func (mr *MafaldaRouter) OnNewRouter(fn func(media.Router, media.Worker)) func() {
	if fn == nil {
		return func() {}
	}
	return mr.onNewRouter.on(func(rw routerWorker) { fn(rw.router, rw.worker) })
}

// OnWorkerDied ("workerdied") fires when a worker it uses died.
func (mr *MafaldaRouter) OnWorkerDied(fn func(media.Worker, error)) func() {
	if fn == nil {
		return func() {}
	}
	return mr.onWorkerDied.on(func(we workerErr) { fn(we.worker, we.err) })
}

// OnError ("error") reports failures that no call returns, such as an
// idle router that failed to close.
func (mr *MafaldaRouter) OnError(fn func(error)) func() { return mr.onError.on(fn) }

// Close closes its observers and transports (they emit "routerclose"),
// then routers and workers left idle. It is idempotent.
func (mr *MafaldaRouter) Close(ctx context.Context) error {
	return mr.close(ctx, false)
}

func (mr *MafaldaRouter) close(ctx context.Context, byWorker bool) error {
	m := mr.m
	m.p.mu.Lock()
	if mr.closed {
		m.p.mu.Unlock()
		return nil
	}
	mr.closed = true
	delete(m.routers, mr.id)
	observers := mapValues(mr.observers)
	transports := mapValues(mr.transports)
	inbound := mapKeys(mr.inbound)
	m.p.mu.Unlock()
	for _, o := range observers {
		o.closeByRouter(ctx)
	}
	for _, t := range transports {
		t.closeByRouter(ctx)
	}
	for _, in := range inbound {
		_ = in.producer.Close(ctx)
	}
	if byWorker {
		mr.onWorkerClose.emit(struct{}{})
	}
	mr.onClose.emit(struct{}{})
	return nil
}

func (mr *MafaldaRouter) checkOpen() error {
	if mr.Closed() {
		return media.NewError(media.ErrClosed, "mafaldaRouter %s closed", mr.id)
	}
	return nil
}

// Routers returns the routers it uses, in worker creation order.
func (mr *MafaldaRouter) Routers() []media.Router {
	var out []media.Router
	for _, re := range mr.routerEntries() {
		out = append(out, re.router)
	}
	return out
}

func (mr *MafaldaRouter) routerEntries() []*routerEntry {
	mr.m.p.mu.Lock()
	defer mr.m.p.mu.Unlock()
	var out []*routerEntry
	for _, we := range mr.m.p.workers {
		for _, re := range sortedRouters(we) {
			if re.users[mr] > 0 {
				out = append(out, re)
			}
		}
	}
	return out
}

// Transports returns its open transports, sorted by id.
func (mr *MafaldaRouter) Transports() []media.Transport {
	mr.m.p.mu.Lock()
	defer mr.m.p.mu.Unlock()
	out := make([]media.Transport, 0, len(mr.transports))
	for _, id := range sortedKeys(mr.transports) {
		out = append(out, mr.transports[id].wrapped)
	}
	return out
}

// RtpObservers returns its open observers, sorted by id.
func (mr *MafaldaRouter) RtpObservers() []media.RtpObserver {
	mr.m.p.mu.Lock()
	defer mr.m.p.mu.Unlock()
	out := make([]media.RtpObserver, 0, len(mr.observers))
	for _, id := range sortedKeys(mr.observers) {
		out = append(out, mr.observers[id].wrapped)
	}
	return out
}

// CanConsume reports whether an endpoint with rtpCapabilities can consume
// the producer, wherever it lives.
func (mr *MafaldaRouter) CanConsume(producerID string, caps *media.RtpCapabilities) bool {
	mr.m.p.mu.Lock()
	o := mr.origins[pipeRTP][producerID]
	mr.m.p.mu.Unlock()
	return o != nil && o.re.router.CanConsume(producerID, caps)
}

// CreateWebRtcTransport creates a WebRTC transport on a placed router.
// Without ListenInfos and WebRtcServer in o, a MafaldaRouter with
// WebRtcServerOptions puts it on its WebRtcServer of the chosen worker
// (created then if it was not yet). A WebRtcServer given in o must
// belong to the worker placement chooses, which the caller cannot pick:
// the underlying router rejects it otherwise, so give none and let the
// MafaldaRouter use its own servers.
func (mr *MafaldaRouter) CreateWebRtcTransport(ctx context.Context, o *media.WebRtcTransportOptions) (media.WebRtcTransport, error) {
	t, err := mr.newTransport(ctx, func(ctx context.Context, re *routerEntry) (media.Transport, error) {
		if mr.skey != "" && (o == nil || (o.WebRtcServer == nil && len(o.ListenInfos) == 0)) {
			s, err := mr.webRtcServer(ctx, re.worker)
			if err != nil {
				return nil, err
			}
			var with media.WebRtcTransportOptions
			if o != nil {
				with = *o
			}
			with.WebRtcServer = s
			return re.router.CreateWebRtcTransport(ctx, &with)
		}
		return re.router.CreateWebRtcTransport(ctx, o)
	}, func(c *transportCore) media.Transport { return &webRtcTransport{c.t.(media.WebRtcTransport), c} })
	if err != nil {
		return nil, err
	}
	return t.(media.WebRtcTransport), nil
}

// ChoosesWebRtcListen reports whether it has WebRtcServerOptions, so
// that its WebRTC transports created without listen infos use its
// WebRtcServers (mediaserver.WebRtcListenChooser).
func (mr *MafaldaRouter) ChoosesWebRtcListen() bool { return mr.skey != "" }

// CreatePlainTransport creates a plain transport on a placed router.
func (mr *MafaldaRouter) CreatePlainTransport(ctx context.Context, o *media.PlainTransportOptions) (media.PlainTransport, error) {
	t, err := mr.newTransport(ctx, func(ctx context.Context, re *routerEntry) (media.Transport, error) {
		return re.router.CreatePlainTransport(ctx, o)
	}, func(c *transportCore) media.Transport { return &plainTransport{c.t.(media.PlainTransport), c} })
	if err != nil {
		return nil, err
	}
	return t.(media.PlainTransport), nil
}

// CreatePipeTransport creates a pipe transport on a placed router.
func (mr *MafaldaRouter) CreatePipeTransport(ctx context.Context, o *media.PipeTransportOptions) (media.PipeTransport, error) {
	t, err := mr.newTransport(ctx, func(ctx context.Context, re *routerEntry) (media.Transport, error) {
		return re.router.CreatePipeTransport(ctx, o)
	}, func(c *transportCore) media.Transport { return &pipeTransport{c.t.(media.PipeTransport), c} })
	if err != nil {
		return nil, err
	}
	return t.(media.PipeTransport), nil
}

// CreateDirectTransport creates a direct transport on a placed router.
func (mr *MafaldaRouter) CreateDirectTransport(ctx context.Context, o *media.DirectTransportOptions) (media.DirectTransport, error) {
	t, err := mr.newTransport(ctx, func(ctx context.Context, re *routerEntry) (media.Transport, error) {
		return re.router.CreateDirectTransport(ctx, o)
	}, func(c *transportCore) media.Transport { return &directTransport{c.t.(media.DirectTransport), c} })
	if err != nil {
		return nil, err
	}
	return t.(media.DirectTransport), nil
}

func mapValues[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func mapKeys[K comparable, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := mapKeys(m)
	sort.Strings(out)
	return out
}

// wrapErr adds the operation to an error of the underlying API; the
// error still matches its media sentinel.
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("mafalda: %s: %w", op, err)
}
