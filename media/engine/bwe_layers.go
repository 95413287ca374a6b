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
		c.sim.provisional = -1
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

// increaseLayer takes the next layer up that bitrate allows and returns
// the bitrate it uses (0: none).
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
		rates, _ := c.streamRates(now, nil, nil)
		if len(rates) == 0 {
			return 0
		}
		return min(uint64(rates[0]), bitrate)
	}
	sc := c.sim
	pref := int(sc.preferred.Load())
	if sc.provisional == pref {
		return 0
	}
	virtual := float64(bitrate)
	if considerLoss {
		c.mu.Lock()
		loss := float64(c.streams[0].fractionLost) * 100 / 256
		c.mu.Unlock()
		switch {
		case loss < 2:
			virtual *= 1.08
		case loss > 10:
			virtual *= 1 - 0.5*loss/100
		}
	}
	var rateBuf, scoreBuf [8]int
	rates, scores := c.streamRates(now, rateBuf[:0], scoreBuf[:0])
	c.mu.Lock()
	current := sc.current
	c.mu.Unlock()
	required, layer := 0, -1
	for l := range rates {
		if now-sc.lastBweDowngradeAt < int64(bweDowngradeConservative) && sc.provisional > -1 && l > current {
			break
		}
		if l <= sc.provisional || scores[l] == 0 {
			continue
		}
		required = rates[l]
		if required != 0 && sc.provisional > -1 {
			// Simulcast: the new layer replaces the provisional one.
			if prov := rates[sc.provisional]; required > prov {
				required -= prov
			} else {
				required = 1
			}
		}
		if required != 0 {
			layer = l
			break
		}
		if l >= pref {
			break
		}
	}
	if required == 0 || float64(required) > virtual {
		return 0
	}
	sc.provisional = layer
	return min(uint64(required), bitrate)
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
	prov := sc.provisional
	sc.provisional = -1
	best := c.bestLayer()
	if prov >= 0 {
		c.setTemporalTarget(sc.temporalTarget(prov), prov)
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
	return prov < best
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
