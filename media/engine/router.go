package engine

import (
	"context"
	"slices"
	"sort"
	"sync"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/event"
)

// closeReason says why an object closes, which decides the events it
// emits (mediasoup's "transportclose", "routerclose", "producerclose").
type closeReason int

const (
	closeBySelf         closeReason = iota // Close was called on it
	closeByParent                          // its worker/router/transport closed
	closeByProducer                        // its (data) producer closed
	closeByListenServer                    // its WebRtcServer closed
)

type router struct {
	object
	worker *worker
	caps   media.RtpCapabilities

	// mu guards the maps below.
	mu            sync.Mutex
	transports    map[string]*transport
	producers     map[string]*producer
	dataProducers map[string]*dataProducer
	observers     map[string]*rtpObserver
	// pipePairs caches the pipe transport pair towards each destination
	// router used by PipeToRouter.
	pipePairs map[*router]*pipePair

	onWorkerClose    event.Listeners[struct{}]
	onNewTransport   event.Listeners[media.Transport]
	onNewRtpObserver event.Listeners[media.RtpObserver]
}

var _ media.Router = (*router)(nil)

func newRouter(w *worker, caps media.RtpCapabilities, appData media.AppData) *router {
	r := &router{
		worker: w, caps: caps,
		transports: map[string]*transport{}, producers: map[string]*producer{},
		dataProducers: map[string]*dataProducer{}, pipePairs: map[*router]*pipePair{},
		observers: map[string]*rtpObserver{},
	}
	r.init(newID(), appData)
	return r
}

func (r *router) RtpCapabilities() media.RtpCapabilities { return r.caps.Clone() }

func (r *router) OnWorkerClose(fn func()) func() { return on(&r.onWorkerClose, fn) }
func (r *router) OnNewTransport(fn func(media.Transport)) func() {
	return r.onNewTransport.On(fn)
}
func (r *router) OnNewRtpObserver(fn func(media.RtpObserver)) func() {
	return r.onNewRtpObserver.On(fn)
}

func (r *router) Close(ctx context.Context) error {
	r.close(closeBySelf)
	return nil
}

func (r *router) close(reason closeReason) {
	if r.closed.Swap(true) {
		return
	}
	r.mu.Lock()
	transports := r.transports
	r.transports = map[string]*transport{}
	r.pipePairs = map[*router]*pipePair{}
	observers := r.observers
	r.observers = map[string]*rtpObserver{}
	r.mu.Unlock()
	for _, o := range observers {
		o.close(closeByParent)
	}
	for _, t := range transports {
		t.close(closeByParent)
	}
	if reason == closeBySelf {
		r.worker.removeRouter(r.id)
	}
	if reason == closeByParent {
		emit(&r.onWorkerClose)
	}
	emit(&r.onClose)
	r.onClose.Clear()
}

// addTransport registers t, failing if the router has closed.
func (r *router) addTransport(t *transport) error {
	r.mu.Lock()
	if r.closed.Load() {
		r.mu.Unlock()
		return media.NewError(media.ErrClosed, "router %s closed", r.id)
	}
	r.transports[t.id] = t
	r.mu.Unlock()
	r.onNewTransport.Emit(t.outer)
	return nil
}

func (r *router) removeTransport(id string) {
	r.mu.Lock()
	delete(r.transports, id)
	r.mu.Unlock()
}

// addProducer registers p router-wide; ids are unique per router.
func (r *router) addProducer(p *producer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed.Load() {
		return media.NewError(media.ErrClosed, "router %s closed", r.id)
	}
	if _, ok := r.producers[p.id]; ok {
		return media.NewError(media.ErrDuplicateID, "producer id %q already in use", p.id)
	}
	r.producers[p.id] = p
	return nil
}

func (r *router) removeProducer(id string) {
	r.mu.Lock()
	delete(r.producers, id)
	r.mu.Unlock()
}

func (r *router) producer(id string) (*producer, error) {
	r.mu.Lock()
	p, ok := r.producers[id]
	r.mu.Unlock()
	if !ok {
		return nil, media.NewError(media.ErrNotFound, "producer %q not found", id)
	}
	return p, nil
}

func (r *router) addDataProducer(p *dataProducer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed.Load() {
		return media.NewError(media.ErrClosed, "router %s closed", r.id)
	}
	if _, ok := r.dataProducers[p.id]; ok {
		return media.NewError(media.ErrDuplicateID, "data producer id %q already in use", p.id)
	}
	r.dataProducers[p.id] = p
	return nil
}

func (r *router) removeDataProducer(id string) {
	r.mu.Lock()
	delete(r.dataProducers, id)
	r.mu.Unlock()
}

func (r *router) dataProducer(id string) (*dataProducer, error) {
	r.mu.Lock()
	p, ok := r.dataProducers[id]
	r.mu.Unlock()
	if !ok {
		return nil, media.NewError(media.ErrNotFound, "data producer %q not found", id)
	}
	return p, nil
}

func (r *router) CanConsume(producerID string, caps *media.RtpCapabilities) bool {
	p, err := r.producer(producerID)
	if err != nil {
		return false
	}
	return canConsume(p.consumable, caps)
}

func (r *router) Dump(ctx context.Context) (*media.RouterDump, error) {
	if err := r.checkOpen("router"); err != nil {
		return nil, err
	}
	d := &media.RouterDump{
		ID: r.id, TransportIDs: []string{}, RtpObserverIDs: []string{},
		MapProducerIDConsumerIDs: []media.KeyValues{}, MapConsumerIDProducerID: []media.KeyValue{},
		MapProducerIDObserverIDs: []media.KeyValues{}, MapDataProducerIDDataConsumerIDs: []media.KeyValues{},
		MapDataConsumerIDDataProducerID: []media.KeyValue{},
	}
	r.mu.Lock()
	for id := range r.transports {
		d.TransportIDs = append(d.TransportIDs, id)
	}
	producers := mapValues(r.producers)
	dataProducers := mapValues(r.dataProducers)
	r.mu.Unlock()
	for id := range r.observers {
		d.RtpObserverIDs = append(d.RtpObserverIDs, id)
	}
	sort.Strings(d.TransportIDs)
	sort.Strings(d.RtpObserverIDs)
	for _, p := range producers {
		kv := media.KeyValues{Key: p.id, Values: []string{}}
		for _, c := range p.consumerList() {
			kv.Values = append(kv.Values, c.id)
			d.MapConsumerIDProducerID = append(d.MapConsumerIDProducerID, media.KeyValue{Key: c.id, Value: p.id})
		}
		d.MapProducerIDConsumerIDs = append(d.MapProducerIDConsumerIDs, kv)
		d.MapProducerIDObserverIDs = append(d.MapProducerIDObserverIDs, media.KeyValues{Key: p.id, Values: sortedIDs(p.observerList())})
	}
	for _, p := range dataProducers {
		kv := media.KeyValues{Key: p.id, Values: []string{}}
		for _, c := range p.consumerList() {
			kv.Values = append(kv.Values, c.id)
			d.MapDataConsumerIDDataProducerID = append(d.MapDataConsumerIDDataProducerID, media.KeyValue{Key: c.id, Value: p.id})
		}
		d.MapDataProducerIDDataConsumerIDs = append(d.MapDataProducerIDDataConsumerIDs, kv)
	}
	return d, nil
}

func mapValues[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// sortedIDs returns the ids of objects sorted.
func sortedIDs[T interface{ ID() string }](objs []T) []string {
	ids := make([]string, 0, len(objs))
	for _, o := range objs {
		ids = append(ids, o.ID())
	}
	slices.Sort(ids)
	return ids
}
