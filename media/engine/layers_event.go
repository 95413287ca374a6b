package engine

import (
	"sync"
	"sync/atomic"
)

// Prompt "layerschange" events. As mediasoup's SimulcastConsumer and
// SvcConsumer emit layerschange when the current layers change in the
// packet path, a consumer here emits it right after: the forwarding path
// only marks the consumer (layersChanged, under consumer.mu) and wakes
// its transport (wakeLayers: an atomic, and on a first change a
// non-blocking channel send or a queue append and an eventfd write, no
// allocation once the queue has grown); the goroutine that runs the
// transport's RTCP reports (rtcpLoop, or the worker's event loop at the
// end of its turn) then emits. Reports and prompt emissions run on that
// one goroutine, each emitting the layers current when it runs, so no
// event carries layers older than one before it. Many changes before the
// emitter runs make one event per consumer. The RTCP tick still retargets
// and asks again for key frames (updateLayers), and emits what is left.

// wakeLayers has the transport's consumers' layer changes emitted soon.
// The forwarding path calls it (with consumer.mu held): it must not block
// or allocate.
func (t *transport) wakeLayers() {
	if t.layersDue.Load() || t.layersDue.Swap(true) {
		return
	}
	if t.onLoop.Load() {
		t.router.worker.loop.layers.add(t)
		if l := t.router.worker.loop.live.Load(); l != nil {
			l.Wake()
		}
		return
	}
	select {
	case t.layersWake <- struct{}{}:
	default:
	}
}

// emitLayerChanges emits "layerschange" for each consumer whose current
// layers changed since its last event. It runs where sendReports runs.
func (t *transport) emitLayerChanges() {
	t.layersDue.Store(false)
	if t.closed.Load() {
		return
	}
	t.mu.Lock()
	for _, c := range t.consumers {
		if c.sim != nil || c.svc != nil {
			t.repConsumers = append(t.repConsumers, c)
		}
	}
	t.mu.Unlock()
	t.inLoop.Add(1)
	defer t.inLoop.Add(-1)
	defer func() {
		clear(t.repConsumers)
		t.repConsumers = t.repConsumers[:0]
	}()
	for _, c := range t.repConsumers {
		if c.takeLayersChanged() {
			c.onLayersChange.Emit(c.CurrentLayers())
		}
	}
}

// takeLayersChanged reports and clears whether the current layers
// changed since the last call (or updateLayers).
func (c *consumer) takeLayersChanged() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	changed := false
	switch {
	case c.svc != nil:
		changed, c.svc.layersChanged = c.svc.layersChanged, false
	case c.sim != nil:
		changed, c.sim.layersChanged = c.sim.layersChanged, false
	}
	return changed
}

// layersPending is the forwarding path's check (consumer.mu held): the
// current layers changed and the transport has not been woken for it.
func (c *consumer) layersPending() bool {
	switch {
	case c.svc != nil:
		return c.svc.layersChanged && !c.transport.layersDue.Load()
	case c.sim != nil:
		return c.sim.layersChanged && !c.transport.layersDue.Load()
	}
	return false
}

// layersQueue holds, for the worker's event loop, the transports woken
// by wakeLayers until the end of the loop's turn.
type layersQueue struct {
	// pending says ts is not empty.
	pending atomic.Bool
	// mu guards ts.
	mu sync.Mutex
	ts []*transport
	// run is emit's scratch (loop goroutine only).
	run []*transport
}

func (q *layersQueue) add(t *transport) {
	q.mu.Lock()
	q.ts = append(q.ts, t)
	q.pending.Store(true)
	q.mu.Unlock()
}

// emit emits the queued transports' layer changes (loop goroutine).
func (q *layersQueue) emit() {
	q.mu.Lock()
	q.run, q.ts = q.ts, q.run
	q.pending.Store(false)
	q.mu.Unlock()
	for _, t := range q.run {
		t.loopCallback(t.emitLayerChanges)
	}
	clear(q.run)
	q.run = q.run[:0]
}
