// Package svc owns per-consumer layer selection for scalable video coding
// (one RTP stream carrying several spatial and temporal layers): which
// packets of such a stream a consumer forwards to reach a target spatial
// and temporal layer, when it may switch, and where its frames end. It is
// mediasoup's VP9 PayloadDescriptorHandler::Process with its
// EncodingContext, written over codec-neutral per-packet layer facts
// (Packet) so that VP9's payload descriptor and AV1's dependency
// descriptor both feed it. Nothing here allocates.
package svc

// Packet is what the layer selection needs to know of one RTP packet; a
// codec's parser fills it (VP9: media/internal/vp9).
type Packet struct {
	// Spatial and Temporal are the packet's layer indices.
	Spatial, Temporal uint8
	// Start and End: the packet starts / ends a layer frame (one spatial
	// layer of a picture).
	Start, End bool
	// SwitchingUp: a switch up to this temporal layer may start here
	// (VP9's U bit; AV1: the consumer forwarded a switch point of the
	// decode target of this layer and none of its frames was dropped
	// since, which the engine sets per consumer).
	SwitchingUp bool
	// Predicted: the layer frame is predicted from an earlier picture
	// (VP9's P bit); a non-predicted one depends on lower layers only.
	Predicted bool
	// KeyFrame: the packet starts the base layer of a key picture, from
	// which every layer can be decoded.
	KeyFrame bool
	// HasPicture says Picture is the picture's number modulo
	// PictureMask+1 (VP9 picture ID; AV1 frame number), used to tell
	// late packets from new ones.
	HasPicture  bool
	Picture     uint16
	PictureMask uint16
}

// Context is one consumer's layer state: the layers it targets, the ones
// it forwards, and the newest picture seen. The owner serialises calls.
type Context struct {
	spatialLayers, temporalLayers int
	// ksvc: spatial layers are independent except at key pictures
	// (scalabilityMode "_KEY" and S modes), so every spatial switch waits
	// for a key frame and, between key pictures, only the current
	// spatial layer is forwarded.
	ksvc bool

	targetSpatial, targetTemporal   int
	currentSpatial, currentTemporal int

	syncRequired bool
	picStarted   bool
	maxPicture   uint16
}

// NewContext returns a context for a stream of the given layer counts,
// targeting no layer yet.
func NewContext(spatialLayers, temporalLayers int, ksvc bool) *Context {
	return &Context{
		spatialLayers: max(spatialLayers, 1), temporalLayers: max(temporalLayers, 1), ksvc: ksvc,
		targetSpatial: -1, targetTemporal: -1, currentSpatial: -1, currentTemporal: -1,
	}
}

// SpatialLayers and TemporalLayers are the stream's layer counts.
func (c *Context) SpatialLayers() int  { return c.spatialLayers }
func (c *Context) TemporalLayers() int { return c.temporalLayers }

// KSVC reports whether spatial switches need a key frame.
func (c *Context) KSVC() bool { return c.ksvc }

// Target and Current are the target and forwarded layers (-1: none).
func (c *Context) Target() (spatial, temporal int)  { return c.targetSpatial, c.targetTemporal }
func (c *Context) Current() (spatial, temporal int) { return c.currentSpatial, c.currentTemporal }

// SetTarget changes the target layers; Process switches to them at the
// next packet where the codec allows. A spatial target of -1 stops
// forwarding and forgets the current layers (mediasoup
// UpdateTargetLayers(-1, -1)).
func (c *Context) SetTarget(spatial, temporal int) {
	if spatial < 0 || temporal < 0 {
		c.targetSpatial, c.targetTemporal, c.currentSpatial, c.currentTemporal = -1, -1, -1, -1
		return
	}
	c.targetSpatial, c.targetTemporal = min(spatial, c.spatialLayers-1), min(temporal, c.temporalLayers-1)
}

// NeedsKeyFrame reports whether reaching the target spatial layer waits
// for a key frame: any spatial change in K-SVC, an upgrade in full SVC
// (a downgrade there happens at the end of a target layer frame).
func (c *Context) NeedsKeyFrame() bool {
	if c.targetSpatial < 0 || c.targetSpatial == c.currentSpatial {
		return false
	}
	return c.ksvc || c.targetSpatial > c.currentSpatial
}

// SyncRequired makes the next packet with a picture number start the
// picture numbering afresh (after a gap in what the consumer forwards).
func (c *Context) SyncRequired() { c.syncRequired = true }

// Process decides whether p is forwarded and, if so, whether it goes out
// with the marker bit set (it ends the highest spatial layer forwarded of
// its picture); it moves the current layers towards the target ones.
func (c *Context) Process(p *Packet) (forward, marker bool) {
	if c.targetSpatial < 0 || c.targetTemporal < 0 {
		return false, false
	}
	sl, tl := int(p.Spatial), int(p.Temporal)
	if sl >= c.spatialLayers || tl >= c.temporalLayers {
		return false, false
	}
	if c.syncRequired && p.HasPicture {
		c.maxPicture, c.picStarted = (p.Picture-1)&p.PictureMask, true
		c.syncRequired = false
	}
	if p.HasPicture && c.picStarted && lower(p.Picture, c.maxPicture, p.PictureMask) {
		// A late packet of an earlier picture (the producer's
		// retransmission of one lost on the way): no switch happens
		// here. mediasoup forwards it whatever its layers; it goes only
		// within the layers being forwarded, so that a viewer never
		// gets more than its target.
		if sl > c.currentSpatial || tl > c.currentTemporal || (c.ksvc && p.Predicted && sl != c.currentSpatial) {
			return false, false
		}
		return true, sl == c.currentSpatial && p.End
	}
	tmpS, tmpT := c.currentSpatial, c.currentTemporal
	switch {
	case c.targetSpatial > c.currentSpatial:
		if p.KeyFrame {
			tmpS, tmpT = c.targetSpatial, 0
		}
	case c.targetSpatial < c.currentSpatial:
		if c.ksvc {
			if p.KeyFrame {
				tmpS, tmpT = c.targetSpatial, 0
			}
		} else if sl == c.targetSpatial && p.End {
			// mediasoup also resets the temporal layer to 0 here: the
			// rest of a picture above temporal layer 0 would then drop
			// this very frame (leaving its upper layers without their
			// reference) and the switch would wait for a base picture.
			tmpS = c.targetSpatial
		}
	}
	if sl > tmpS || (c.ksvc && p.Predicted && sl != tmpS) {
		return false, false
	}
	switch {
	case c.targetTemporal > c.currentTemporal:
		// mediasoup takes any higher layer here, above the target too
		// (that frame then goes out), and at the start of any layer
		// frame: one of an upper spatial layer would then go out without
		// the lower layers' frames of its picture, which it depends on.
		// The switch happens where a picture starts: at its base layer
		// (in K-SVC between key pictures, at the one layer forwarded).
		if tl >= c.currentTemporal+1 && tl <= c.targetTemporal && (c.currentTemporal == -1 || p.SwitchingUp) && p.Start &&
			(sl == 0 || c.ksvc && p.Predicted) {
			tmpT = tl
		}
	case c.targetTemporal < c.currentTemporal:
		if tl == c.targetTemporal && p.End {
			tmpT = c.targetTemporal
		}
	}
	if tl > tmpT {
		return false, false
	}
	marker = sl == tmpS && p.End
	if p.HasPicture {
		if !c.picStarted || lower(c.maxPicture, p.Picture, p.PictureMask) {
			c.maxPicture, c.picStarted = p.Picture&p.PictureMask, true
		}
	}
	c.currentSpatial, c.currentTemporal = tmpS, tmpT
	return true, marker
}

// lower reports whether a precedes b modulo mask+1.
func lower(a, b, mask uint16) bool {
	d := (b - a) & mask
	return d != 0 && d <= mask>>1
}
