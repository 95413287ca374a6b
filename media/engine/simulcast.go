package engine

import (
	"context"
	"sync/atomic"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/rtppkt"
)

// simulcast is the layer state of a simulcast consumer: it forwards one
// of the producer's encodings (spatial layers) as a single stream,
// switching only at a key frame of the target layer, with sequence
// numbers and timestamps continuing across switches (mediasoup
// SimulcastConsumer, without temporal layers or bandwidth estimation).
type simulcast struct {
	layers int
	// preferred and target are read on other goroutines.
	preferred atomic.Int32
	target    atomic.Int32

	// best is the layer the consumer would take without bandwidth
	// estimation (bestLayer), as last seen by retarget.
	best atomic.Int32

	// Guarded by consumer.mu.
	current       int
	switchSeq     uint16
	layersChanged bool
	// vp8 keeps VP8 picture IDs continuous; synced says the packet
	// accept just took starts a layer.
	vp8    vp8Context
	synced bool

	// The bitrate distribution's state (bwe_layers.go; the transport's
	// RTCP goroutine only).
	provisional        int
	lastBweDowngradeAt int64
}

func newSimulcast(layers int, preferred *media.ConsumerLayers) *simulcast {
	s := &simulcast{layers: layers, current: -1, provisional: -1, lastBweDowngradeAt: -int64(bweDowngradeConservative)}
	p := layers - 1
	if preferred != nil && preferred.SpatialLayer >= 0 && preferred.SpatialLayer < layers {
		p = preferred.SpatialLayer
	}
	s.preferred.Store(int32(p))
	s.target.Store(int32(p))
	return s
}

// accept decides whether pk goes out on stream s, switching layers at a
// key frame of the target. Call with consumer.mu held.
func (sc *simulcast) accept(pk *packet, s *sendStream) bool {
	if pk.enc == sc.current && !s.syncRequired {
		sc.synced = false
		return !rtppkt.SeqLess(pk.seq, sc.switchSeq)
	}
	if pk.enc != int(sc.target.Load()) || (pk.kfCodec != kfNone && !pk.keyFrame()) {
		return false
	}
	s.seq.Sync(pk.seq - 1)
	if s.packets > 0 {
		ticks := max(1, (pk.now-s.lastSentAt)/1000*s.clockRate/1e6)
		s.tsOffset = s.lastTS + uint32(ticks) - pk.ts
	}
	s.syncRequired = false
	sc.switchSeq = pk.seq
	sc.synced = true
	if sc.current != pk.enc {
		sc.current, sc.layersChanged = pk.enc, true
	}
	return true
}

// bestLayer is the preferred layer or, if its stream is not active, the
// highest active one below it.
func (c *consumer) bestLayer() int {
	pref := int(c.sim.preferred.Load())
	target := pref
	c.producer.ingress.Lock()
	for l := pref; l >= 0; l-- {
		if c.producer.streams[l].score > 0 {
			target = l
			break
		}
	}
	c.producer.ingress.Unlock()
	return target
}

// retarget makes bestLayer the target, and returns the target and
// whether it changed. On a transport with bandwidth estimation the
// distribution (bwe_layers.go) sets the target instead: retarget asks
// for one when bestLayer changed.
func (c *consumer) retarget() (int, bool) {
	sc := c.sim
	target := c.bestLayer()
	if c.bweManaged() {
		if int(sc.best.Swap(int32(target))) != target {
			c.transport.needDistribute.Store(true)
		}
		return int(sc.target.Load()), false
	}
	return target, int(sc.target.Swap(int32(target))) != target
}

// updateLayers runs on the RTCP tick: it retargets and reports whether
// the current layer changed. While the consumer waits for a key frame of
// its target (a new target, or none forwarded yet) it asks for one on
// every tick; the producer sends at most one request per stream while
// one is pending, so a key frame that another consumer's request brought
// before this one wanted it does not leave this one waiting for good.
func (c *consumer) updateLayers() bool {
	if c.sim == nil {
		return false
	}
	target, _ := c.retarget()
	c.mu.Lock()
	waiting := c.active && c.sim.current != target
	changed := c.sim.layersChanged
	c.sim.layersChanged = false
	c.mu.Unlock()
	if waiting && target >= 0 {
		c.producer.requestKeyFrame(target)
	}
	return changed
}

func (c *consumer) PreferredLayers() *media.ConsumerLayers {
	if c.sim == nil {
		return nil
	}
	return &media.ConsumerLayers{SpatialLayer: int(c.sim.preferred.Load())}
}

func (c *consumer) CurrentLayers() *media.ConsumerLayers {
	if c.sim == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sim.current < 0 || !c.active {
		return nil
	}
	return &media.ConsumerLayers{SpatialLayer: c.sim.current}
}

func (c *consumer) SetPreferredLayers(ctx context.Context, l media.ConsumerLayers) error {
	if err := c.checkOpen("consumer"); err != nil {
		return err
	}
	if c.sim == nil {
		return nil // mediasoup ignores it for simple consumers
	}
	if l.SpatialLayer < 0 || l.SpatialLayer >= c.sim.layers {
		return &media.ParamError{Field: "spatialLayer", Reason: "out of range"}
	}
	c.sim.preferred.Store(int32(l.SpatialLayer))
	if c.bweManaged() {
		c.transport.needDistribute.Store(true)
	}
	if target, changed := c.retarget(); changed {
		c.producer.requestKeyFrame(target)
	}
	return nil
}
