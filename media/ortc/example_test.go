package ortc_test

import (
	"fmt"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/ortc"
)

// The path of a producer and one consumer through ORTC, as the engine
// runs it in Router creation, Transport.Produce and Transport.Consume.
func Example() {
	// Router creation.
	routerCaps, err := ortc.GenerateRouterRtpCapabilities([]media.RtpCodecCapability{
		{Kind: media.KindAudio, MimeType: "audio/opus", ClockRate: 48000, Channels: 2},
		{Kind: media.KindVideo, MimeType: "video/VP8", ClockRate: 90000},
	})
	if err != nil {
		panic(err)
	}

	// Produce: validate the caller's parameters (on a copy), map them.
	params := media.RtpParameters{
		Codecs: []media.RtpCodecParameters{
			{MimeType: "video/VP8", PayloadType: 96, ClockRate: 90000},
			{MimeType: "video/rtx", PayloadType: 97, ClockRate: 90000, Parameters: media.Parameters{"apt": 96}},
		},
		Encodings: []media.RtpEncodingParameters{{SSRC: 1111, RTX: &media.RtxParameters{SSRC: 1112}}},
	}.Clone()
	if err := ortc.ValidateRtpParameters(&params); err != nil {
		panic(err)
	}
	mapping, err := ortc.GetProducerRtpParametersMapping(&params, routerCaps)
	if err != nil {
		panic(err)
	}
	consumable, err := ortc.GetConsumableRtpParameters(media.KindVideo, params, routerCaps, mapping)
	if err != nil {
		panic(err)
	}

	// Consume: the remote endpoint's capabilities (here the router's own).
	remote := routerCaps.Clone()
	if ok, err := ortc.CanConsume(consumable, &remote); err != nil || !ok {
		panic("cannot consume")
	}
	consumer, err := ortc.GetConsumerRtpParameters(consumable, remote, ortc.ConsumerParamsOptions{EnableRtx: true})
	if err != nil {
		panic(err)
	}
	fmt.Println("mapping:", mapping.Codecs)
	for _, c := range consumer.Codecs {
		fmt.Println("consumer codec:", c.MimeType, c.PayloadType)
	}
	fmt.Println("consumer encodings:", len(consumer.Encodings), "with RTX:", consumer.Encodings[0].RTX != nil)
	// Output:
	// mapping: [{96 101} {97 102}]
	// consumer codec: video/VP8 101
	// consumer codec: video/rtx 102
	// consumer encodings: 1 with RTX: true
}
