package ortc

import (
	"math/rand/v2"
	"strings"

	"github.com/ropehq/rope/media"
)

// RtpMapping maps a producer's payload types and streams to the router's:
// the engine rewrites incoming packets with it. JSON names follow
// mediasoup's.
type RtpMapping struct {
	Codecs    []CodecMapping    `json:"codecs"`
	Encodings []EncodingMapping `json:"encodings"`
}

// CodecMapping maps a producer payload type to the router's.
type CodecMapping struct {
	PayloadType       int `json:"payloadType"`
	MappedPayloadType int `json:"mappedPayloadType"`
}

// EncodingMapping maps a producer stream, known by SSRC or RID, to the
// SSRC consumers see.
type EncodingMapping struct {
	SSRC            uint32 `json:"ssrc,omitempty"`
	RID             string `json:"rid,omitempty"`
	ScalabilityMode string `json:"scalabilityMode,omitempty"`
	MappedSSRC      uint32 `json:"mappedSsrc"`
}

// GenerateSSRC returns a random SSRC in mediasoup's range
// 100000000..999999999, which leaves room for consecutive SSRCs.
func GenerateSSRC() uint32 { return 100_000_000 + rand.Uint32N(900_000_000) }

// GetProducerRtpParametersMapping matches the producer's validated
// parameters against the router capabilities. Every media codec must
// strictly match a router codec and every RTX codec must have a router
// RTX codec for its media codec (else ErrUnsupported). Encodings get
// consecutive mapped SSRCs from a random base.
//
// As in mediasoup, a matched H264 codec's profile-level-id in params is
// rewritten to the negotiated one, so pass the producer's own copy.
func GetProducerRtpParametersMapping(params *media.RtpParameters, caps media.RtpCapabilities) (RtpMapping, error) {
	p := path("rtpParameters")
	if params == nil {
		return RtpMapping{}, p.errorf("missing")
	}
	mapped := make(map[int]int, len(params.Codecs)) // producer index -> caps index
	var order []int
	for i := range params.Codecs {
		if isRtx(params.Codecs[i].MimeType) {
			continue
		}
		j, err := matchMediaCodec(&params.Codecs[i], caps.Codecs, p.dot("codecs").at(i))
		if err != nil {
			return RtpMapping{}, err
		}
		mapped[i], order = j, append(order, i)
	}
	for i := range params.Codecs {
		if !isRtx(params.Codecs[i].MimeType) {
			continue
		}
		j, err := matchRtxCodec(params.Codecs, i, mapped, caps.Codecs, p.dot("codecs").at(i))
		if err != nil {
			return RtpMapping{}, err
		}
		mapped[i], order = j, append(order, i)
	}
	m := RtpMapping{Codecs: make([]CodecMapping, 0, len(order)), Encodings: mapEncodings(params.Encodings)}
	for _, i := range order {
		m.Codecs = append(m.Codecs, CodecMapping{params.Codecs[i].PayloadType, *caps.Codecs[mapped[i]].PreferredPayloadType})
	}
	return m, nil
}

// matchMediaCodec finds the router codec strictly matching codec and
// applies the negotiated H264 profile-level-id to codec.
func matchMediaCodec(codec *media.RtpCodecParameters, capCodecs []media.RtpCodecCapability, p path) (int, error) {
	for j := range capCodecs {
		ok, plid := matchCodecs(paramView(codec), capView(&capCodecs[j]), true)
		if !ok || capCodecs[j].PreferredPayloadType == nil {
			continue
		}
		applyProfileLevelID(codec, plid)
		return j, nil
	}
	return 0, media.NewError(media.ErrUnsupported, "%s: unsupported codec [mimeType:%s, payloadType:%d]",
		p, codec.MimeType, codec.PayloadType)
}

func applyProfileLevelID(codec *media.RtpCodecParameters, plid string) {
	if !isH264(codec.MimeType) {
		return
	}
	if plid == "" {
		delete(codec.Parameters, "profile-level-id")
		return
	}
	if codec.Parameters == nil {
		codec.Parameters = media.Parameters{}
	}
	codec.Parameters["profile-level-id"] = plid
}

func isH264(mime string) bool {
	return strings.EqualFold(mime, "video/h264") || strings.EqualFold(mime, "video/h264-svc")
}

// matchRtxCodec finds the router RTX codec for the router codec that the
// producer RTX codec's media codec mapped to.
func matchRtxCodec(codecs []media.RtpCodecParameters, i int, mapped map[int]int, capCodecs []media.RtpCodecCapability, p path) (int, error) {
	apt, _ := codecs[i].Parameters.Int("apt")
	mi := indexOfPayloadType(codecs, apt)
	capMedia, ok := mapped[mi]
	if mi < 0 || !ok {
		return 0, p.dot("parameters").key("apt").errorf("missing media codec found for RTX PT %d", codecs[i].PayloadType)
	}
	capPT := *capCodecs[capMedia].PreferredPayloadType
	for j := range capCodecs {
		if isRtx(capCodecs[j].MimeType) && paramIs(capCodecs[j].Parameters, "apt", capPT) && capCodecs[j].PreferredPayloadType != nil {
			return j, nil
		}
	}
	return 0, media.NewError(media.ErrUnsupported, "%s: no RTX codec for capability codec PT %d", p, capPT)
}

// paramIs reports whether integer parameter key equals want.
func paramIs(params media.Parameters, key string, want int) bool {
	v, ok := params.Int(key)
	return ok && v == want
}

func mapEncodings(encs []media.RtpEncodingParameters) []EncodingMapping {
	out := make([]EncodingMapping, len(encs))
	ssrc := GenerateSSRC()
	for i, e := range encs {
		out[i] = EncodingMapping{SSRC: e.SSRC, RID: e.RID, ScalabilityMode: e.ScalabilityMode, MappedSSRC: ssrc + uint32(i)}
	}
	return out
}

// GetConsumableRtpParameters derives the parameters the router offers to
// consumers of a producer: the router's payload types and RTCP feedback
// with the producer's codec parameters, RTX where the router has it, the
// router header extensions of the kind that can be sent (sendrecv or
// sendonly), the producer encodings with mapped SSRCs (rid, rtx and
// codecPayloadType removed), the producer CNAME with reduced-size RTCP and
// the producer msid.
// Its inputs are not modified.
func GetConsumableRtpParameters(kind media.MediaKind, params media.RtpParameters, caps media.RtpCapabilities, mapping RtpMapping) (media.RtpParameters, error) {
	if !kind.Valid() {
		return media.RtpParameters{}, path("kind").errorf("must be audio or video, got %q", kind)
	}
	out := media.RtpParameters{
		Codecs:           []media.RtpCodecParameters{},
		HeaderExtensions: consumableHeaderExtensions(kind, caps.HeaderExtensions),
		Encodings:        []media.RtpEncodingParameters{},
		Rtcp:             media.RtcpParameters{CNAME: params.Rtcp.CNAME, ReducedSize: new(true)},
		Msid:             params.Msid,
	}
	for i := range params.Codecs {
		if isRtx(params.Codecs[i].MimeType) {
			continue
		}
		codecs, err := consumableCodecs(&params.Codecs[i], caps.Codecs, mapping, path("rtpParameters").dot("codecs").at(i))
		if err != nil {
			return media.RtpParameters{}, err
		}
		out.Codecs = append(out.Codecs, codecs...)
	}
	if len(mapping.Encodings) < len(params.Encodings) {
		return media.RtpParameters{}, path("rtpMapping.encodings").errorf("has %d entries for %d encodings",
			len(mapping.Encodings), len(params.Encodings))
	}
	for i, e := range params.Encodings {
		e = e.Clone()
		e.RID, e.RTX, e.CodecPayloadType = "", nil, nil
		e.SSRC = mapping.Encodings[i].MappedSSRC
		out.Encodings = append(out.Encodings, e)
	}
	return out, nil
}

// consumableCodecs returns the router version of one producer media codec,
// followed by its router RTX codec if any.
func consumableCodecs(codec *media.RtpCodecParameters, capCodecs []media.RtpCodecCapability, mapping RtpMapping, p path) ([]media.RtpCodecParameters, error) {
	pt, ok := mappedPayloadType(mapping, codec.PayloadType)
	if !ok {
		return nil, p.dot("payloadType").errorf("payload type %d not in rtpMapping", codec.PayloadType)
	}
	j := indexOfPreferredPayloadType(capCodecs, pt)
	if j < 0 {
		return nil, p.dot("payloadType").errorf("mapped payload type %d not in router capabilities", pt)
	}
	capCodec := capCodecs[j].Clone()
	out := []media.RtpCodecParameters{{
		MimeType:     capCodec.MimeType,
		PayloadType:  pt,
		ClockRate:    capCodec.ClockRate,
		Channels:     capCodec.Channels,
		Parameters:   codec.Parameters.Clone(), // keep the producer's
		RtcpFeedback: capCodec.RtcpFeedback,
	}}
	for k := range capCodecs {
		if isRtx(capCodecs[k].MimeType) && paramIs(capCodecs[k].Parameters, "apt", pt) && capCodecs[k].PreferredPayloadType != nil {
			rtx := capCodecs[k].Clone()
			out = append(out, media.RtpCodecParameters{
				MimeType:     rtx.MimeType,
				PayloadType:  *rtx.PreferredPayloadType,
				ClockRate:    rtx.ClockRate,
				Parameters:   rtx.Parameters,
				RtcpFeedback: rtx.RtcpFeedback,
			})
			break
		}
	}
	return out, nil
}

func mappedPayloadType(m RtpMapping, pt int) (int, bool) {
	for _, c := range m.Codecs {
		if c.PayloadType == pt {
			return c.MappedPayloadType, true
		}
	}
	return 0, false
}

func indexOfPreferredPayloadType(codecs []media.RtpCodecCapability, pt int) int {
	for i := range codecs {
		if codecs[i].PreferredPayloadType != nil && *codecs[i].PreferredPayloadType == pt {
			return i
		}
	}
	return -1
}

func consumableHeaderExtensions(kind media.MediaKind, exts []media.RtpHeaderExtension) []media.RtpHeaderExtensionParameters {
	out := []media.RtpHeaderExtensionParameters{}
	for _, e := range exts {
		if e.Kind != kind || (e.Direction != media.DirectionSendRecv && e.Direction != media.DirectionSendOnly) {
			continue
		}
		out = append(out, media.RtpHeaderExtensionParameters{
			URI: e.URI, ID: e.PreferredID, Encrypt: e.PreferredEncrypt, Parameters: media.Parameters{},
		})
	}
	return out
}
