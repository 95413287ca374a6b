package browsertest

import (
	"testing"

	"github.com/ropehq/rope/media"
)

// av1Codecs are a router's codecs with AV1 as the only video codec, so
// that tab A sends AV1 (libaom) with the dependency descriptor.
func av1Codecs() []media.RtpCodecCapability {
	return []media.RtpCodecCapability{
		{Kind: media.KindAudio, MimeType: "audio/opus", ClockRate: 48000, Channels: 2},
		{Kind: media.KindVideo, MimeType: "video/AV1", ClockRate: 90000},
	}
}

// TestChromiumAV1SVC is TestChromiumSVC with AV1: tab A sends its
// 1280x720 camera in AV1 with scalabilityMode L3T3 (full SVC) and the
// dependency descriptor; the engine selects layers by the descriptor
// and forwards it (Chromium assembles AV1 spatial layers by it). Tab B,
// held at spatial layer 0, decodes 320-wide frames (dav1d), frames
// rising; tab C, switched across spatial layers every few seconds,
// decodes the larger sizes too and its frames rise after every switch.
func TestChromiumAV1SVC(t *testing.T) {
	testChromiumSVC(t, av1Codecs(), "L3T3")
}

// TestChromiumAV1KSVC is TestChromiumAV1SVC with L3T3_KEY (K-SVC:
// spatial layers refer to lower ones only in key temporal units, so
// between them a consumer forwards its spatial layer alone, told by the
// frame diffs of the descriptor).
func TestChromiumAV1KSVC(t *testing.T) {
	testChromiumSVC(t, av1Codecs(), "L3T3_KEY")
}
