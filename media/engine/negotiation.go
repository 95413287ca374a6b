package engine

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/ropehq/rope/media"
)

// This file is the engine's seam to RTP negotiation. It holds a minimal
// stand-in for media/ortc (router capabilities, producer mapping,
// consumable and consumer parameters) until that package lands; the
// function signatures are what the engine needs from it.

var dynamicPayloadTypes = func() []int {
	pts := make([]int, 0, 32)
	for pt := 100; pt <= 127; pt++ {
		pts = append(pts, pt)
	}
	for pt := 96; pt <= 99; pt++ {
		pts = append(pts, pt)
	}
	return pts
}()

func isRtx(mime string) bool { return strings.HasSuffix(strings.ToLower(mime), "/rtx") }

func sameCodec(aMime string, aClock, aCh int, bMime string, bClock, bCh int) bool {
	if !strings.EqualFold(aMime, bMime) || aClock != bClock {
		return false
	}
	if aCh == 0 {
		aCh = 1
	}
	if bCh == 0 {
		bCh = 1
	}
	return !strings.HasPrefix(strings.ToLower(aMime), "audio/") || aCh == bCh
}

// routerCapabilities builds a router's capabilities from its media codecs
// (mediasoup ortc.generateRouterRtpCapabilities).
func routerCapabilities(supported media.RtpCapabilities, mediaCodecs []media.RtpCodecCapability) (media.RtpCapabilities, error) {
	var caps media.RtpCapabilities
	used := map[int]bool{}
	for i, mc := range mediaCodecs {
		field := fmt.Sprintf("mediaCodecs[%d]", i)
		if !mc.Kind.Valid() {
			return caps, &media.ParamError{Field: field + ".kind", Reason: "invalid kind"}
		}
		if isRtx(mc.MimeType) {
			return caps, &media.ParamError{Field: field + ".mimeType", Reason: "RTX codecs are added by the router"}
		}
		sc, ok := findSupported(supported, mc)
		if !ok {
			return caps, fmt.Errorf("%s: media codec %q not supported: %w", field, mc.MimeType, media.ErrUnsupported)
		}
		codec := sc
		codec.Parameters = mc.Parameters.Clone()
		if codec.Parameters == nil {
			codec.Parameters = sc.Parameters.Clone()
		}
		pt, err := pickPayloadType(mc.PreferredPayloadType, sc.PreferredPayloadType, used)
		if err != nil {
			return caps, fmt.Errorf("%s: %w", field, err)
		}
		codec.PreferredPayloadType = &pt
		caps.Codecs = append(caps.Codecs, codec)
		if codec.Kind == media.KindVideo {
			rpt, err := pickPayloadType(nil, nil, used)
			if err != nil {
				return caps, fmt.Errorf("%s: %w", field, err)
			}
			caps.Codecs = append(caps.Codecs, media.RtpCodecCapability{
				Kind: media.KindVideo, MimeType: "video/rtx", PreferredPayloadType: &rpt,
				ClockRate: codec.ClockRate, Parameters: media.Parameters{"apt": pt},
			})
		}
	}
	caps.HeaderExtensions = append(caps.HeaderExtensions, supported.HeaderExtensions...)
	return caps, nil
}

func findSupported(supported media.RtpCapabilities, mc media.RtpCodecCapability) (media.RtpCodecCapability, bool) {
	for _, sc := range supported.Codecs {
		if sc.Kind == mc.Kind && sameCodec(sc.MimeType, sc.ClockRate, sc.Channels, mc.MimeType, mc.ClockRate, mc.Channels) {
			sc.MimeType = mc.MimeType
			if mc.Channels != 0 {
				sc.Channels = mc.Channels
			}
			return sc, true
		}
	}
	return media.RtpCodecCapability{}, false
}

func pickPayloadType(preferred, static *int, used map[int]bool) (int, error) {
	for _, p := range []*int{preferred, static} {
		if p != nil && !used[*p] && *p >= 0 && *p <= 127 {
			used[*p] = true
			return *p, nil
		}
	}
	for _, pt := range dynamicPayloadTypes {
		if !used[pt] {
			used[pt] = true
			return pt, nil
		}
	}
	return 0, fmt.Errorf("no free payload type: %w", media.ErrUnsupported)
}

// producerMapping validates a producer's parameters against the router's
// capabilities and maps its payload types and SSRCs (mediasoup
// ortc.getProducerRtpParametersMapping).
func producerMapping(params media.RtpParameters, caps media.RtpCapabilities) (media.RtpMapping, error) {
	var m media.RtpMapping
	if len(params.Codecs) == 0 {
		return m, &media.ParamError{Field: "rtpParameters.codecs", Reason: "empty"}
	}
	if len(params.Encodings) == 0 {
		return m, &media.ParamError{Field: "rtpParameters.encodings", Reason: "empty"}
	}
	for i, c := range params.Codecs {
		if c.PayloadType < 0 || c.PayloadType > 127 {
			return m, &media.ParamError{Field: fmt.Sprintf("rtpParameters.codecs[%d].payloadType", i), Reason: "out of range"}
		}
		if isRtx(c.MimeType) {
			continue
		}
		rc, ok := matchRouterCodec(caps, c.MimeType, c.ClockRate, c.Channels)
		if !ok {
			return m, fmt.Errorf("rtpParameters.codecs[%d]: codec %q not in router capabilities: %w", i, c.MimeType, media.ErrUnsupported)
		}
		m.Codecs = append(m.Codecs, media.RtpMappingCodec{PayloadType: c.PayloadType, MappedPayloadType: *rc.PreferredPayloadType})
	}
	for i, c := range params.Codecs {
		if !isRtx(c.MimeType) {
			continue
		}
		apt, ok := c.Parameters.Int("apt")
		mapped, found := mappedPT(m, apt)
		if !ok || !found {
			return m, &media.ParamError{Field: fmt.Sprintf("rtpParameters.codecs[%d].parameters.apt", i), Reason: "no associated media codec"}
		}
		rtx, ok := routerRtx(caps, mapped)
		if !ok {
			return m, fmt.Errorf("rtpParameters.codecs[%d]: no RTX in router: %w", i, media.ErrUnsupported)
		}
		m.Codecs = append(m.Codecs, media.RtpMappingCodec{PayloadType: c.PayloadType, MappedPayloadType: rtx})
	}
	base := rand.Uint32N(1<<30) + 100000000
	for i, e := range params.Encodings {
		if e.SSRC == 0 && e.RID == "" {
			return m, &media.ParamError{Field: fmt.Sprintf("rtpParameters.encodings[%d]", i), Reason: "needs ssrc or rid"}
		}
		m.Encodings = append(m.Encodings, media.RtpMappingEncoding{
			SSRC: e.SSRC, RID: e.RID, ScalabilityMode: e.ScalabilityMode, MappedSSRC: base + uint32(i),
		})
	}
	return m, nil
}

func mappedPT(m media.RtpMapping, pt int) (int, bool) {
	for _, c := range m.Codecs {
		if c.PayloadType == pt {
			return c.MappedPayloadType, true
		}
	}
	return 0, false
}

func matchRouterCodec(caps media.RtpCapabilities, mime string, clock, ch int) (media.RtpCodecCapability, bool) {
	for _, rc := range caps.Codecs {
		if !isRtx(rc.MimeType) && sameCodec(rc.MimeType, rc.ClockRate, rc.Channels, mime, clock, ch) {
			return rc, true
		}
	}
	return media.RtpCodecCapability{}, false
}

func routerRtx(caps media.RtpCapabilities, apt int) (int, bool) {
	for _, rc := range caps.Codecs {
		if a, ok := rc.Parameters.Int("apt"); ok && isRtx(rc.MimeType) && a == apt {
			return *rc.PreferredPayloadType, true
		}
	}
	return 0, false
}

// consumableParameters are the producer's parameters in the router's
// space (mediasoup ortc.getConsumableRtpParameters).
func consumableParameters(kind media.MediaKind, params media.RtpParameters, caps media.RtpCapabilities, m media.RtpMapping) media.RtpParameters {
	var out media.RtpParameters
	for _, mc := range m.Codecs {
		for _, rc := range caps.Codecs {
			if rc.PreferredPayloadType == nil || *rc.PreferredPayloadType != mc.MappedPayloadType {
				continue
			}
			out.Codecs = append(out.Codecs, media.RtpCodecParameters{
				MimeType: rc.MimeType, PayloadType: mc.MappedPayloadType, ClockRate: rc.ClockRate,
				Channels: rc.Channels, Parameters: codecParamsFor(params, mc.PayloadType, rc), RtcpFeedback: rc.RtcpFeedback,
			})
		}
	}
	for _, ext := range caps.HeaderExtensions {
		if ext.Kind == kind && (ext.Direction == "" || ext.Direction == media.DirectionSendRecv || ext.Direction == media.DirectionSendOnly) {
			out.HeaderExtensions = append(out.HeaderExtensions, media.RtpHeaderExtensionParameters{URI: ext.URI, ID: ext.PreferredID})
		}
	}
	for i, e := range params.Encodings {
		ce := e
		ce.SSRC = m.Encodings[i].MappedSSRC
		ce.RID, ce.RTX, ce.CodecPayloadType = "", nil, nil
		out.Encodings = append(out.Encodings, ce)
	}
	out.Rtcp = media.RtcpParameters{CNAME: params.Rtcp.CNAME, ReducedSize: new(true), Mux: new(true)}
	return out
}

func codecParamsFor(params media.RtpParameters, pt int, rc media.RtpCodecCapability) media.Parameters {
	if isRtx(rc.MimeType) {
		return rc.Parameters.Clone()
	}
	for _, c := range params.Codecs {
		if c.PayloadType == pt {
			return c.Parameters.Clone()
		}
	}
	return nil
}

// canConsume reports whether caps can receive consumable (mediasoup
// ortc.canConsume).
func canConsume(consumable media.RtpParameters, caps *media.RtpCapabilities) bool {
	if caps == nil {
		return false
	}
	for _, c := range consumable.Codecs {
		if isRtx(c.MimeType) {
			continue
		}
		for _, cc := range caps.Codecs {
			if sameCodec(c.MimeType, c.ClockRate, c.Channels, cc.MimeType, cc.ClockRate, cc.Channels) {
				return true
			}
		}
	}
	return false
}

// consumerParameters picks a consumer's parameters: the first consumable
// media codec the endpoint supports (plus its RTX if enabled), one
// encoding with new SSRCs (mediasoup ortc.getConsumerRtpParameters).
func consumerParameters(consumable media.RtpParameters, caps *media.RtpCapabilities, enableRtx bool) (media.RtpParameters, error) {
	var out media.RtpParameters
	if caps == nil {
		return out, &media.ParamError{Field: "rtpCapabilities", Reason: "required"}
	}
	var media0 *media.RtpCodecParameters
	for _, c := range consumable.Codecs {
		if isRtx(c.MimeType) {
			continue
		}
		for _, cc := range caps.Codecs {
			if sameCodec(c.MimeType, c.ClockRate, c.Channels, cc.MimeType, cc.ClockRate, cc.Channels) {
				c.RtcpFeedback = intersectFeedback(c.RtcpFeedback, cc.RtcpFeedback)
				media0 = &c
				break
			}
		}
		if media0 != nil {
			break
		}
	}
	if media0 == nil {
		return out, fmt.Errorf("no compatible media codec: %w", media.ErrUnsupported)
	}
	out.Codecs = append(out.Codecs, *media0)
	enc := media.RtpEncodingParameters{SSRC: randomSSRC()}
	if enableRtx {
		for _, c := range consumable.Codecs {
			if apt, ok := c.Parameters.Int("apt"); ok && isRtx(c.MimeType) && apt == media0.PayloadType && capsHasRtx(caps) {
				out.Codecs = append(out.Codecs, c)
				enc.RTX = &media.RtxParameters{SSRC: randomSSRC()}
			}
		}
	}
	for _, ext := range consumable.HeaderExtensions {
		for _, ce := range caps.HeaderExtensions {
			if ce.URI == ext.URI && ce.PreferredID == ext.ID {
				out.HeaderExtensions = append(out.HeaderExtensions, ext)
			}
		}
	}
	out.Encodings = []media.RtpEncodingParameters{enc}
	out.Rtcp = consumable.Rtcp
	return out, nil
}

func capsHasRtx(caps *media.RtpCapabilities) bool {
	for _, c := range caps.Codecs {
		if isRtx(c.MimeType) {
			return true
		}
	}
	return false
}

func intersectFeedback(a, b []media.RtcpFeedback) []media.RtcpFeedback {
	var out []media.RtcpFeedback
	for _, x := range a {
		for _, y := range b {
			if x == y {
				out = append(out, x)
				break
			}
		}
	}
	return out
}

// pipeConsumerParameters keep every consumable stream and its SSRC
// (mediasoup ortc.getPipeConsumerRtpParameters).
func pipeConsumerParameters(consumable media.RtpParameters, enableRtx bool) media.RtpParameters {
	out := media.RtpParameters{Rtcp: consumable.Rtcp, HeaderExtensions: consumable.HeaderExtensions}
	for _, c := range consumable.Codecs {
		if isRtx(c.MimeType) && !enableRtx {
			continue
		}
		var fb []media.RtcpFeedback
		for _, f := range c.RtcpFeedback {
			if (f.Type == "nack" && f.Parameter == "pli") || f.Type == "ccm" || (f.Type == "nack" && f.Parameter == "" && enableRtx) {
				fb = append(fb, f)
			}
		}
		c.RtcpFeedback = fb
		out.Codecs = append(out.Codecs, c)
	}
	for _, e := range consumable.Encodings {
		if enableRtx {
			e.RTX = &media.RtxParameters{SSRC: randomSSRC()}
		}
		out.Encodings = append(out.Encodings, e)
	}
	return out
}

func randomSSRC() uint32 { return rand.Uint32N(900000000) + 100000000 }

// supportedCapabilities is a minimal supported set (opus, PCMU, PCMA, VP8,
// VP9, H264) until media/ortc provides mediasoup's full list.
func supportedCapabilities() media.RtpCapabilities {
	fbOpus := []media.RtcpFeedback{{Type: "nack"}, {Type: "transport-cc"}}
	fbVideo := []media.RtcpFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"},
		{Type: "ccm", Parameter: "fir"}, {Type: "goog-remb"}, {Type: "transport-cc"}}
	a, v := media.KindAudio, media.KindVideo
	return media.RtpCapabilities{
		Codecs: []media.RtpCodecCapability{
			{Kind: a, MimeType: "audio/opus", ClockRate: 48000, Channels: 2, RtcpFeedback: fbOpus},
			{Kind: a, MimeType: "audio/PCMU", PreferredPayloadType: new(0), ClockRate: 8000},
			{Kind: a, MimeType: "audio/PCMA", PreferredPayloadType: new(8), ClockRate: 8000},
			{Kind: v, MimeType: "video/VP8", ClockRate: 90000, RtcpFeedback: fbVideo},
			{Kind: v, MimeType: "video/VP9", ClockRate: 90000, RtcpFeedback: fbVideo},
			{Kind: v, MimeType: "video/H264", ClockRate: 90000, RtcpFeedback: fbVideo,
				Parameters: media.Parameters{"level-asymmetry-allowed": 1}},
		},
		HeaderExtensions: []media.RtpHeaderExtension{
			{Kind: a, URI: media.ExtMid, PreferredID: 1, Direction: media.DirectionSendRecv},
			{Kind: v, URI: media.ExtMid, PreferredID: 1, Direction: media.DirectionSendRecv},
			{Kind: a, URI: media.ExtAbsSendTime, PreferredID: 4, Direction: media.DirectionSendRecv},
			{Kind: v, URI: media.ExtAbsSendTime, PreferredID: 4, Direction: media.DirectionSendRecv},
			{Kind: a, URI: media.ExtAudioLevel, PreferredID: 10, Direction: media.DirectionSendRecv},
		},
	}
}
