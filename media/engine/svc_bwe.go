package engine

import (
	"github.com/ropehq/rope/media/ortc"
)

// An SVC consumer's side of the bitrate distribution (bwe_layers.go), as
// mediasoup's SvcConsumer IncreaseLayer, ApplyLayers and
// GetDesiredBitrate, over its producer stream's bitrates by layer
// (mediasoup's RtpStreamRecv::TransmissionCounter). Only the transport's
// RTCP goroutine calls the consumer methods here.

// initLayerRates gives an SVC stream a bitrate counter per layer.
func (s *recvStream) initLayerRates(sm ortc.ScalabilityMode) {
	sl, tl := min(max(sm.SpatialLayers, 1), 8), min(max(sm.TemporalLayers, 1), 8)
	s.layerRates, s.layerT = make([]rate, sl*tl), tl
}

// countLayer adds a packet of n bytes to its layer's counter (layers
// above the declared ones count as the highest). Call with ingress held.
func (s *recvStream) countLayer(pk *packet, n int, now int64) {
	l := pk.svcLayers()
	if l == nil {
		return
	}
	sl := min(int(l.Spatial), len(s.layerRates)/s.layerT-1)
	tl := min(int(l.Temporal), s.layerT-1)
	s.layerRates[sl*s.layerT+tl].add(now, n)
}

// layerBitrate is the bitrate of layer spatial, temporal alone
// (mediasoup GetLayerBitrate). Call with ingress held.
func (s *recvStream) layerBitrate(now int64, spatial, temporal int) uint64 {
	if s.layerRates == nil || spatial*s.layerT+temporal >= len(s.layerRates) {
		return 0
	}
	return s.layerRates[spatial*s.layerT+temporal].early(now)
}

// spatialBitrate is the bitrate of all temporal layers of spatial layer
// spatial (mediasoup GetSpatialLayerBitrate). Call with ingress held.
func (s *recvStream) spatialBitrate(now int64, spatial int) uint64 {
	var r uint64
	for t := range s.layerT {
		r += s.layerBitrate(now, spatial, t)
	}
	return r
}

// bitrateUpTo is what forwarding up to spatial, temporal takes: every
// layer of the lower spatial layers and this one's up to temporal; 0 if
// that layer is not received (mediasoup GetBitrate(spatial, temporal)).
// Call with ingress held.
func (s *recvStream) bitrateUpTo(now int64, spatial, temporal int) uint64 {
	if s.layerBitrate(now, spatial, temporal) == 0 {
		return 0
	}
	var r uint64
	for l := range spatial {
		r += s.spatialBitrate(now, l)
	}
	for t := 0; t <= temporal; t++ {
		r += s.layerBitrate(now, spatial, t)
	}
	return r
}

// totalBitrate is the stream's bitrate over all layers.
func (s *recvStream) totalBitrate(now int64) uint64 {
	var r uint64
	for i := range s.layerRates {
		r += s.layerRates[i].early(now)
	}
	return r
}

func (v *svcLayers) resetProvisional() {
	v.provisionalSpatial, v.provisionalTemporal = -1, -1
}

// svcIncreaseLayer takes the next layer up (in spatial, then temporal
// order, up to the preferred ones) whose bitrate fits and returns the
// bitrate it adds (0: none).
func (c *consumer) svcIncreaseLayer(bitrate uint64, considerLoss bool, now int64) uint64 {
	v := c.svc
	if v.provisionalSpatial == int(v.preferredSpatial.Load()) && v.provisionalTemporal == int(v.preferredTemporal.Load()) {
		return 0
	}
	virtual := c.virtualBitrate(bitrate, considerLoss)
	c.mu.Lock()
	current, _ := v.ctx.Current()
	c.mu.Unlock()
	p := c.producer
	p.ingress.Lock()
	s := p.streams[0]
	if !s.alive(now) {
		p.ingress.Unlock()
		return 0
	}
	required, spatial, temporal := v.nextLayer(s, current, now)
	p.ingress.Unlock()
	if required == 0 || float64(required) > virtual {
		return 0
	}
	v.provisionalSpatial, v.provisionalTemporal = spatial, temporal
	return min(required, bitrate)
}

// nextLayer is the search of mediasoup's SvcConsumer::IncreaseLayer: the
// first layer above the provisional ones that the producer sends, and
// the bitrate it adds (in K-SVC, a new spatial layer replaces the
// provisional one). Call with ingress held.
func (v *svcLayers) nextLayer(s *recvStream, current int, now int64) (required uint64, spatial, temporal int) {
	pref := int(v.preferredSpatial.Load())
	provS, provT := v.provisionalSpatial, v.provisionalTemporal
	for spatial = 0; spatial < v.spatialLayers; spatial++ {
		if now-v.lastBweDowngradeAt < int64(bweDowngradeConservative) && provS > -1 && spatial > current {
			return 0, 0, 0
		}
		if spatial < provS {
			continue
		}
		for temporal = 0; temporal < v.temporalLayers; temporal++ {
			if spatial == provS && temporal <= provT {
				continue
			}
			required = s.layerBitrate(now, spatial, temporal)
			if v.ksvc && required != 0 && temporal == 0 && provS > -1 && spatial > provS {
				if prov := s.bitrateUpTo(now, provS, provT); required > prov {
					required -= prov
				} else {
					required = 1
				}
			}
			if required != 0 {
				return required, spatial, temporal
			}
			break
		}
		if spatial >= pref {
			break
		}
	}
	return 0, 0, 0
}

// svcApplyLayers makes the provisional layers the target ones and
// reports whether they are below what the consumer would take without
// the estimate.
func (c *consumer) svcApplyLayers(now int64) bool {
	v := c.svc
	provS, provT := v.provisionalSpatial, v.provisionalTemporal
	v.resetProvisional()
	if !c.isActive() {
		return false
	}
	c.mu.Lock()
	ts, tt := v.ctx.Target()
	current, _ := v.ctx.Current()
	c.mu.Unlock()
	if provS != ts || provT != tt {
		c.setSVCTarget(provS, provT)
		if now-c.activeSince.Load() > int64(bweDowngradeMinActive) && provS < current && current <= int(v.preferredSpatial.Load()) {
			v.lastBweDowngradeAt = now
		}
	}
	bestS, bestT := c.targetLayers(now)
	return provS < bestS || provS == bestS && provT < bestT
}

// svcDesiredBitrate is the bitrate the consumer would use without limit:
// the whole stream's (in K-SVC, its highest spatial layer's), or its
// encoding's maxBitrate if higher.
func (c *consumer) svcDesiredBitrate(now int64) uint64 {
	var d uint64
	p := c.producer
	p.ingress.Lock()
	s := p.streams[0]
	if c.svc.ksvc {
		for l := c.svc.spatialLayers - 1; l >= 0; l-- {
			d = max(d, s.spatialBitrate(now, l))
		}
	} else {
		d = s.totalBitrate(now)
	}
	p.ingress.Unlock()
	if len(c.params.Encodings) > 0 {
		d = max(d, uint64(max(c.params.Encodings[0].MaxBitrate, 0)))
	}
	return d
}
