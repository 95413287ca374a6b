package ortc

import (
	"github.com/ropehq/rope/media"
)

// ValidateRtpParameters validates producer or consumer RTP parameters and
// fills mediasoup's defaults: nil header extensions and encodings become
// empty, audio codec channels default to 1, parameters and rtcpFeedback
// default to empty, rtcp.reducedSize defaults to true. An explicit
// reducedSize false is kept (mediasoup's truthiness test turns it true).
//
// Beyond mediasoup's type checks it also enforces what mediasoup's worker
// rejects later: at least one codec, unique payload types, RTX codecs
// whose "apt" names a media codec of the list, and encoding
// codecPayloadTypes naming a media codec of the list.
func ValidateRtpParameters(params *media.RtpParameters) error {
	return validateRtpParameters(params, "rtpParameters")
}

func validateRtpParameters(params *media.RtpParameters, p path) error {
	if params == nil {
		return p.errorf("missing")
	}
	if err := validateCodecList(params.Codecs, p.dot("codecs")); err != nil {
		return err
	}
	if params.HeaderExtensions == nil {
		params.HeaderExtensions = []media.RtpHeaderExtensionParameters{}
	}
	for i := range params.HeaderExtensions {
		if err := validateHeaderExtensionParameters(&params.HeaderExtensions[i], p.dot("headerExtensions").at(i)); err != nil {
			return err
		}
	}
	if params.Encodings == nil {
		params.Encodings = []media.RtpEncodingParameters{}
	}
	for i := range params.Encodings {
		if err := validateEncoding(&params.Encodings[i], params.Codecs, p.dot("encodings").at(i)); err != nil {
			return err
		}
	}
	if params.Rtcp.ReducedSize == nil {
		params.Rtcp.ReducedSize = new(true)
	}
	return nil
}

// validateCodecList validates each codec, then the list as a whole.
func validateCodecList(codecs []media.RtpCodecParameters, p path) error {
	if len(codecs) == 0 {
		return p.errorf("missing (at least one codec is required)")
	}
	seen := make(map[int]int, len(codecs))
	for i := range codecs {
		if err := validateRtpCodecParameters(&codecs[i], p.at(i)); err != nil {
			return err
		}
		if j, dup := seen[codecs[i].PayloadType]; dup {
			return p.at(i).dot("payloadType").errorf("duplicated payload type %d (also codecs[%d])", codecs[i].PayloadType, j)
		}
		seen[codecs[i].PayloadType] = i
	}
	for i := range codecs {
		if err := checkRtxApt(codecs, i, p.at(i)); err != nil {
			return err
		}
	}
	return nil
}

// checkRtxApt checks that an RTX codec's apt names a media codec.
func checkRtxApt(codecs []media.RtpCodecParameters, i int, p path) error {
	if !isRtx(codecs[i].MimeType) {
		return nil
	}
	apt, ok := codecs[i].Parameters.Int("apt")
	if !ok {
		return p.dot("parameters").key("apt").errorf("missing in RTX codec")
	}
	j := indexOfPayloadType(codecs, apt)
	if j < 0 {
		return p.dot("parameters").key("apt").errorf("no media codec with payload type %d", apt)
	}
	if !isMediaCodec(codecs[j].MimeType) {
		return p.dot("parameters").key("apt").errorf("payload type %d is not a media codec", apt)
	}
	return nil
}

func indexOfPayloadType(codecs []media.RtpCodecParameters, pt int) int {
	for i := range codecs {
		if codecs[i].PayloadType == pt {
			return i
		}
	}
	return -1
}

func validateRtpCodecParameters(codec *media.RtpCodecParameters, p path) error {
	kind, err := validateMimeType(codec.MimeType, p.dot("mimeType"))
	if err != nil {
		return err
	}
	if codec.PayloadType < 0 || codec.PayloadType > maxPayloadType {
		return p.dot("payloadType").errorf("must be 0..%d, got %d", maxPayloadType, codec.PayloadType)
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

func validateHeaderExtensionParameters(ext *media.RtpHeaderExtensionParameters, p path) error {
	if ext.URI == "" {
		return p.dot("uri").errorf("missing")
	}
	if ext.ID < 1 || ext.ID > maxExtensionID {
		return p.dot("id").errorf("must be 1..%d, got %d", maxExtensionID, ext.ID)
	}
	if ext.Parameters == nil {
		ext.Parameters = media.Parameters{}
	}
	for k, v := range ext.Parameters {
		if err := validateParameterValue(v, p.dot("parameters").key(k)); err != nil {
			return err
		}
	}
	return nil
}

func validateEncoding(enc *media.RtpEncodingParameters, codecs []media.RtpCodecParameters, p path) error {
	if enc.RTX != nil && enc.RTX.SSRC == 0 {
		return p.dot("rtx").dot("ssrc").errorf("missing")
	}
	if pt := enc.CodecPayloadType; pt != nil {
		j := indexOfPayloadType(codecs, *pt)
		if j < 0 || !isMediaCodec(codecs[j].MimeType) {
			return p.dot("codecPayloadType").errorf("no media codec with payload type %d", *pt)
		}
	}
	if enc.MaxBitrate < 0 {
		return p.dot("maxBitrate").errorf("must not be negative, got %d", enc.MaxBitrate)
	}
	if enc.ScaleResolutionDownBy != 0 && enc.ScaleResolutionDownBy < 1 {
		return p.dot("scaleResolutionDownBy").errorf("must be >= 1, got %v", enc.ScaleResolutionDownBy)
	}
	return nil
}
