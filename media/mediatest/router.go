package mediatest

import (
	"slices"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/ropehq/rope/media"
)

// testCanConsume: canConsume answers for the producer's codecs against an
// endpoint's capabilities.
func testCanConsume(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r := newRouter(t, newWorker(t, api))
	tr := check[media.DirectTransport](t)(r.CreateDirectTransport(ctx, nil))
	video := check[media.Producer](t)(tr.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: VP8Parameters(1)}))
	audio := check[media.Producer](t)(tr.Produce(ctx, &media.ProducerOptions{Kind: media.KindAudio, RtpParameters: OpusParameters(2)}))
	opusOnly := &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{{Kind: media.KindAudio, MimeType: "audio/opus", ClockRate: 48000, Channels: 2}}}
	routerCaps := r.RtpCapabilities()
	for _, c := range []struct {
		what     string
		producer string
		caps     *media.RtpCapabilities
		want     bool
	}{
		{"video, endpoint with VP8", video.ID(), EndpointCaps(), true},
		{"video, the router's capabilities", video.ID(), &routerCaps, true},
		{"video, endpoint with opus only", video.ID(), opusOnly, false},
		{"audio, endpoint with opus only", audio.ID(), opusOnly, true},
		{"video, no capabilities", video.ID(), &media.RtpCapabilities{}, false},
		{"unknown producer", "unknown", EndpointCaps(), false},
	} {
		if got := r.CanConsume(c.producer, c.caps); got != c.want {
			t.Errorf("canConsume %s: %v, want %v", c.what, got, c.want)
		}
	}
	_, err := tr.Consume(ctx, &media.ConsumerOptions{ProducerID: video.ID(), RtpCapabilities: opusOnly})
	if err == nil {
		t.Fatal("consume with capabilities canConsume refuses succeeded")
	}
}

// testDumps: the dumps of worker, router, transport, producer and
// consumer list each other's ids and the RTP mapping.
func testDumps(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	w := newWorker(t, api)
	p := newPair(t, api, newRouter(t, w))
	obs := check[media.AudioLevelObserver](t)(p.router.CreateAudioLevelObserver(ctx, nil))
	audio := check[media.Producer](t)(p.in.Produce(ctx, &media.ProducerOptions{Kind: media.KindAudio, RtpParameters: OpusParameters(4321)}))
	if err := obs.AddProducer(ctx, media.RtpObserverAddRemoveProducerOptions{ProducerID: audio.ID()}); err != nil {
		t.Fatal(err)
	}
	p.send(t, 3)
	p.waitPackets(t, 3)

	wd := check[*media.WorkerDump](t)(w.Dump(ctx))
	if !slices.Contains(wd.RouterIDs, p.router.ID()) {
		t.Errorf("worker dump routerIds %v lack %s", wd.RouterIDs, p.router.ID())
	}
	rd := check[*media.RouterDump](t)(p.router.Dump(ctx))
	trs := []string{p.in.ID(), p.out.ID()}
	got := slices.Clone(rd.TransportIDs)
	slices.Sort(got)
	slices.Sort(trs)
	if rd.ID != p.router.ID() || !slices.Equal(got, trs) || !slices.Equal(rd.RtpObserverIDs, []string{obs.ID()}) {
		t.Errorf("router dump %+v", rd)
	}
	if i := slices.IndexFunc(rd.MapProducerIDObserverIDs, func(kv media.KeyValues) bool { return kv.Key == audio.ID() }); i < 0 ||
		!slices.Equal(rd.MapProducerIDObserverIDs[i].Values, []string{obs.ID()}) {
		t.Errorf("router dump mapProducerIdObserverIds %+v", rd.MapProducerIDObserverIDs)
	}
	if i := slices.IndexFunc(rd.MapProducerIDConsumerIDs, func(kv media.KeyValues) bool { return kv.Key == p.producer.ID() }); i < 0 ||
		!slices.Equal(rd.MapProducerIDConsumerIDs[i].Values, []string{p.consumer.ID()}) {
		t.Errorf("router dump mapProducerIdConsumerIds %+v", rd.MapProducerIDConsumerIDs)
	}

	in := check[*media.TransportDump](t)(p.in.Dump(ctx))
	ids := []string{p.producer.ID(), audio.ID()}
	slices.Sort(ids)
	gotIDs := slices.Clone(in.ProducerIDs)
	slices.Sort(gotIDs)
	if in.ID != p.in.ID() || in.Direct || !slices.Equal(gotIDs, ids) || len(in.ConsumerIDs) != 0 {
		t.Errorf("producing transport dump %+v", in)
	}
	if !slices.ContainsFunc(in.RtpListener.SsrcTable, func(kv media.KeyValue) bool { return kv.Key == "3333" && kv.Value == p.producer.ID() }) {
		t.Errorf("rtpListener ssrcTable %+v lacks 3333 → %s", in.RtpListener.SsrcTable, p.producer.ID())
	}
	out := check[*media.TransportDump](t)(p.out.Dump(ctx))
	if !slices.Equal(out.ConsumerIDs, []string{p.consumer.ID()}) ||
		!slices.ContainsFunc(out.MapSsrcConsumerID, func(kv media.KeyValue) bool { return kv.Value == p.consumer.ID() }) {
		t.Errorf("consuming transport dump consumerIds %v mapSsrcConsumerId %+v", out.ConsumerIDs, out.MapSsrcConsumerID)
	}

	pd := check[*media.ProducerDump](t)(p.producer.Dump(ctx))
	if pd.Kind != media.KindVideo || pd.Type != media.ProducerSimple || len(pd.RtpMapping.Encodings) != 1 || pd.RtpMapping.Encodings[0].SSRC != 3333 ||
		pd.RtpMapping.Encodings[0].MappedSSRC == 0 || len(pd.RtpMapping.Codecs) == 0 || len(pd.RtpStreams) != 1 ||
		pd.RtpStreams[0].Params.SSRC != 3333 || pd.RtpStreams[0].Params.MimeType != "video/VP8" {
		t.Errorf("producer dump %+v", pd)
	}
	cd := check[*media.ConsumerDump](t)(p.consumer.Dump(ctx))
	if cd.Kind != media.KindVideo || cd.Type != media.ConsumerSimple || len(cd.ConsumableRtpEncodings) != 1 ||
		cd.ConsumableRtpEncodings[0].SSRC != pd.RtpMapping.Encodings[0].MappedSSRC || len(cd.SupportedCodecPayloadTypes) == 0 ||
		len(cd.RtpStreams) != 1 || cd.RtpStreams[0].Params.SSRC != p.consumerSSRC() || cd.Priority != 1 {
		t.Errorf("consumer dump %+v", cd)
	}
}

// testAppData: every object keeps the appData it was created with, and
// setAppData replaces it.
func testAppData(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	w := newWorker(t, api)
	r := check[media.Router](t)(w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: MediaCodecs(), AppData: media.AppData{"k": "router"}}))
	tr := check[media.DirectTransport](t)(r.CreateDirectTransport(ctx, &media.DirectTransportOptions{AppData: media.AppData{"k": "transport"}}))
	p := check[media.Producer](t)(tr.Produce(ctx, &media.ProducerOptions{Kind: media.KindAudio, RtpParameters: OpusParameters(11), AppData: media.AppData{"k": "producer"}}))
	c := check[media.Consumer](t)(tr.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: EndpointCaps(), AppData: media.AppData{"k": "consumer"}}))
	dp := check[media.DataProducer](t)(tr.ProduceData(ctx, &media.DataProducerOptions{AppData: media.AppData{"k": "dataProducer"}}))
	dc := check[media.DataConsumer](t)(tr.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: dp.ID(), AppData: media.AppData{"k": "dataConsumer"}}))
	obs := check[media.ActiveSpeakerObserver](t)(r.CreateActiveSpeakerObserver(ctx, &media.ActiveSpeakerObserverOptions{AppData: media.AppData{"k": "observer"}}))
	type holder interface {
		AppData() media.AppData
		SetAppData(media.AppData)
	}
	for _, x := range []struct {
		what string
		obj  holder
	}{{"worker", w}, {"router", r}, {"transport", tr}, {"producer", p}, {"consumer", c}, {"dataProducer", dp}, {"dataConsumer", dc}, {"observer", obs}} {
		if x.what != "worker" && x.obj.AppData()["k"] != x.what {
			t.Errorf("%s appData %v", x.what, x.obj.AppData())
		}
		x.obj.SetAppData(media.AppData{"set": x.what})
		if got := x.obj.AppData(); got["set"] != x.what || got["k"] != nil {
			t.Errorf("%s appData after setAppData %v", x.what, got)
		}
	}
}

// testResourceUsage: a worker in use (a router with a transport: a
// layer that places routers lazily has real workers by then) reports its
// resource usage.
func testResourceUsage(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	w := newWorker(t, api)
	check[media.DirectTransport](t)(newRouter(t, w).CreateDirectTransport(ctx, nil))
	u := check[*media.WorkerResourceUsage](t)(w.GetResourceUsage(ctx))
	if u.MaxRSS <= 0 || u.UTime < 0 || u.STime < 0 {
		t.Fatalf("resource usage %+v", u)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := w.GetResourceUsage(ctx)
	wantErr(t, "getResourceUsage of a closed worker", err, media.ErrClosed)
}

// testTraceEvents: enableTraceEvent is accepted on transports, producers
// and consumers, and a transport's dump lists the types.
func testTraceEvents(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	p := newPair(t, api, nil)
	types := []media.TransportTraceEventType{"probation", "bwe"}
	if err := p.out.EnableTraceEvent(ctx, types); err != nil {
		t.Fatal(err)
	}
	if err := p.producer.EnableTraceEvent(ctx, []media.ProducerTraceEventType{"keyframe", "pli"}); err != nil {
		t.Fatal(err)
	}
	if err := p.consumer.EnableTraceEvent(ctx, []media.ProducerTraceEventType{"rtp"}); err != nil {
		t.Fatal(err)
	}
	d := check[*media.TransportDump](t)(p.out.Dump(ctx))
	if !slices.Equal(d.TraceEventTypes, []string{"probation", "bwe"}) {
		t.Fatalf("transport dump traceEventTypes %v", d.TraceEventTypes)
	}
	if err := p.out.EnableTraceEvent(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if d := check[*media.TransportDump](t)(p.out.Dump(ctx)); len(d.TraceEventTypes) != 0 {
		t.Fatalf("traceEventTypes %v after disabling", d.TraceEventTypes)
	}
}

// testMaxIncomingBitrate: setMaxIncomingBitrate caps the REMB the
// transport sends its producing endpoint; the bitrate setters refuse a
// negative bitrate.
func testMaxIncomingBitrate(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r := newRouter(t, newWorker(t, api))
	e := NewEndpoint(t)
	tr := connectedPlain(t, r, e)
	const absID = 3
	params := VP8Parameters(42)
	params.Codecs[0].RtcpFeedback = append(params.Codecs[0].RtcpFeedback, media.RtcpFeedback{Type: "goog-remb"})
	params.HeaderExtensions = []media.RtpHeaderExtensionParameters{{URI: media.ExtAbsSendTime, ID: absID}}
	check[media.Producer](t)(tr.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))
	if err := tr.SetMaxIncomingBitrate(ctx, 150_000); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	snd := &VP8Sender{SSRC: 42, PT: 101}
	eventually(t, "a REMB of at most 150 kbps", func() bool {
		// About 1.6 Mbps: 1,000 bytes every 5 ms, abs-send-time from the clock.
		var pk rtp.Packet
		if err := pk.Unmarshal(snd.Next(t, false, 1000)); err != nil {
			t.Fatal(err)
		}
		abs := uint32(time.Since(start) * (1 << 18) / time.Second)
		if err := pk.SetExtension(absID, []byte{byte(abs >> 16), byte(abs >> 8), byte(abs)}); err != nil {
			t.Fatal(err)
		}
		b, err := pk.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		e.Send(tr.Tuple(), b)
		time.Sleep(5 * time.Millisecond)
		for _, x := range e.RTCP() {
			if remb, ok := x.(*rtcp.ReceiverEstimatedMaximumBitrate); ok && remb.Bitrate > 0 && remb.Bitrate <= 150_000 &&
				slices.Equal(remb.SSRCs, []uint32{42}) {
				return true
			}
		}
		return false
	})
	wantErr(t, "negative maxIncomingBitrate", tr.SetMaxIncomingBitrate(ctx, -1), media.ErrInvalidParams)
	wrtc := webRtcTransport(t, r, false)
	for _, set := range []func() error{
		func() error { return wrtc.SetMaxIncomingBitrate(ctx, 1_000_000) },
		func() error { return wrtc.SetMaxOutgoingBitrate(ctx, 2_000_000) },
		func() error { return wrtc.SetMinOutgoingBitrate(ctx, 100_000) },
	} {
		if err := set(); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, "negative maxOutgoingBitrate", wrtc.SetMaxOutgoingBitrate(ctx, -1), media.ErrInvalidParams)
}
