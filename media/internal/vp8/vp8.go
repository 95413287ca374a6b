// Package vp8 owns the VP8 RTP payload descriptor (RFC 7741 4.2): parsing
// it, detecting key frames, rewriting its picture ID and TL0PICIDX in
// place, and the per-consumer encoding context that keeps those values
// continuous across simulcast stream switches while dropping frames above
// a target temporal layer (mediasoup's Codecs/VP8.cpp EncodingContext and
// PayloadDescriptorHandler::Process). Nothing here allocates.
package vp8

import "errors"

// ErrShort is returned for a payload that ends inside its descriptor.
var ErrShort = errors.New("vp8: payload descriptor truncated")

// Descriptor is a parsed VP8 payload descriptor.
type Descriptor struct {
	Extended     bool  // X
	NonReference bool  // N
	Start        bool  // S
	PartitionID  uint8 // PID

	HasPictureID bool   // I
	LongPicture  bool   // M: the picture ID has 15 bits (else 7)
	PictureID    uint16 //
	HasTL0PicIdx bool   // L
	TL0PicIdx    uint8  //
	HasTID       bool   // T
	TID          uint8  //
	LayerSync    bool   // Y
	HasKeyIdx    bool   // K
	KeyIdx       uint8  //

	// KeyFrame: the payload starts partition 0 of a key frame.
	KeyFrame bool
	// Len is the length of the descriptor in bytes.
	Len int

	// Offsets of the picture ID and TL0PICIDX in the payload.
	picOff, tl0Off uint8
}

// Parse reads the descriptor at the start of payload p into d.
func Parse(p []byte, d *Descriptor) error {
	*d = Descriptor{}
	if len(p) < 1 {
		return ErrShort
	}
	b := p[0]
	d.Extended, d.NonReference, d.Start, d.PartitionID = b&0x80 != 0, b&0x20 != 0, b&0x10 != 0, b&0x07
	i := 1
	if d.Extended {
		if len(p) < 2 {
			return ErrShort
		}
		ext := p[1]
		i = 2
		if ext&0x80 != 0 {
			if len(p) <= i {
				return ErrShort
			}
			d.HasPictureID, d.picOff = true, uint8(i)
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
		if ext&0x40 != 0 {
			if len(p) <= i {
				return ErrShort
			}
			d.HasTL0PicIdx, d.tl0Off, d.TL0PicIdx = true, uint8(i), p[i]
			i++
		}
		if t, k := ext&0x20 != 0, ext&0x10 != 0; t || k {
			if len(p) <= i {
				return ErrShort
			}
			if t {
				d.HasTID, d.TID, d.LayerSync = true, p[i]>>6, p[i]&0x20 != 0
			}
			if k {
				d.HasKeyIdx, d.KeyIdx = true, p[i]&0x1f
			}
			i++
		}
	}
	d.Len = i
	d.KeyFrame = d.Start && d.PartitionID == 0 && len(p) > i && p[i]&0x01 == 0
	return nil
}

// pictureMask is the modulus of d's picture IDs.
func (d *Descriptor) pictureMask() uint16 {
	if d.LongPicture {
		return 0x7fff
	}
	return 0x7f
}

// Write stores picture ID pic and TL0PICIDX tl0 into payload p, whose
// descriptor d was parsed from (fields p lacks are left alone; a 7-bit
// picture ID keeps its low 7 bits).
func (d *Descriptor) Write(p []byte, pic uint16, tl0 uint8) {
	if d.HasPictureID {
		if d.LongPicture {
			p[d.picOff], p[d.picOff+1] = 0x80|byte(pic>>8)&0x7f, byte(pic)
		} else {
			p[d.picOff] = byte(pic) & 0x7f
		}
	}
	if d.HasTL0PicIdx {
		p[d.tl0Off] = tl0
	}
}
