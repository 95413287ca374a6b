package engine

import (
	"fmt"
	"strings"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/ortc"
)

// encodingsType is the type mediasoup gives a producer (and so its
// consumers) by its encodings (RtpParameters::GetType and
// Codecs::Tools::IsValidTypeForCodec): several encodings are simulcast;
// one encoding with spatial or temporal layers (its scalabilityMode) is
// SVC where the engine reads a codec's SVC layers (svcCodec), else
// simulcast where it reads temporal layers of one stream (VP8, H264, and
// H265 by frame marking as H264): a one-stream simulcast whose consumers
// select temporal layers; any other codec with layers is refused. One
// encoding without layers is simple.
func encodingsType(params media.RtpParameters) (media.ProducerType, error) {
	switch len(params.Encodings) {
	case 0:
		return media.ProducerSimple, nil
	case 1:
	default:
		return media.ProducerSimulcast, nil
	}
	mode := params.Encodings[0].ScalabilityMode
	sm := ortc.ParseScalabilityMode(mode)
	if sm.SpatialLayers == 1 && sm.TemporalLayers == 1 {
		return media.ProducerSimple, nil
	}
	if isSVC(params) {
		return media.ProducerSVC, nil
	}
	mime := encodingMime(params)
	if temporalCodec(mime) {
		return media.ProducerSimulcast, nil
	}
	return "", &media.ParamError{Field: "rtpParameters.encodings[0].scalabilityMode",
		Reason: fmt.Sprintf("invalid RTP parameters: %s has no layers to select (%q: one encoding with layers is SVC for VP9 and for AV1 with spatial layers, simulcast for VP8, H264 and H265)", mime, mode)}
}

// temporalCodec reports whether a single stream of codec mime with
// temporal layers makes a simulcast producer: mediasoup's SIMULCAST
// codecs (VP8, H264) and H265, whose temporal layers the engine reads
// from frame marking as H264's.
func temporalCodec(mime string) bool {
	return strings.EqualFold(mime, "video/VP8") || strings.EqualFold(mime, "video/H264") || strings.EqualFold(mime, "video/H265")
}
