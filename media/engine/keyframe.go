package engine

import (
	"strings"

	"github.com/ropehq/rope/media/internal/vp9"
)

// Codecs whose key frames the engine recognises (consumers wait for one
// after a sync, as mediasoup's do).
const (
	kfNone uint8 = iota
	kfVP8
	kfH264
	kfVP9
	kfH265
	kfAV1
)

func keyFrameCodec(mime string) uint8 {
	switch strings.ToLower(mime) {
	case "video/vp8":
		return kfVP8
	case "video/h264":
		return kfH264
	case "video/vp9":
		return kfVP9
	case "video/h265":
		return kfH265
	case "video/av1":
		return kfAV1
	}
	return kfNone
}

// isKeyFrame inspects an RTP payload for the start of a key frame.
func isKeyFrame(codec uint8, payload []byte) bool {
	switch codec {
	case kfVP8:
		return vp8KeyFrame(payload)
	case kfH264:
		return h264KeyFrame(payload)
	case kfVP9:
		return vp9KeyFrame(payload)
	case kfH265:
		return h265KeyFrame(payload)
	case kfAV1:
		return av1KeyFrame(payload)
	}
	return false
}

// vp8KeyFrame parses the VP8 payload descriptor (RFC 7741 4.2) and checks
// the P bit of the frame header at the start of a partition 0.
func vp8KeyFrame(b []byte) bool {
	if len(b) < 1 {
		return false
	}
	x, s, pid := b[0]&0x80 != 0, b[0]&0x10 != 0, b[0]&0x07
	i := 1
	if x {
		if len(b) < 2 {
			return false
		}
		ext := b[1]
		i = 2
		if ext&0x80 != 0 { // I: picture id
			if len(b) <= i {
				return false
			}
			if b[i]&0x80 != 0 {
				i++
			}
			i++
		}
		if ext&0x40 != 0 { // L
			i++
		}
		if ext&0x30 != 0 { // T or K
			i++
		}
	}
	if !s || pid != 0 || len(b) <= i {
		return false
	}
	return b[i]&0x01 == 0
}

// h264KeyFrame looks for an IDR or SPS NAL unit (single, STAP-A, FU-A start).
func h264KeyFrame(b []byte) bool {
	if len(b) < 1 {
		return false
	}
	switch nal := b[0] & 0x1f; {
	case nal == 5 || nal == 7:
		return true
	case nal == 24: // STAP-A
		for i := 1; i+2 < len(b); {
			size := int(b[i])<<8 | int(b[i+1])
			if t := b[i+2] & 0x1f; t == 5 || t == 7 {
				return true
			}
			i += 2 + size
		}
	case nal == 28 || nal == 29: // FU-A/B
		return len(b) >= 2 && b[1]&0x80 != 0 && (b[1]&0x1f == 5 || b[1]&0x1f == 7)
	}
	return false
}

// vp9KeyFrame: the payload descriptor starts a layer frame (B) of the
// base spatial layer (SID 0) that is not inter-picture predicted (P), as
// mediasoup's: the upper spatial layers of a key picture are not key
// frames a receiver can start from.
func vp9KeyFrame(b []byte) bool {
	var d vp9.Descriptor
	return vp9.Parse(b, &d) == nil && d.KeyFrame
}

// H265 NAL unit types (RFC 7798 and H.265 table 7-1).
const (
	h265IRAPFirst = 16 // BLA_W_LP
	h265IRAPLast  = 21 // CRA_NUT
	h265AP        = 48 // aggregation packet
	h265FU        = 49 // fragmentation unit
)

// h265KeyFrame looks for an IRAP NAL unit (types 16 to 21: BLA, IDR,
// CRA) as mediasoup's H265 parser does: a single NAL unit, any unit of an
// aggregation packet (one with a malformed unit is not a key frame), the
// start of a fragmentation unit. NAL unit headers with the forbidden bit
// set or a zero TemporalIdPlus1 are refused.
func h265KeyFrame(b []byte) bool {
	if len(b) < 2 || !h265ValidHeader(b) {
		return false
	}
	switch t := h265Type(b); {
	case t == h265AP:
		return h265APKeyFrame(b)
	case t == h265FU:
		return len(b) >= 3 && b[2]&0x80 != 0 && b[2]&0x40 == 0 && h265IRAP(b[2]&0x3f)
	case t < h265AP:
		return h265IRAP(t)
	}
	return false // PACI and reserved types
}

func h265Type(b []byte) uint8       { return b[0] >> 1 & 0x3f }
func h265IRAP(t uint8) bool         { return t >= h265IRAPFirst && t <= h265IRAPLast }
func h265ValidHeader(b []byte) bool { return b[0]&0x80 == 0 && b[1]&0x07 != 0 }

// h265APKeyFrame walks an aggregation packet's units (16-bit sizes, no
// DONL fields: sprop-max-don-diff 0, as WebRTC senders use).
func h265APKeyFrame(b []byte) bool {
	key := false
	i := 2
	for i+2 <= len(b) {
		size := int(b[i])<<8 | int(b[i+1])
		i += 2
		if size < 2 || i+size > len(b) || !h265ValidHeader(b[i:]) || h265Type(b[i:]) >= h265AP {
			return false
		}
		key = key || h265IRAP(h265Type(b[i:]))
		i += size
	}
	return key && i == len(b)
}

// AV1 OBU types (AV1 spec 6.2.2).
const av1OBUSequenceHeader = 1

// av1KeyFrame reads the AV1 RTP aggregation header (AV1 RTP spec 4.4):
// the N bit marks the first packet of a coded video sequence, which
// starts with a key frame. A sender that does not set N is caught by a
// sequence header OBU among the packet's OBU elements (every key frame
// carries one; a first element continuing an OBU of the previous packet,
// Z set, is skipped).
func av1KeyFrame(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	agg := b[0]
	if agg&0x08 != 0 { // N
		return true
	}
	z, w := agg&0x80 != 0, int(agg>>4&0x03)
	i := 1
	for n := 1; i < len(b); n++ {
		size := len(b) - i // the last element (W elements) has no length field
		if w == 0 || n < w {
			v, l := leb128(b[i:])
			if l == 0 || v > uint64(len(b)-i-l) {
				return false
			}
			i += l
			size = int(v)
		}
		if !(n == 1 && z) && size > 0 && b[i]>>3&0x0f == av1OBUSequenceHeader {
			return true
		}
		i += size
		if w != 0 && n == w {
			break
		}
	}
	return false
}

// leb128 reads an unsigned LEB128 value (at most 8 bytes, AV1 spec 4.10.5)
// and returns it and its length (0: malformed).
func leb128(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < 8 && i < len(b); i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return v, i + 1
		}
	}
	return 0, 0
}
