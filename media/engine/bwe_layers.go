package engine

import (
	"cmp"
	"slices"
	"time"

	"github.com/ropehq/rope/media"
)

// The consumers' side of the bitrate distribution (bwe_send.go), as
// mediasoup's Consumer GetBitratePriority, IncreaseLayer, ApplyLayers and
// GetDesiredBitrate. Only the transport's RTCP goroutine calls these.
//
// A simulcast consumer steps through (spatial, temporal) layer pairs as
// mediasoup's: each temporal layer of a stream whose scalabilityMode
// declares several counts with its own measured bitrate (recvStream's
// per-layer rates), so a viewer whose estimate does not fit a stream's
// top temporal layer gets its lower ones rather than nothing.
//
// As in mediasoup, a simulcast consumer on a transport with an estimate
// takes no layer until its producer's streams have a known bitrate (100
// ms after they start), and none while the estimate is below its lowest
// layer's bitrate; a simple video consumer always forwards, its stream's
// bitrate counted against the estimate first; audio takes no part. A
// switch still waits for a key frame of the new layer (simulcast.go),
// which the distribution requests.

const (
	// bweDowngradeConservative is mediasoup's BweDowngradeConservativeMs:
	// after stepping down for want of bitrate, a consumer does not step
	// above its current layer for this long.
	bweDowngradeConservative = 10 * time.Second
	// bweDowngradeMinActive is mediasoup's BweDowngradeMinActiveMs.
	bweDowngradeMinActive = 8 * time.Second
)

// sortByPriority orders consumers by priority, highest first.
func sortByPriority(cs []*consumer) {
	slices.SortStableFunc(cs, func(a, b *consumer) int { return cmp.Compare(b.Priority(), a.Priority()) })
}

// bweManaged reports whether the transport's estimate sets the
// consumer's layers.
func (c *consumer) bweManaged() bool {
	return c.kind == media.KindVideo && c.transport.tccClient.Load() != nil
}

// bitratePriority is 0 for consumers that take no part (audio, inactive),
// else the consumer's priority.
func (c *consumer) bitratePriority() int {
	if c.kind != media.KindVideo || c.closed.Load() || !c.isActive() {
		return 0
	}
	return c.Priority()
}

func (c *consumer) resetProvisional() {
	c.managingBitrate = false
	if c.svc != nil {
		c.svc.resetProvisional()
	}
	if c.sim != nil {
		c.sim.provisional, c.sim.provisionalTemporal = -1, -1
	}
}

// streamRates returns the producer streams' bitrates and scores.
func (c *consumer) streamRates(now int64, rates, scores []int) ([]int, []int) {
	p := c.producer
	p.ingress.Lock()
	for _, s := range p.streams {
		rates = append(rates, int(s.rate.early(now)))
		scores = append(scores, s.score)
	}
	p.ingress.Unlock()
	return rates, scores
}

// increaseLayer takes the next layer up, spatial and temporal, that
// bitrate allows and returns the bitrate it adds (0: none).
func (c *consumer) increaseLayer(bitrate uint64, considerLoss bool, now int64) uint64 {
	if c.svc != nil {
		return c.svcIncreaseLayer(bitrate, considerLoss, now)
	}
	if c.sim == nil {
		// A simple consumer takes its stream's bitrate once per round.
		if c.managingBitrate {
			return 0
		}
		c.managingBitrate = true
		var rateBuf, scoreBuf [1]int
		rates, _ := c.streamRates(now, rateBuf[:0], scoreBuf[:0])
		if len(rates) == 0 {
			return 0
		}
		return min(uint64(rates[0]), bitrate)
	}
	sc := c.sim
	if sc.provisional == int(sc.preferred.Load()) && sc.provisionalTemporal == int(sc.preferredTemporal.Load()) {
		return 0
	}
	virtual := c.virtualBitrate(bitrate, considerLoss)
	c.mu.Lock()
	current := sc.current
	c.mu.Unlock()
	required, layer, temporal := c.nextLayer(current, now)
	if required == 0 || float64(required) > virtual {
		return 0
	}
	sc.provisional, sc.provisionalTemporal = layer, temporal
	return min(required, bitrate)
}

// nextLayer is mediasoup's SimulcastConsumer search for the layers above
// the provisional ones: the next temporal layer of the provisional
// spatial layer, or temporal layer 0 of a higher one, whichever comes
// first with a measured bitrate, up to the preferred layers. It returns
// the bitrate those layers add (a higher spatial layer replaces the
// provisional one, so its bitrate counts less the provisional one's; 0:
// none) and the layers.
func (c *consumer) nextLayer(current int, now int64) (required uint64, layer, temporal int) {
	sc := c.sim
	pref, prefT := int(sc.preferred.Load()), int(sc.preferredTemporal.Load())
	p := c.producer
	p.ingress.Lock()
	defer p.ingress.Unlock()
	for l, s := range p.streams {
		if now-sc.lastBweDowngradeAt < int64(bweDowngradeConservative) && sc.provisional > -1 && l > current {
			break
		}
		if l < sc.provisional || s.score == 0 {
			continue
		}
		top := sc.temporalLayers - 1
		if l >= pref {
			top = prefT
		}
		for t := 0; t <= top; t++ {
			if l == sc.provisional && t <= sc.provisionalTemporal {
				continue
			}
			required = sc.layerBitrate(s, t, now)
			if required != 0 && t == 0 && sc.provisional > -1 && l > sc.provisional {
				// Simulcast: the new layer replaces the provisional one.
				if prov := sc.bitrateUpTo(p.streams[sc.provisional], sc.provisionalTemporal, now); required > prov {
					required -= prov
				} else {
					required = 1
				}
			}
			if required != 0 {
				return required, l, t
			}
			break
		}
		if l >= pref {
			break
		}
	}
	return 0, 0, 0
}

// layerBitrate is the bitrate temporal layer t of producer stream s
// adds; with temporal layer selection off, the whole stream's is layer
// 0's. Call with producer.ingress held.
func (sc *simulcast) layerBitrate(s *recvStream, t int, now int64) uint64 {
	if sc.temporalLayers <= 1 {
		if t == 0 {
			return s.rate.early(now)
		}
		return 0
	}
	return s.temporalBitrate(now, t)
}

// bitrateUpTo is the bitrate of stream s's temporal layers 0 to t as
// the consumer forwards them. Call with producer.ingress held.
func (sc *simulcast) bitrateUpTo(s *recvStream, t int, now int64) uint64 {
	if sc.temporalLayers <= 1 {
		return s.rate.early(now)
	}
	return s.temporalUpTo(now, t)
}

// applyLayers makes the layers the distribution gave the target ones
// and reports whether they are below what the consumer would take
// without the estimate.
func (c *consumer) applyLayers(now int64) bool {
	c.managingBitrate = false
	if c.svc != nil {
		return c.svcApplyLayers(now)
	}
	sc := c.sim
	if sc == nil {
		return false
	}
	prov, provT := sc.provisional, sc.provisionalTemporal
	sc.provisional, sc.provisionalTemporal = -1, -1
	best := c.bestLayer()
	if prov >= 0 {
		c.setTemporalTarget(provT, prov)
	}
	if int(sc.target.Swap(int32(prov))) != prov {
		c.mu.Lock()
		current := sc.current
		if prov == -1 && current != -1 {
			sc.current, sc.layersChanged = -1, true
		}
		c.mu.Unlock()
		if now-c.activeSince.Load() > int64(bweDowngradeMinActive) && prov < current && current <= int(sc.preferred.Load()) {
			sc.lastBweDowngradeAt = now
		}
		if prov >= 0 && prov != current {
			c.producer.requestKeyFrame(prov)
		}
	}
	return prov < best || prov == best && provT < sc.temporalTarget(best)
}

// desiredBitrate is the bitrate the consumer would use without limit:
// its producer's highest stream bitrate, or its encoding's maxBitrate if
// higher.
func (c *consumer) desiredBitrate(now int64) uint64 {
	if c.bitratePriority() == 0 {
		return 0
	}
	if c.svc != nil {
		return c.svcDesiredBitrate(now)
	}
	var rateBuf, scoreBuf [8]int
	rates, _ := c.streamRates(now, rateBuf[:0], scoreBuf[:0])
	if c.sim == nil && len(rates) > 1 {
		rates = rates[:1]
	}
	d := 0
	for _, r := range rates {
		d = max(d, r)
	}
	if len(c.params.Encodings) > 0 {
		d = max(d, c.params.Encodings[0].MaxBitrate)
	}
	return uint64(d)
}

// virtualBitrate is the bitrate a consumer's layer increase may use, as
// mediasoup's IncreaseLayer: with considerLoss, 8 % more under 2 % loss
// and up to half less above 10 %.
func (c *consumer) virtualBitrate(bitrate uint64, considerLoss bool) float64 {
	virtual := float64(bitrate)
	if !considerLoss {
		return virtual
	}
	c.mu.Lock()
	loss := float64(c.streams[0].fractionLost) * 100 / 256
	c.mu.Unlock()
	switch {
	case loss < 2:
		virtual *= 1.08
	case loss > 10:
		virtual *= 1 - 0.5*loss/100
	}
	return virtual
}
