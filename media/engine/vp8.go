package engine

// vp8Context keeps a simulcast consumer's VP8 picture IDs and TL0PICIDX
// continuous across layer switches, as mediasoup's VP8 EncodingContext:
// every encoding numbers its pictures on its own, and a receiver whose
// picture IDs jump at a switch may take the new layer's key frame for a
// gap and stall its decoder. At a switch the new layer's values are
// offset to follow the last ones sent; in between the offsets stay.
// Only 15-bit picture IDs (what browsers send) are rewritten. Guarded by
// consumer.mu; it runs on the forwarding path and does not allocate.
type vp8Context struct {
	picOffset         uint16
	tl0Offset         uint8
	lastPic           uint16
	lastTL0           uint8
	hasLastPic, hasTL bool
}

// vp8Fields finds the 15-bit picture ID and the TL0PICIDX in a VP8
// payload descriptor (RFC 7741 4.2); a negative position means absent.
func vp8Fields(p []byte) (pic, tl0 int) {
	pic, tl0 = -1, -1
	if len(p) < 2 || p[0]&0x80 == 0 {
		return
	}
	ext, i := p[1], 2
	if ext&0x80 != 0 { // I
		if len(p) <= i {
			return -1, -1
		}
		if p[i]&0x80 != 0 { // M: 15 bits
			if len(p) <= i+1 {
				return -1, -1
			}
			pic = i
			i++
		}
		i++
	}
	if ext&0x40 != 0 && len(p) > i { // L
		tl0 = i
	}
	return pic, tl0
}

// rewrite rewrites payload p's picture ID and TL0PICIDX in place; sync
// says p starts a new layer.
func (v *vp8Context) rewrite(p []byte, sync bool) {
	pic, tl0 := vp8Fields(p)
	if pic >= 0 {
		in := (uint16(p[pic])<<8 | uint16(p[pic+1])) & 0x7fff
		if sync {
			v.picOffset = 0
			if v.hasLastPic {
				v.picOffset = (v.lastPic + 1 - in) & 0x7fff
			}
		}
		out := (in + v.picOffset) & 0x7fff
		p[pic], p[pic+1] = 0x80|byte(out>>8), byte(out)
		if !v.hasLastPic || (out-v.lastPic)&0x7fff < 0x4000 {
			v.lastPic, v.hasLastPic = out, true
		}
	}
	if tl0 >= 0 {
		in := p[tl0]
		if sync {
			v.tl0Offset = 0
			if v.hasTL {
				v.tl0Offset = v.lastTL0 + 1 - in
			}
		}
		out := in + v.tl0Offset
		p[tl0] = out
		if !v.hasTL || out-v.lastTL0 < 0x80 {
			v.lastTL0, v.hasTL = out, true
		}
	}
}

// vp8Offset adds offsets to payload p's picture ID and TL0PICIDX (a
// retransmission, with the offsets its first sending had).
func vp8Offset(p []byte, picOffset uint16, tl0Offset uint8) {
	pic, tl0 := vp8Fields(p)
	if pic >= 0 {
		out := ((uint16(p[pic])<<8 | uint16(p[pic+1])) + picOffset) & 0x7fff
		p[pic], p[pic+1] = 0x80|byte(out>>8), byte(out)
	}
	if tl0 >= 0 {
		p[tl0] += tl0Offset
	}
}
