// Package vp9 owns the VP9 RTP payload descriptor (RFC 9628 4.2): parsing
// it in flexible and non-flexible mode, with its layer indices, reference
// differences and scalability structure, and detecting key frames as
// mediasoup's Codecs/VP9.cpp does. Nothing here allocates.
//
// Picture IDs are not rewritten: in both modes a receiver derives
// references from picture ID differences (P_DIFF, or the scalability
// structure's group of frames), so a consumer that drops layers must keep
// them as sent; mediasoup keeps them too (its picture ID manager only tells
// old packets from new ones).
package vp9

import "errors"

// ErrShort is returned for a payload that ends inside its descriptor.
var ErrShort = errors.New("vp9: payload descriptor truncated")

// ErrInvalid is returned for a descriptor whose fields contradict each
// other (more than three reference differences).
var ErrInvalid = errors.New("vp9: invalid payload descriptor")

// MaxSpatialLayers is the most spatial layers a descriptor can name
// (SID and N_S have 3 bits).
const MaxSpatialLayers = 8

// Descriptor is a parsed VP9 payload descriptor.
type Descriptor struct {
	HasPictureID bool // I
	Predicted    bool // P: inter-picture predicted layer frame
	HasLayers    bool // L: layer indices present
	Flexible     bool // F
	Start        bool // B: start of a layer frame
	End          bool // E: end of a layer frame
	HasSS        bool // V: scalability structure present
	NotReference bool // Z: not used for inter-layer prediction by the next spatial layer

	LongPicture bool   // M: the picture ID has 15 bits (else 7)
	PictureID   uint16 //

	TID          uint8 // temporal layer (0 without L)
	SwitchingUp  bool  // U: switching up point
	SID          uint8 // spatial layer (0 without L)
	InterLayer   bool  // D: inter-layer dependency
	HasTL0PicIdx bool  // non-flexible mode with L
	TL0PicIdx    uint8 //

	// NumPDiffs reference differences (flexible mode, P set) are in PDiff.
	NumPDiffs uint8
	PDiff     [3]uint8

	// KeyFrame: the payload starts the base spatial layer of a key frame
	// (P clear, B set, SID 0), as mediasoup's isKeyFrame.
	KeyFrame bool
	// Len is the length of the descriptor in bytes, the scalability
	// structure included.
	Len int

	// ssOff is the offset of the scalability structure (if HasSS).
	ssOff int
}

// Parse reads the descriptor at the start of payload p into d.
func Parse(p []byte, d *Descriptor) error {
	*d = Descriptor{}
	if len(p) < 1 {
		return ErrShort
	}
	b := p[0]
	d.HasPictureID, d.Predicted, d.HasLayers, d.Flexible = b&0x80 != 0, b&0x40 != 0, b&0x20 != 0, b&0x10 != 0
	d.Start, d.End, d.HasSS, d.NotReference = b&0x08 != 0, b&0x04 != 0, b&0x02 != 0, b&0x01 != 0
	i := 1
	if d.HasPictureID {
		if len(p) <= i {
			return ErrShort
		}
		if p[i]&0x80 != 0 {
			if len(p) <= i+1 {
				return ErrShort
			}
			d.LongPicture = true
			d.PictureID = uint16(p[i]&0x7f)<<8 | uint16(p[i+1])
			i++
		} else {
			d.PictureID = uint16(p[i])
		}
		i++
	}
	if d.HasLayers {
		if len(p) <= i {
			return ErrShort
		}
		l := p[i]
		d.TID, d.SwitchingUp, d.SID, d.InterLayer = l>>5, l&0x10 != 0, l>>1&0x07, l&0x01 != 0
		i++
		if !d.Flexible {
			if len(p) <= i {
				return ErrShort
			}
			d.HasTL0PicIdx, d.TL0PicIdx = true, p[i]
			i++
		}
	}
	if d.Flexible && d.Predicted {
		for {
			if d.NumPDiffs == 3 {
				return ErrInvalid
			}
			if len(p) <= i {
				return ErrShort
			}
			d.PDiff[d.NumPDiffs] = p[i] >> 1
			d.NumPDiffs++
			i++
			if p[i-1]&0x01 == 0 {
				break
			}
		}
	}
	if d.HasSS {
		d.ssOff = i
		n, err := ssLen(p[i:])
		if err != nil {
			return err
		}
		i += n
	}
	d.Len = i
	d.KeyFrame = !d.Predicted && d.Start && d.SID == 0
	return nil
}

// PictureMask is the modulus of d's picture IDs.
func (d *Descriptor) PictureMask() uint16 {
	if d.LongPicture {
		return 0x7fff
	}
	return 0x7f
}

// Resolution is a spatial layer's frame size.
type Resolution struct{ Width, Height uint16 }

// GroupPicture is one picture of a scalability structure's group of
// frames.
type GroupPicture struct {
	TID         uint8
	SwitchingUp bool
	NumPDiffs   uint8
	PDiff       [3]uint8
}

// SS is a scalability structure (RFC 9628 4.2.1).
type SS struct {
	// SpatialLayers is N_S + 1.
	SpatialLayers int
	// Resolutions of the spatial layers (if HasResolutions: Y).
	HasResolutions bool
	Resolutions    [MaxSpatialLayers]Resolution
	// The group of frames (if HasGroup: G): NumPictures of Pictures.
	HasGroup    bool
	NumPictures int
	Pictures    [255]GroupPicture
}

// ParseSS reads the scalability structure of payload p, whose descriptor
// d was parsed from, into ss; false if d has none.
func (d *Descriptor) ParseSS(p []byte, ss *SS) bool {
	if !d.HasSS || d.ssOff >= len(p) {
		return false
	}
	p = p[d.ssOff:]
	*ss = SS{SpatialLayers: int(p[0]>>5) + 1, HasResolutions: p[0]&0x10 != 0, HasGroup: p[0]&0x08 != 0}
	i := 1
	if ss.HasResolutions {
		for l := range ss.SpatialLayers {
			ss.Resolutions[l] = Resolution{uint16(p[i])<<8 | uint16(p[i+1]), uint16(p[i+2])<<8 | uint16(p[i+3])}
			i += 4
		}
	}
	if ss.HasGroup {
		ss.NumPictures = int(p[i])
		i++
		for g := range ss.NumPictures {
			pic := &ss.Pictures[g]
			pic.TID, pic.SwitchingUp, pic.NumPDiffs = p[i]>>5, p[i]&0x10 != 0, p[i]>>2&0x03
			i++
			for r := range pic.NumPDiffs {
				pic.PDiff[r] = p[i]
				i++
			}
		}
	}
	return true
}

// ssLen returns the length of the scalability structure at the start of
// p, checking that it is all there.
func ssLen(p []byte) (int, error) {
	if len(p) < 1 {
		return 0, ErrShort
	}
	ns, y, g := int(p[0]>>5)+1, p[0]&0x10 != 0, p[0]&0x08 != 0
	i := 1
	if y {
		i += 4 * ns
	}
	if g {
		if len(p) <= i {
			return 0, ErrShort
		}
		ng := int(p[i])
		i++
		for range ng {
			if len(p) <= i {
				return 0, ErrShort
			}
			i += 1 + int(p[i]>>2&0x03)
		}
	}
	if len(p) < i {
		return 0, ErrShort
	}
	return i, nil
}
