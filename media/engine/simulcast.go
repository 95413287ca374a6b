package engine

import (
	"context"
	"sync/atomic"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/rtppkt"
	"github.com/ropehq/rope/media/internal/vp8"
)

// simulcast is the layer state of a simulcast consumer: it forwards one
// of the producer's encodings (spatial layers) as a single stream,
// switching only at a key frame of the target layer, with sequence
// numbers and timestamps continuing across switches (mediasoup
// SimulcastConsumer). For VP8 it also selects temporal layers: frames
// above the target temporal layer are dropped, and picture IDs and
// TL0PICIDX are rewritten to stay continuous across switches (vp8.Context).
type simulcast struct {
	layers int
	// temporalLayers is the streams' temporal layer count (the
	// scalabilityMode's T); 1 turns temporal layer selection off.
	temporalLayers int
	// preferred and target (spatial), preferredTemporal and
	// targetTemporal are read on other goroutines.
	preferred         atomic.Int32
	target            atomic.Int32
	preferredTemporal atomic.Int32
	targetTemporal    atomic.Int32

	// best is the layer the consumer would take without bandwidth
	// estimation (bestLayer), as last seen by retarget.
	best atomic.Int32

	// Guarded by consumer.mu.
	current       int
	switchSeq     uint16
	layersChanged bool
	// vp8 is the VP8 encoding context (picture ID, TL0PICIDX, temporal
	// layer); it is used only for packets with a VP8 payload descriptor.
	vp8 *vp8.Context
	// vp8Write says the packet accept took is to go out with picture ID
	// vp8Pic and TL0PICIDX vp8TL0 (consumer.rewrite writes them).
	vp8Write bool
	vp8Pic   uint16
	vp8TL0   uint8
	// ddCur is the decode target forwarded of an AV1 stream with a
	// dependency descriptor (-1: none yet; av1dd.go).
	ddCur int

	// The bitrate distribution's state (bwe_layers.go; the transport's
	// RTCP goroutine only).
	provisional         int
	provisionalTemporal int
	lastBweDowngradeAt  int64
}

// maxTemporalLayers bounds temporal layer selection (VP8's TID has 2 bits).
const maxTemporalLayers = 4

func newSimulcast(layers, temporalLayers int, preferred *media.ConsumerLayers) *simulcast {
	temporalLayers = min(max(temporalLayers, 1), maxTemporalLayers)
	s := &simulcast{layers: layers, temporalLayers: temporalLayers, current: -1, provisional: -1, provisionalTemporal: -1, ddCur: -1, lastBweDowngradeAt: -int64(bweDowngradeConservative)}
	p, pt := layers-1, temporalLayers-1
	if preferred != nil && preferred.SpatialLayer >= 0 && preferred.SpatialLayer < layers {
		p = preferred.SpatialLayer
		if preferred.TemporalLayer != nil && *preferred.TemporalLayer >= 0 {
			pt = min(*preferred.TemporalLayer, temporalLayers-1)
		}
	}
	s.preferred.Store(int32(p))
	s.target.Store(int32(p))
	s.preferredTemporal.Store(int32(pt))
	s.targetTemporal.Store(int32(pt))
	s.vp8 = vp8.NewContext(s.contextTarget(pt))
	return s
}

// contextTarget is the temporal layer given to the VP8 context for target
// t: with one declared temporal layer, selection is off (every TID goes;
// mediasoup would drop TIDs above 0 of a stream without scalabilityMode).
func (sc *simulcast) contextTarget(t int) int {
	if sc.temporalLayers == 1 {
		return maxTemporalLayers - 1
	}
	return t
}

// temporalTarget is mediasoup's target temporal layer for spatial target
// l: the preferred one on the preferred spatial layer, the highest below.
func (sc *simulcast) temporalTarget(l int) int {
	if l < int(sc.preferred.Load()) {
		return sc.temporalLayers - 1
	}
	return int(sc.preferredTemporal.Load())
}

// currentTemporal is the temporal layer being forwarded (0 without
// temporal layer selection or before any VP8 frame). Call with
// consumer.mu held.
func (sc *simulcast) currentTemporal() int {
	return min(max(sc.vp8.Current(), 0), sc.temporalLayers-1)
}

// accept decides whether pk goes out on stream s, switching layers at a
// key frame of the target. Call with consumer.mu held.
func (sc *simulcast) accept(pk *packet, s *sendStream) bool {
	if pk.enc == sc.current && !s.syncRequired {
		if rtppkt.SeqLess(pk.seq, sc.switchSeq) {
			return false
		}
		return sc.processTemporal(pk, s)
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
	if sc.current != pk.enc {
		sc.current, sc.layersChanged = pk.enc, true
	}
	// As mediasoup at a switch: the new stream's pictures continue the
	// numbering, the target temporal layer applies, and the key frame's
	// temporal layer is the current one.
	if d := pk.vp8Desc(); d != nil {
		sc.vp8.SyncRequired()
		sc.vp8.SetTarget(sc.contextTarget(int(sc.targetTemporal.Load())))
		sc.vp8.SetCurrent(int(d.TID))
		sc.processTemporal(pk, s)
	} else if pk.hasFM {
		sc.vp8.SetTarget(sc.contextTarget(int(sc.targetTemporal.Load())))
		sc.vp8.SetCurrent(int(pk.fm & fmTIDMax))
		sc.processH264(pk, s)
	} else if pk.av1DD() != nil {
		sc.vp8.SetTarget(sc.contextTarget(int(sc.targetTemporal.Load())))
		sc.ddCur = -1
		sc.processDD(pk, s)
	}
	return true
}

// processH264 applies mediasoup's H264 temporal layer rule to a packet
// with frame marking: false drops it (a TID above the target, or above
// the current one without the base layer sync bit). The layer state is
// the one the VP8 context keeps. Call with consumer.mu held.
func (sc *simulcast) processH264(pk *packet, s *sendStream) bool {
	tid, cur, target := int(pk.fm&fmTIDMax), sc.vp8.Current(), sc.vp8.Target()
	if tid > target || tid > cur && pk.fm&fmBase == 0 {
		s.seq.Drop(pk.seq)
		return false
	}
	next := min(max(tid, cur), target)
	if next != cur {
		sc.vp8.SetCurrent(next)
		if sc.temporalLayers > 1 {
			sc.layersChanged = true
		}
	}
	return true
}

// processTemporal applies the VP8 encoding context to pk (H264 with frame
// marking: processH264): false drops it (a
// frame above the temporal target, its sequence number freed); otherwise
// the picture ID and TL0PICIDX to send are left in sc.vp8Pic/vp8TL0.
// Call with consumer.mu held.
func (sc *simulcast) processTemporal(pk *packet, s *sendStream) bool {
	d := pk.vp8Desc()
	if d == nil {
		if pk.hasFM {
			return sc.processH264(pk, s)
		}
		if pk.av1DD() != nil {
			return sc.processDD(pk, s)
		}
		return true
	}
	prev := sc.vp8.Current()
	pic, tl0, ok := sc.vp8.Process(d)
	if !ok {
		s.seq.Drop(pk.seq)
		return false
	}
	sc.vp8Pic, sc.vp8TL0, sc.vp8Write = pic, tl0, true
	if sc.vp8.Current() != prev && sc.temporalLayers > 1 {
		sc.layersChanged = true
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
	c.setTemporalTarget(sc.temporalTarget(target), target)
	return target, int(sc.target.Swap(int32(target))) != target
}

// setTemporalTarget records temporal target t for spatial target l; when
// l is the layer being forwarded it applies at once (mediasoup
// UpdateTargetLayers), otherwise at the switch to l.
func (c *consumer) setTemporalTarget(t, l int) {
	sc := c.sim
	sc.targetTemporal.Store(int32(t))
	c.mu.Lock()
	if sc.current == l {
		sc.vp8.SetTarget(sc.contextTarget(t))
	}
	c.mu.Unlock()
}

// updateLayers runs on the RTCP tick: it retargets and reports whether
// the current layer changed. While the consumer waits for a key frame of
// its target (a new target, or none forwarded yet) it asks for one on
// every tick; the producer sends at most one request per stream while
// one is pending, so a key frame that another consumer's request brought
// before this one wanted it does not leave this one waiting for good.
func (c *consumer) updateLayers() bool {
	if c.svc != nil {
		return c.updateSVCLayers(nanotime())
	}
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
	if c.svc != nil {
		return c.svcPreferredLayers()
	}
	if c.sim == nil {
		return nil
	}
	t := int(c.sim.preferredTemporal.Load())
	return &media.ConsumerLayers{SpatialLayer: int(c.sim.preferred.Load()), TemporalLayer: &t}
}

func (c *consumer) CurrentLayers() *media.ConsumerLayers {
	if c.svc != nil {
		return c.svcCurrentLayers()
	}
	if c.sim == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sim.current < 0 || !c.active {
		return nil
	}
	t := c.sim.currentTemporal()
	return &media.ConsumerLayers{SpatialLayer: c.sim.current, TemporalLayer: &t}
}

func (c *consumer) SetPreferredLayers(ctx context.Context, l media.ConsumerLayers) error {
	if err := c.checkOpen("consumer"); err != nil {
		return err
	}
	if c.svc != nil {
		return c.setSVCPreferredLayers(l)
	}
	if c.sim == nil {
		return nil // mediasoup ignores it for simple consumers
	}
	if l.SpatialLayer < 0 || l.SpatialLayer >= c.sim.layers {
		return &media.ParamError{Field: "spatialLayer", Reason: "out of range"}
	}
	if l.TemporalLayer != nil && *l.TemporalLayer < 0 {
		return &media.ParamError{Field: "temporalLayer", Reason: "out of range"}
	}
	t := c.sim.temporalLayers - 1
	if l.TemporalLayer != nil {
		t = min(*l.TemporalLayer, t) // mediasoup clamps it
	}
	c.sim.preferredTemporal.Store(int32(t))
	c.sim.preferred.Store(int32(l.SpatialLayer))
	if c.bweManaged() {
		c.transport.needDistribute.Store(true)
	}
	if target, changed := c.retarget(); changed {
		c.producer.requestKeyFrame(target)
	}
	return nil
}
