package engine

import (
	"strings"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/ortc"
)

// This file is the engine's seam to media/ortc: every negotiation step the
// engine needs, with the engine's defaults applied.

func isRtx(mime string) bool { return strings.HasSuffix(strings.ToLower(mime), "/rtx") }

func supportedCapabilities() media.RtpCapabilities { return ortc.SupportedRtpCapabilities() }

// routerCapabilities builds a router's capabilities from its media codecs.
func routerCapabilities(mediaCodecs []media.RtpCodecCapability) (media.RtpCapabilities, error) {
	codecs := make([]media.RtpCodecCapability, len(mediaCodecs))
	for i, c := range mediaCodecs {
		codecs[i] = c.Clone()
	}
	return ortc.GenerateRouterRtpCapabilities(codecs)
}

// producerParams validates and normalises a producer's parameters (a
// copy) and maps them into the router's space.
func producerParams(kind media.MediaKind, in media.RtpParameters, caps media.RtpCapabilities) (params media.RtpParameters, m media.RtpMapping, consumable media.RtpParameters, err error) {
	params = in.Clone()
	if err = ortc.ValidateRtpParameters(&params); err != nil {
		return
	}
	om, err := ortc.GetProducerRtpParametersMapping(&params, caps)
	if err != nil {
		return
	}
	if consumable, err = ortc.GetConsumableRtpParameters(kind, params, caps, om); err != nil {
		return
	}
	for _, c := range om.Codecs {
		m.Codecs = append(m.Codecs, media.RtpMappingCodec{PayloadType: c.PayloadType, MappedPayloadType: c.MappedPayloadType})
	}
	for _, e := range om.Encodings {
		m.Encodings = append(m.Encodings, media.RtpMappingEncoding{SSRC: e.SSRC, RID: e.RID, ScalabilityMode: e.ScalabilityMode, MappedSSRC: e.MappedSSRC})
	}
	return params, m, consumable, nil
}

// canConsume reports whether caps can receive consumable.
func canConsume(consumable media.RtpParameters, caps *media.RtpCapabilities) bool {
	if caps == nil {
		return false
	}
	c := caps.Clone()
	ok, err := ortc.CanConsume(consumable, &c)
	return err == nil && ok
}

// consumerParameters derives a (non-pipe) consumer's parameters.
func consumerParameters(consumable media.RtpParameters, caps *media.RtpCapabilities, enableRtx bool) (media.RtpParameters, error) {
	c := caps.Clone()
	if err := ortc.ValidateRtpCapabilities(&c); err != nil {
		return media.RtpParameters{}, err
	}
	return ortc.GetConsumerRtpParameters(consumable, c, ortc.ConsumerParamsOptions{EnableRtx: enableRtx})
}

// pipeConsumerParameters keep every consumable stream and its SSRC.
func pipeConsumerParameters(consumable media.RtpParameters, enableRtx bool) media.RtpParameters {
	return ortc.GetPipeConsumerRtpParameters(consumable, enableRtx)
}
