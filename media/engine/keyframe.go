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
)

func keyFrameCodec(mime string) uint8 {
	switch strings.ToLower(mime) {
	case "video/vp8":
		return kfVP8
	case "video/h264":
		return kfH264
	case "video/vp9":
		return kfVP9
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
