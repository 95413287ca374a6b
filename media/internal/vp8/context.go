package vp8

// Context is one consumer's VP8 encoding context (mediasoup's
// VP8::EncodingContext): the temporal layer it targets and the one it
// forwards, and the picture ID and TL0PICIDX numbering it sends. The
// owner serialises calls.
type Context struct {
	target, current int
	syncRequired    bool
	pic, tl0        seqManager
}

// NewContext returns a context targeting temporal layer target.
func NewContext(target int) *Context {
	return &Context{target: target, current: -1}
}

// SyncRequired makes the next picture (of a new stream, after a switch)
// continue the outgoing picture IDs and TL0PICIDX.
func (c *Context) SyncRequired() { c.syncRequired = true }

// Target is the temporal layer the context forwards up to.
func (c *Context) Target() int { return c.target }

// SetTarget changes the target temporal layer: a lower one applies at
// once, a higher one at the next frame of that layer with its layer sync
// (Y) bit set.
func (c *Context) SetTarget(t int) { c.target = t }

// Current is the highest temporal layer being forwarded (-1: none yet).
func (c *Context) Current() int { return c.current }

// SetCurrent sets the current temporal layer (at a stream switch, to the
// key frame's).
func (c *Context) SetCurrent(t int) { c.current = t }

// Process decides whether the packet whose descriptor is d is forwarded
// and, if so, the picture ID and TL0PICIDX it goes out with (write them
// with d.Write). A frame above the target temporal layer, or above the
// current one without its layer sync bit, is dropped and its picture ID
// freed, so the receiver sees picture IDs without gaps.
func (c *Context) Process(d *Descriptor) (pic uint16, tl0 uint8, ok bool) {
	pm := d.pictureMask()
	if c.syncRequired && d.HasPictureID {
		c.pic.sync((d.PictureID-1)&pm, pm)
		if d.HasTL0PicIdx {
			c.tl0.sync(uint16(d.TL0PicIdx-1), 0xff)
		}
		c.syncRequired = false
	}
	if d.HasPictureID && d.HasTID && d.HasTL0PicIdx && (!c.pic.started || !higher(c.pic.maxInput, d.PictureID, pm)) {
		tid := int(d.TID)
		if tid > 0 && (tid > c.target || (tid > c.current && !d.LayerSync)) {
			c.pic.drop(d.PictureID, pm)
			if tid == 0 {
				c.tl0.drop(uint16(d.TL0PicIdx), 0xff)
			}
			return 0, 0, false
		}
	}
	if d.HasPictureID {
		if pic, ok = c.pic.input(d.PictureID, pm); !ok {
			return 0, 0, false
		}
	}
	if d.HasTL0PicIdx {
		var t uint16
		if t, ok = c.tl0.input(uint16(d.TL0PicIdx), 0xff); !ok {
			return 0, 0, false
		}
		tl0 = uint8(t)
	}
	switch {
	case d.HasTID && int(d.TID) > c.current:
		c.current = int(d.TID)
	case !d.HasTID:
		c.current = 0
	}
	if c.current > c.target {
		c.current = c.target
	}
	return pic, tl0, true
}
