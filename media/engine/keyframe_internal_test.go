package engine

import "testing"

// TestKeyFrameH265AV1: key frames of H265 (IRAP NAL units alone, in
// aggregation packets and at the start of fragmentation units, as
// mediasoup's H265 parser) and AV1 (the aggregation header's N bit, or a
// sequence header OBU).
func TestKeyFrameH265AV1(t *testing.T) {
	for _, tc := range []struct {
		name  string
		codec uint8
		b     []byte
		want  bool
	}{
		{"h265 IDR_W_RADL", kfH265, []byte{19 << 1, 0x01, 0xaf}, true},
		{"h265 CRA", kfH265, []byte{21 << 1, 0x01, 0xaf}, true},
		{"h265 BLA_W_LP", kfH265, []byte{16 << 1, 0x01}, true},
		{"h265 TRAIL_R", kfH265, []byte{1 << 1, 0x01, 0xaf}, false},
		{"h265 RSV_IRAP_22", kfH265, []byte{22 << 1, 0x01}, false},
		{"h265 forbidden bit", kfH265, []byte{0x80 | 19<<1, 0x01}, false},
		{"h265 TemporalIdPlus1 0", kfH265, []byte{19 << 1, 0x00}, false},
		{"h265 AP VPS+IDR", kfH265, []byte{48 << 1, 0x01, 0, 3, 32 << 1, 0x01, 0xff, 0, 2, 19 << 1, 0x01}, true},
		{"h265 AP without IRAP", kfH265, []byte{48 << 1, 0x01, 0, 3, 32 << 1, 0x01, 0xff, 0, 2, 1 << 1, 0x01}, false},
		{"h265 AP overrun", kfH265, []byte{48 << 1, 0x01, 0, 9, 19 << 1, 0x01}, false},
		{"h265 AP trailing byte", kfH265, []byte{48 << 1, 0x01, 0, 2, 19 << 1, 0x01, 0}, false},
		{"h265 AP nested AP", kfH265, []byte{48 << 1, 0x01, 0, 2, 48 << 1, 0x01, 0, 2, 19 << 1, 0x01}, false},
		{"h265 FU start IDR", kfH265, []byte{49 << 1, 0x01, 0x80 | 19, 0xaa}, true},
		{"h265 FU middle IDR", kfH265, []byte{49 << 1, 0x01, 19, 0xaa}, false},
		{"h265 FU start+end", kfH265, []byte{49 << 1, 0x01, 0xc0 | 19, 0xaa}, false},
		{"h265 FU start TRAIL", kfH265, []byte{49 << 1, 0x01, 0x80 | 1, 0xaa}, false},
		{"h265 FU short", kfH265, []byte{49 << 1, 0x01}, false},
		{"h265 PACI", kfH265, []byte{50 << 1, 0x01, 19 << 1, 0x01}, false},
		{"h265 short", kfH265, []byte{19 << 1}, false},

		{"av1 N bit", kfAV1, []byte{0x18, 0x32, 0x00}, true},
		{"av1 sequence header, W=0", kfAV1, []byte{0x00, 2, 0x0a, 0x0b}, true},
		{"av1 frame then sequence header, W=2", kfAV1, []byte{0x20, 2, 0x32, 0x00, 0x0a, 0x0b}, true},
		{"av1 delta frame, W=1", kfAV1, []byte{0x10, 0x32, 0x00}, false},
		{"av1 continuation looking like a sequence header", kfAV1, []byte{0x90, 0x0a, 0x0b}, false},
		{"av1 continuation, then a sequence header, W=2", kfAV1, []byte{0xa0, 1, 0x77, 0x0a, 0x0b}, true},
		{"av1 bad leb128", kfAV1, []byte{0x00, 0x80, 0x80}, false},
		{"av1 element overrun", kfAV1, []byte{0x00, 9, 0x0a}, false},
		{"av1 short", kfAV1, []byte{0x08}, false},
	} {
		if got := isKeyFrame(tc.codec, tc.b); got != tc.want {
			t.Errorf("%s: key frame %v, want %v", tc.name, got, tc.want)
		}
	}
	if keyFrameCodec("video/H265") != kfH265 || keyFrameCodec("video/AV1") != kfAV1 {
		t.Error("H265/AV1 mime types not recognised")
	}
}
