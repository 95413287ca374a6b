package engine

import "github.com/ropehq/rope/media"

// dumpLayers fills the layer fields of a simulcast or SVC consumer's
// dump, as mediasoup's SimulcastConsumer and SvcConsumer dump them
// (-1: none).
func (c *consumer) dumpLayers(d *media.ConsumerDump) {
	var ps, pt, ts, tt, cs, ct int
	switch {
	case c.sim != nil:
		sc := c.sim
		ps, pt = int(sc.preferred.Load()), int(sc.preferredTemporal.Load())
		ts, tt = int(sc.target.Load()), int(sc.targetTemporal.Load())
		c.mu.Lock()
		cs, ct = sc.current, -1
		if cs >= 0 {
			ct = sc.currentTemporal()
		}
		c.mu.Unlock()
	case c.svc != nil:
		v := c.svc
		ps, pt = int(v.preferredSpatial.Load()), int(v.preferredTemporal.Load())
		c.mu.Lock()
		ts, tt = v.ctx.Target()
		cs, ct = v.ctx.Current()
		c.mu.Unlock()
	default:
		return
	}
	if ts < 0 {
		tt = -1
	}
	if cs < 0 {
		ct = -1
	}
	d.PreferredSpatialLayer, d.PreferredTemporalLayer = &ps, &pt
	d.TargetSpatialLayer, d.TargetTemporalLayer = &ts, &tt
	d.CurrentSpatialLayer, d.CurrentTemporalLayer = &cs, &ct
}
