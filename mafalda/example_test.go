package mafalda_test

import (
	"context"
	"fmt"

	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
)

// A room whose workers take 2 consumers each: the third consumer lands
// on a second worker, which the producer reaches through one pipe, and
// the worker goes away with its last transport.
func Example() {
	ctx := context.Background()
	m := mafalda.New(engine.New(nil), &mafalda.Options{
		CPUs:                  2,
		MaxConsumersPerWorker: 2,
		LoadFunc:              func(context.Context, media.Worker) (float64, error) { return 0, nil },
	})
	defer m.Close(ctx)
	room, _ := m.CreateMafaldaRouter(ctx, &mafalda.MafaldaRouterOptions{RouterOptions: media.RouterOptions{
		MediaCodecs: []media.RtpCodecCapability{{Kind: media.KindAudio, MimeType: "audio/opus", ClockRate: 48000, Channels: 2}},
	}})
	in, _ := room.CreateDirectTransport(ctx, nil)
	mic, _ := in.Produce(ctx, &media.ProducerOptions{Kind: media.KindAudio, RtpParameters: media.RtpParameters{
		Codecs:    []media.RtpCodecParameters{{MimeType: "audio/opus", PayloadType: 111, ClockRate: 48000, Channels: 2}},
		Encodings: []media.RtpEncodingParameters{{SSRC: 1}},
	}})
	var last media.Transport
	for i := 0; i < 3; i++ {
		last, _ = room.CreateDirectTransport(ctx, nil)
		_, err := last.Consume(ctx, &media.ConsumerOptions{ProducerID: mic.ID(), RtpCapabilities: &media.RtpCapabilities{
			Codecs: []media.RtpCodecCapability{{Kind: media.KindAudio, MimeType: "audio/opus", ClockRate: 48000, Channels: 2}},
		}})
		if err != nil {
			fmt.Println(err)
		}
	}
	fmt.Println("workers:", len(m.Workers()), "pipes:", len(room.DumpState().Pipes))
	_ = last.Close(ctx)
	fmt.Println("workers:", len(m.Workers()), "pipes:", len(room.DumpState().Pipes))
	// Output:
	// workers: 2 pipes: 1
	// workers: 1 pipes: 0
}
