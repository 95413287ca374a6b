package engine

import (
	"strings"
	"sync/atomic"
	"time"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/rtppkt"
	"github.com/ropehq/rope/media/internal/svc"
	"github.com/ropehq/rope/media/internal/vp9"
	"github.com/ropehq/rope/media/ortc"
)

// svcLayers is the layer state of an SVC consumer (mediasoup
// SvcConsumer): its producer sends one stream carrying several spatial
// and temporal layers (VP9 L3T3, L3T3_KEY, L1T3 ...; AV1 L2T3, L3T3,
// L3T3_KEY ... by its dependency descriptor, av1svc.go), and the consumer
// forwards the packets of the layers up to its target ones (svc.Context),
// renumbering them so that the dropped ones leave no gap
// (rtppkt.SeqWindow) and setting the marker bit where its highest spatial
// layer ends a picture.
//
// Without bandwidth estimation the target is the preferred spatial layer
// or the highest one below it that the producer sends (retargetSVC);
// with it the transport's distribution sets it (svc_bwe.go). Spatial
// upgrades (and, in K-SVC, every spatial switch) wait for a key frame,
// which the consumer requests on every RTCP tick while it waits.
type svcLayers struct {
	spatialLayers, temporalLayers int
	ksvc                          bool

	// preferred layers, read on other goroutines.
	preferredSpatial, preferredTemporal atomic.Int32

	// Guarded by consumer.mu.
	ctx           *svc.Context
	seq           rtppkt.SeqWindow
	layersChanged bool
	// ddUp: bit t set, an AV1 frame of temporal layer t is a switching-up
	// point for this consumer (av1svc.go).
	ddUp uint8

	// The bitrate distribution's state (the transport's RTCP goroutine).
	provisionalSpatial, provisionalTemporal int
	lastBweDowngradeAt                      int64
	// bestSpatial is the spatial layer targetLayers gave on the last
	// tick: a change asks for a distribution.
	bestSpatial int
}

// isSVC reports whether params (a producer's, or its consumable ones)
// make an SVC stream, by mediasoup's RtpParameters::GetType: one encoding
// whose scalabilityMode has more than one spatial or temporal layer, of a
// codec that carries its layers in one stream: VP9, and AV1 with more
// than one spatial layer (L2T3, L3T3, L3T3_KEY ...; its layers come from
// the dependency descriptor, av1svc.go). (mediasoup makes such an
// encoding of VP8 or H264 a one-stream simulcast producer; the engine
// keeps those, and AV1 L1Tn, out of the SVC consumer.)
func isSVC(params media.RtpParameters) bool {
	if len(params.Encodings) != 1 {
		return false
	}
	sm := ortc.ParseScalabilityMode(params.Encodings[0].ScalabilityMode)
	return (sm.SpatialLayers > 1 || sm.TemporalLayers > 1) && svcCodec(encodingMime(params), sm)
}

// encodingMime is the media codec of the first encoding.
func encodingMime(params media.RtpParameters) string {
	pt := params.Encodings[0].CodecPayloadType
	for _, c := range params.Codecs {
		if !isRtx(c.MimeType) && (pt == nil || *pt == c.PayloadType) {
			return c.MimeType
		}
	}
	return ""
}

// svcCodec reports whether the engine reads layers of codec mime, sent
// with scalability mode sm, for an SVC consumer: VP9 from its payload
// descriptor, AV1 with spatial layers from its dependency descriptor.
func svcCodec(mime string, sm ortc.ScalabilityMode) bool {
	return strings.EqualFold(mime, "video/vp9") || strings.EqualFold(mime, "video/av1") && sm.SpatialLayers > 1
}

func newSVCLayers(params media.RtpParameters, preferred *media.ConsumerLayers) *svcLayers {
	sm := ortc.ParseScalabilityMode(params.Encodings[0].ScalabilityMode)
	sm.SpatialLayers = min(sm.SpatialLayers, vp9.MaxSpatialLayers)
	sm.TemporalLayers = min(sm.TemporalLayers, 8)
	v := &svcLayers{
		spatialLayers: sm.SpatialLayers, temporalLayers: sm.TemporalLayers, ksvc: sm.KSVC,
		ctx:                svc.NewContext(sm.SpatialLayers, sm.TemporalLayers, sm.KSVC),
		provisionalSpatial: -1, provisionalTemporal: -1,
		lastBweDowngradeAt: -int64(bweDowngradeConservative),
	}
	ps, pt := sm.SpatialLayers-1, sm.TemporalLayers-1
	if preferred != nil {
		ps = min(max(preferred.SpatialLayer, 0), ps)
		if preferred.TemporalLayer != nil {
			pt = min(max(*preferred.TemporalLayer, 0), pt)
		}
	}
	v.preferredSpatial.Store(int32(ps))
	v.preferredTemporal.Store(int32(pt))
	return v
}

// svcLayers returns the packet's layer facts, or nil if its payload
// carries none the engine reads.
func (pk *packet) svcLayers() *svc.Packet {
	if pk.svcState == 0 {
		pk.svcState = -1
		switch {
		case pk.kfCodec == kfVP9 && vp9Layers(pk.payload(), &pk.svc):
			pk.svcState = 1
		case pk.av1DD() != nil:
			av1Layers(&pk.dd, &pk.svc)
			pk.svcState = 1
		}
	}
	if pk.svcState < 0 {
		return nil
	}
	return &pk.svc
}

// payload is the packet's payload without padding.
func (pk *packet) payload() []byte {
	end := len(pk.b)
	if pk.b[0]&0x20 != 0 && end > pk.hdrLen {
		end -= int(pk.b[end-1])
	}
	if end < pk.hdrLen {
		return nil
	}
	return pk.b[pk.hdrLen:end]
}

// vp9Layers fills l from the VP9 payload descriptor of p.
func vp9Layers(p []byte, l *svc.Packet) bool {
	var d vp9.Descriptor
	if vp9.Parse(p, &d) != nil {
		return false
	}
	*l = svc.Packet{
		Spatial: d.SID, Temporal: d.TID, Start: d.Start, End: d.End, SwitchingUp: d.SwitchingUp,
		Predicted: d.Predicted, KeyFrame: d.KeyFrame,
		HasPicture: d.HasPictureID, Picture: d.PictureID, PictureMask: d.PictureMask(),
	}
	return true
}

// accept decides whether pk goes out on s and with which sequence number
// and marker bit. Call with consumer.mu held.
func (v *svcLayers) accept(pk *packet, s *sendStream) (out uint16, marker, ok bool) {
	if ts, _ := v.ctx.Target(); ts < 0 {
		// No layer: forwarding resumes at a key frame, numbered on.
		s.syncRequired = true
		return 0, false, false
	}
	if s.syncRequired {
		if !pk.keyFrame() {
			return 0, false, false
		}
		v.seq.Sync(pk.seq - 1)
		v.ctx.SyncRequired()
		s.syncRequired = false
	}
	if len(pk.payload()) == 0 {
		v.seq.Drop(pk.seq) // padding only
		return 0, false, false
	}
	if l := pk.svcLayers(); l != nil {
		ps, pt := v.ctx.Current()
		var fwd, m bool
		if pk.av1DD() != nil {
			fwd, m = v.processAV1(pk, l)
		} else {
			fwd, m = v.ctx.Process(l)
		}
		if !fwd {
			v.seq.Drop(pk.seq)
			return 0, false, false
		}
		if cs, ct := v.ctx.Current(); cs != ps || ct != pt {
			v.layersChanged = true
		}
		marker = m
	}
	out, ok = v.seq.Input(pk.seq)
	return out, marker, ok
}

// targetLayers is mediasoup's RecalculateTargetLayers: the preferred
// spatial layer, or the highest below it the producer sends (the lowest
// sent if none is), with the preferred temporal layer on the preferred
// spatial one, all temporal layers below it and the base one above;
// -1, -1 while the producer's stream is not alive. Until a layer's
// bitrate is known (100 ms after it starts) it is the preferred one.
func (c *consumer) targetLayers(now int64) (spatial, temporal int) {
	v := c.svc
	pref := int(v.preferredSpatial.Load())
	spatial, temporal = -1, -1
	c.mu.Lock()
	current, _ := v.ctx.Current()
	c.mu.Unlock()
	p := c.producer
	p.ingress.Lock()
	s := p.streams[0]
	if !s.started {
		// Nothing received yet: the preferred layers, so that the first
		// key frame is forwarded (mediasoup has no target until the
		// producer's stream exists and then waits for a key frame).
		spatial = pref
	} else if s.alive(now) {
		for l := range v.spatialLayers {
			if now-v.lastBweDowngradeAt < int64(bweDowngradeConservative) && spatial > -1 && l > current {
				continue
			}
			if s.spatialBitrate(now, l) == 0 {
				continue
			}
			spatial = l
			if l >= pref {
				break
			}
		}
		if spatial < 0 {
			spatial = pref // no layer's bitrate known yet
		}
	}
	p.ingress.Unlock()
	switch {
	case spatial < 0:
	case spatial == pref:
		temporal = int(v.preferredTemporal.Load())
	case spatial < pref:
		temporal = v.temporalLayers - 1
	default:
		temporal = 0
	}
	return spatial, temporal
}

// setSVCTarget makes spatial, temporal the target layers (mediasoup
// UpdateTargetLayers) and requests a key frame if reaching them needs one.
func (c *consumer) setSVCTarget(spatial, temporal int) {
	v := c.svc
	c.mu.Lock()
	ts, tt := v.ctx.Target()
	if ts == spatial && tt == temporal {
		c.mu.Unlock()
		return
	}
	cs, _ := v.ctx.Current()
	v.ctx.SetTarget(spatial, temporal)
	if spatial < 0 && cs >= 0 {
		v.layersChanged = true
	}
	need := c.active && v.ctx.NeedsKeyFrame()
	c.mu.Unlock()
	if need {
		c.producer.requestKeyFrame(0)
	}
}

// updateSVCLayers runs on the RTCP tick: it retargets (or, under the
// transport's bandwidth estimation, asks for a distribution when the
// spatial target would change), asks for a key frame while a switch
// waits for one, and reports whether the current layers changed.
func (c *consumer) updateSVCLayers(now int64) bool {
	v := c.svc
	if c.isActive() {
		spatial, temporal := c.targetLayers(now)
		if c.bweManaged() {
			if spatial != v.bestSpatial {
				v.bestSpatial = spatial
				c.transport.needDistribute.Store(true)
			}
		} else {
			c.setSVCTarget(spatial, temporal)
		}
	}
	c.mu.Lock()
	waiting := c.active && v.ctx.NeedsKeyFrame()
	changed := v.layersChanged
	v.layersChanged = false
	c.mu.Unlock()
	if waiting {
		c.producer.requestKeyFrame(0)
	}
	return changed
}

// svcActiveChanged applies a pause or resume to the layers (mediasoup
// UserOnPaused, UserOnResumed): paused, no target; resumed, a new one.
// Call with consumer.mu held.
func (v *svcLayers) activeChanged(active bool) {
	if !active {
		if cs, _ := v.ctx.Current(); cs >= 0 {
			v.layersChanged = true
		}
		v.ctx.SetTarget(-1, -1)
		v.lastBweDowngradeAt = -int64(bweDowngradeConservative)
	}
}

// svcPreferredLayers, svcCurrentLayers and setSVCPreferredLayers are the
// consumer's layer API for an SVC consumer.
func (c *consumer) svcPreferredLayers() *media.ConsumerLayers {
	t := int(c.svc.preferredTemporal.Load())
	return &media.ConsumerLayers{SpatialLayer: int(c.svc.preferredSpatial.Load()), TemporalLayer: &t}
}

func (c *consumer) svcCurrentLayers() *media.ConsumerLayers {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, t := c.svc.ctx.Current()
	if s < 0 || !c.active {
		return nil
	}
	t = max(t, 0)
	return &media.ConsumerLayers{SpatialLayer: s, TemporalLayer: &t}
}

// setSVCPreferredLayers clamps the layers to the stream's, as mediasoup
// does, and retargets at once.
func (c *consumer) setSVCPreferredLayers(l media.ConsumerLayers) error {
	v := c.svc
	if l.SpatialLayer < 0 {
		return &media.ParamError{Field: "spatialLayer", Reason: "out of range"}
	}
	if l.TemporalLayer != nil && *l.TemporalLayer < 0 {
		return &media.ParamError{Field: "temporalLayer", Reason: "out of range"}
	}
	t := v.temporalLayers - 1
	if l.TemporalLayer != nil {
		t = min(*l.TemporalLayer, t)
	}
	v.preferredSpatial.Store(int32(min(l.SpatialLayer, v.spatialLayers-1)))
	v.preferredTemporal.Store(int32(t))
	if !c.isActive() {
		return nil
	}
	if c.bweManaged() {
		c.transport.needDistribute.Store(true)
		return nil
	}
	c.setSVCTarget(c.targetLayers(nanotime()))
	return nil
}

// alive reports whether the stream has a score, or has received a
// packet within the last second and not been scored since (scores come
// with the RTCP tick). Call with ingress held.
func (s *recvStream) alive(now int64) bool {
	return s.score > 0 || s.started && now-s.lastPacketAt < int64(time.Second)
}
