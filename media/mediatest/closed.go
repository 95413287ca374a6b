package mediatest

import (
	"context"
	"testing"

	"github.com/ropehq/rope/media"
)

// testClosedObjects: once closed, every object refuses its calls with
// media.ErrClosed (and Close again succeeds), whether the app closed it
// or its parent's close did.
func testClosedObjects(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	w := newWorker(t, api)
	r := newRouter(t, w)
	e := NewEndpoint(t)
	plain := connectedPlain(t, r, e)
	webrtc := webRtcTransport(t, r, true)
	pipe := check[media.PipeTransport](t)(r.CreatePipeTransport(ctx, &media.PipeTransportOptions{ListenInfo: listenInfo()}))
	direct := check[media.DirectTransport](t)(r.CreateDirectTransport(ctx, nil))
	p := check[media.Producer](t)(plain.Produce(ctx, &media.ProducerOptions{Kind: media.KindAudio, RtpParameters: OpusParameters(1111)}))
	c := check[media.Consumer](t)(plain.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: EndpointCaps()}))
	dp := check[media.DataProducer](t)(direct.ProduceData(ctx, nil))
	dc := check[media.DataConsumer](t)(direct.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}))
	alo := check[media.AudioLevelObserver](t)(r.CreateAudioLevelObserver(ctx, nil))
	aso := check[media.ActiveSpeakerObserver](t)(r.CreateActiveSpeakerObserver(ctx, nil))

	// The app closes the consumer and the data consumer; the router's
	// close closes the rest.
	for _, x := range []interface{ Close(context.Context) error }{c, dc, r} {
		if err := x.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "every object closed", func() bool {
		return c.Closed() && dc.Closed() && p.Closed() && dp.Closed() && plain.Closed() && webrtc.Closed() && pipe.Closed() &&
			direct.Closed() && alo.Closed() && aso.Closed()
	})
	opus := OpusParameters(2222)
	calls := []struct {
		what string
		err  error
	}{
		{"router.Close", r.Close(ctx)},
		{"router.Dump", second(r.Dump(ctx))},
		{"router.CreatePlainTransport", second(r.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: listenInfo()}))},
		{"router.CreateDirectTransport", second(r.CreateDirectTransport(ctx, nil))},
		{"router.CreateAudioLevelObserver", second(r.CreateAudioLevelObserver(ctx, nil))},
		{"plain.Close", plain.Close(ctx)},
		{"plain.Dump", second(plain.Dump(ctx))},
		{"plain.GetStats", second(plain.GetStats(ctx))},
		{"plain.Connect", plain.Connect(ctx, &media.PlainTransportConnectOptions{IP: "127.0.0.1", Port: e.Port()})},
		{"plain.Produce", second(plain.Produce(ctx, &media.ProducerOptions{Kind: media.KindAudio, RtpParameters: opus}))},
		{"plain.SetMaxIncomingBitrate", plain.SetMaxIncomingBitrate(ctx, 100_000)},
		{"plain.EnableTraceEvent", plain.EnableTraceEvent(ctx, nil)},
		{"webrtc.Connect", webrtc.Connect(ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: &media.DtlsParameters{Role: "client",
			Fingerprints: []media.DtlsFingerprint{{Algorithm: "sha-256", Value: "AB:CD"}}}})},
		{"webrtc.RestartIce", second(webrtc.RestartIce(ctx))},
		{"webrtc.SetMaxOutgoingBitrate", webrtc.SetMaxOutgoingBitrate(ctx, 100_000)},
		{"pipe.Connect", pipe.Connect(ctx, &media.PipeTransportConnectOptions{IP: "127.0.0.1", Port: e.Port()})},
		{"direct.ProduceData", second(direct.ProduceData(ctx, nil))},
		{"producer.Close", p.Close(ctx)},
		{"producer.Dump", second(p.Dump(ctx))},
		{"producer.GetStats", second(p.GetStats(ctx))},
		{"producer.Pause", p.Pause(ctx)},
		{"producer.Resume", p.Resume(ctx)},
		{"producer.EnableTraceEvent", p.EnableTraceEvent(ctx, nil)},
		{"consumer.Close", c.Close(ctx)},
		{"consumer.Dump", second(c.Dump(ctx))},
		{"consumer.GetStats", second(c.GetStats(ctx))},
		{"consumer.Pause", c.Pause(ctx)},
		{"consumer.Resume", c.Resume(ctx)},
		{"consumer.SetPreferredLayers", c.SetPreferredLayers(ctx, media.ConsumerLayers{})},
		{"consumer.SetPriority", c.SetPriority(ctx, 2)},
		{"consumer.UnsetPriority", c.UnsetPriority(ctx)},
		{"consumer.RequestKeyFrame", c.RequestKeyFrame(ctx)},
		{"dataProducer.Close", dp.Close(ctx)},
		{"dataProducer.Dump", second(dp.Dump(ctx))},
		{"dataProducer.GetStats", second(dp.GetStats(ctx))},
		{"dataProducer.Pause", dp.Pause(ctx)},
		{"dataProducer.Send", dp.Send([]byte("x"), nil)},
		{"dataConsumer.Close", dc.Close(ctx)},
		{"dataConsumer.Dump", second(dc.Dump(ctx))},
		{"dataConsumer.GetStats", second(dc.GetStats(ctx))},
		{"dataConsumer.Pause", dc.Pause(ctx)},
		{"audioLevelObserver.Close", alo.Close(ctx)},
		{"audioLevelObserver.Pause", alo.Pause(ctx)},
		{"audioLevelObserver.AddProducer", alo.AddProducer(ctx, media.RtpObserverAddRemoveProducerOptions{ProducerID: p.ID()})},
		{"activeSpeakerObserver.Resume", aso.Resume(ctx)},
	}
	for _, x := range calls {
		switch {
		case len(x.what) > 6 && x.what[len(x.what)-6:] == ".Close":
			if x.err != nil {
				t.Errorf("%s on a closed object: %v, want nil", x.what, x.err)
			}
		default:
			wantErr(t, x.what+" on a closed object", x.err, media.ErrClosed)
		}
	}
}

// second drops a call's result and keeps its error.
func second[T any](_ T, err error) error { return err }
