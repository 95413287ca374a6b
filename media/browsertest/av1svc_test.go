package browsertest

import (
	"testing"

	"github.com/ropehq/rope/media"
)

// TestChromiumAV1SVC is TestChromiumSVC with AV1: the router offers AV1
// as its only video codec, so tab A sends its 1280x720 camera in AV1
// (libaom) with scalabilityMode L3T3 (full SVC) and the dependency
// descriptor; the engine selects layers by the descriptor. Tab B, held
// at spatial layer 0, decodes 320-wide frames (dav1d), frames rising;
// tab C, switched across spatial layers every few seconds, decodes the
// larger sizes too and its frames rise after every switch.
func TestChromiumAV1SVC(t *testing.T) {
	testChromiumSVC(t, []media.RtpCodecCapability{
		{Kind: media.KindAudio, MimeType: "audio/opus", ClockRate: 48000, Channels: 2},
		{Kind: media.KindVideo, MimeType: "video/AV1", ClockRate: 90000},
	}, "L3T3")
}
