package ortc

import (
	"regexp"
	"strings"

	"github.com/ropehq/rope/media"
)

// mimeTypeRe is mediasoup's check: a media kind, a slash, a subtype.
var mimeTypeRe = regexp.MustCompile(`(?i)^(audio|video)/(.+)`)

// Limits enforced beyond mediasoup's type checks.
const (
	maxPayloadType = 127
	maxExtensionID = 255 // two-byte header extensions allow 1..255
)

// ValidateRtpCapabilities validates caps and fills mediasoup's defaults:
// nil codec and header extension lists become empty, each codec is
// normalised as ValidateRtpCodecCapability does, and each header
// extension needs a kind, a URI and a preferredId of 1..255, its
// direction defaulting to sendrecv.
func ValidateRtpCapabilities(caps *media.RtpCapabilities) error {
	return validateRtpCapabilities(caps, "rtpCapabilities")
}

func validateRtpCapabilities(caps *media.RtpCapabilities, p path) error {
	if caps == nil {
		return p.errorf("missing")
	}
	if caps.Codecs == nil {
		caps.Codecs = []media.RtpCodecCapability{}
	}
	for i := range caps.Codecs {
		if err := validateRtpCodecCapability(&caps.Codecs[i], p.dot("codecs").at(i)); err != nil {
			return err
		}
	}
	if caps.HeaderExtensions == nil {
		caps.HeaderExtensions = []media.RtpHeaderExtension{}
	}
	for i := range caps.HeaderExtensions {
		if err := validateRtpHeaderExtension(&caps.HeaderExtensions[i], p.dot("headerExtensions").at(i)); err != nil {
			return err
		}
	}
	return nil
}

// ValidateRtpCodecCapability validates a codec capability (a router media
// codec or an endpoint's codec). Kind is overridden by the mimeType's
// media part, audio channels default to 1 (video has none), parameters
// and rtcpFeedback default to empty.
func ValidateRtpCodecCapability(codec *media.RtpCodecCapability) error {
	return validateRtpCodecCapability(codec, "codec")
}

func validateRtpCodecCapability(codec *media.RtpCodecCapability, p path) error {
	kind, err := validateMimeType(codec.MimeType, p.dot("mimeType"))
	if err != nil {
		return err
	}
	codec.Kind = kind
	if pt := codec.PreferredPayloadType; pt != nil && (*pt < 0 || *pt > maxPayloadType) {
		return p.dot("preferredPayloadType").errorf("must be 0..%d, got %d", maxPayloadType, *pt)
	}
	if codec.ClockRate <= 0 {
		return p.dot("clockRate").errorf("missing or not positive (%d)", codec.ClockRate)
	}
	if codec.Channels, err = normaliseChannels(kind, codec.Channels, p.dot("channels")); err != nil {
		return err
	}
	if codec.Parameters, err = validateCodecParameters(codec.Parameters, p.dot("parameters")); err != nil {
		return err
	}
	codec.RtcpFeedback, err = validateRtcpFeedbacks(codec.RtcpFeedback, p.dot("rtcpFeedback"))
	return err
}

func validateMimeType(mime string, p path) (media.MediaKind, error) {
	if mime == "" {
		return "", p.errorf("missing")
	}
	m := mimeTypeRe.FindStringSubmatch(mime)
	if m == nil {
		return "", p.errorf("invalid mimeType %q (want audio/... or video/...)", mime)
	}
	return media.MediaKind(strings.ToLower(m[1])), nil
}

// normaliseChannels defaults audio channels to 1 and clears video ones.
func normaliseChannels(kind media.MediaKind, channels int, p path) (int, error) {
	switch {
	case kind == media.KindVideo:
		return 0, nil
	case channels < 0:
		return 0, p.errorf("must not be negative, got %d", channels)
	case channels == 0:
		return 1, nil
	}
	return channels, nil
}

// validateCodecParameters checks that every value is a string or a
// number and that "apt" is an integer payload type.
func validateCodecParameters(params media.Parameters, p path) (media.Parameters, error) {
	if params == nil {
		return media.Parameters{}, nil
	}
	for k, v := range params {
		if err := validateParameterValue(v, p.key(k)); err != nil {
			return nil, err
		}
		if k != "apt" {
			continue
		}
		if apt, ok := params.Int(k); !ok || apt < 0 || apt > maxPayloadType {
			return nil, p.key(k).errorf("must be a payload type number, got %v", v)
		}
	}
	return params, nil
}

func validateParameterValue(v any, p path) error {
	if _, ok := v.(string); ok {
		return nil
	}
	if _, ok := media.NumberValue(v); ok {
		return nil
	}
	return p.errorf("must be a string or a number, got %T", v)
}

func validateRtcpFeedbacks(fbs []media.RtcpFeedback, p path) ([]media.RtcpFeedback, error) {
	if fbs == nil {
		return []media.RtcpFeedback{}, nil
	}
	for i := range fbs {
		if fbs[i].Type == "" {
			return nil, p.at(i).dot("type").errorf("missing")
		}
	}
	return fbs, nil
}

// validateRtpHeaderExtension checks a capability header extension; the
// direction defaults to sendrecv.
func validateRtpHeaderExtension(ext *media.RtpHeaderExtension, p path) error {
	if !ext.Kind.Valid() {
		return p.dot("kind").errorf("must be audio or video, got %q", ext.Kind)
	}
	if ext.URI == "" {
		return p.dot("uri").errorf("missing")
	}
	if ext.PreferredID < 1 || ext.PreferredID > maxExtensionID {
		return p.dot("preferredId").errorf("must be 1..%d, got %d", maxExtensionID, ext.PreferredID)
	}
	switch ext.Direction {
	case "":
		ext.Direction = media.DirectionSendRecv
	case media.DirectionSendRecv, media.DirectionSendOnly, media.DirectionRecvOnly, media.DirectionInactive:
	default:
		return p.dot("direction").errorf("invalid direction %q", ext.Direction)
	}
	return nil
}
