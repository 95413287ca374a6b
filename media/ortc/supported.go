package ortc

import (
	"sync"

	"github.com/ropehq/rope/media"
)

// Common RTCP feedback sets of the supported codecs.
var (
	fbAudio      = []media.RtcpFeedback{{Type: "transport-cc"}}
	fbOpus       = []media.RtcpFeedback{{Type: "nack"}, {Type: "transport-cc"}}
	fbVideoCodec = []media.RtcpFeedback{
		{Type: "nack"},
		{Type: "nack", Parameter: "pli"},
		{Type: "ccm", Parameter: "fir"},
		{Type: "goog-remb"},
		{Type: "transport-cc"},
	}
)

// supportedCodecs lists mediasoup's supported codecs (3.14 plus AV1).
// Order matters: GenerateRouterRtpCapabilities takes the first match.
func supportedCodecs() []media.RtpCodecCapability {
	audio := func(mime string, pt *int, clock, channels int, params media.Parameters, fb []media.RtcpFeedback) media.RtpCodecCapability {
		return media.RtpCodecCapability{Kind: media.KindAudio, MimeType: mime, PreferredPayloadType: pt,
			ClockRate: clock, Channels: channels, Parameters: params, RtcpFeedback: fb}
	}
	video := func(mime string, params media.Parameters) media.RtpCodecCapability {
		return media.RtpCodecCapability{Kind: media.KindVideo, MimeType: mime, ClockRate: 90000,
			Parameters: params, RtcpFeedback: fbVideoCodec}
	}
	multiopus := func(channels int, mapping string, streams, coupled int) media.RtpCodecCapability {
		return audio("audio/multiopus", nil, 48000, channels, media.Parameters{
			"channel_mapping": mapping, "num_streams": streams, "coupled_streams": coupled}, fbOpus)
	}
	return []media.RtpCodecCapability{
		audio("audio/opus", nil, 48000, 2, nil, fbOpus),
		multiopus(4, "0,1,2,3", 2, 2),         // quad
		multiopus(6, "0,4,1,2,3,5", 4, 2),     // 5.1
		multiopus(8, "0,6,1,2,3,4,5,7", 5, 3), // 7.1
		audio("audio/PCMU", new(0), 8000, 0, nil, fbAudio),
		audio("audio/PCMA", new(8), 8000, 0, nil, fbAudio),
		audio("audio/ISAC", nil, 32000, 0, nil, fbAudio),
		audio("audio/ISAC", nil, 16000, 0, nil, fbAudio),
		audio("audio/G722", new(9), 8000, 0, nil, fbAudio),
		audio("audio/iLBC", nil, 8000, 0, nil, fbAudio),
		audio("audio/SILK", nil, 24000, 0, nil, fbAudio),
		audio("audio/SILK", nil, 16000, 0, nil, fbAudio),
		audio("audio/SILK", nil, 12000, 0, nil, fbAudio),
		audio("audio/SILK", nil, 8000, 0, nil, fbAudio),
		audio("audio/CN", new(13), 32000, 0, nil, nil),
		audio("audio/CN", new(13), 16000, 0, nil, nil),
		audio("audio/CN", new(13), 8000, 0, nil, nil),
		audio("audio/telephone-event", nil, 48000, 0, nil, nil),
		audio("audio/telephone-event", nil, 32000, 0, nil, nil),
		audio("audio/telephone-event", nil, 16000, 0, nil, nil),
		audio("audio/telephone-event", nil, 8000, 0, nil, nil),
		video("video/VP8", nil),
		video("video/VP9", nil),
		video("video/H264", media.Parameters{"level-asymmetry-allowed": 1}),
		video("video/H264-SVC", media.Parameters{"level-asymmetry-allowed": 1}),
		video("video/H265", media.Parameters{"level-asymmetry-allowed": 1}),
		video("video/AV1", nil),
	}
}

// supportedHeaderExtensions lists mediasoup's supported RTP header
// extensions with their preferred ids. Transport-wide CC is receive-only
// for audio; RID/RRID and the AV1 dependency descriptor are receive-only.
func supportedHeaderExtensions() []media.RtpHeaderExtension {
	ext := func(kind media.MediaKind, uri media.RtpHeaderExtensionURI, id int, dir media.RtpHeaderExtensionDirection) media.RtpHeaderExtension {
		return media.RtpHeaderExtension{Kind: kind, URI: uri, PreferredID: id, Direction: dir}
	}
	a, v := media.KindAudio, media.KindVideo
	sr, ro := media.DirectionSendRecv, media.DirectionRecvOnly
	return []media.RtpHeaderExtension{
		ext(a, media.ExtMid, 1, sr),
		ext(v, media.ExtMid, 1, sr),
		ext(v, media.ExtRtpStreamID, 2, ro),
		ext(v, media.ExtRepairedRtpStreamID, 3, ro),
		ext(a, media.ExtAbsSendTime, 4, sr),
		ext(v, media.ExtAbsSendTime, 4, sr),
		ext(a, media.ExtTransportWideCC01, 5, ro),
		ext(v, media.ExtTransportWideCC01, 5, sr),
		ext(v, media.ExtFrameMarking07, 6, sr),
		ext(v, media.ExtFrameMarking, 7, sr),
		ext(v, media.ExtDependencyDescriptor, 8, ro),
		ext(a, media.ExtAudioLevel, 10, sr),
		ext(v, media.ExtVideoOrientation, 11, sr),
		ext(v, media.ExtTimeOffset, 12, sr),
		ext(a, media.ExtAbsCaptureTime, 13, sr),
		ext(v, media.ExtAbsCaptureTime, 13, sr),
		ext(a, media.ExtPlayoutDelay, 14, sr),
		ext(v, media.ExtPlayoutDelay, 14, sr),
	}
}

// SupportedRtpCapabilities returns a fresh, normalised copy of everything
// the SFU can handle. These are not a router's capabilities: routers get
// theirs from GenerateRouterRtpCapabilities.
func SupportedRtpCapabilities() media.RtpCapabilities { return supported().Clone() }

// supported is the normalised supported capabilities, built once; callers
// must not modify it.
var supported = sync.OnceValue(func() media.RtpCapabilities {
	caps := media.RtpCapabilities{Codecs: supportedCodecs(), HeaderExtensions: supportedHeaderExtensions()}.Clone()
	if err := ValidateRtpCapabilities(&caps); err != nil {
		panic("ortc: supported capabilities invalid: " + err.Error())
	}
	return caps
})
