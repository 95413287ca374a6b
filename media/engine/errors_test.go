package engine_test

import (
	"testing"

	"github.com/ropehq/rope/media"
)

func TestInvalidInput(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx
	if _, err := f.worker.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: []media.RtpCodecCapability{{Kind: media.KindVideo, MimeType: "video/NOPE", ClockRate: 90000}}}); !isErr(err, media.ErrUnsupported) {
		t.Errorf("unsupported codec: %v", err)
	}
	if _, err := f.worker.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: []media.RtpCodecCapability{{Kind: media.KindVideo, MimeType: "video/VP8"}}}); !isErr(err, media.ErrInvalidParams) {
		t.Errorf("no clock rate: %v", err)
	}
	if _, err := f.api.CreateWorker(ctx, &media.WorkerSettings{RtcMinPort: 5000, RtcMaxPort: 4000}); !isErr(err, media.ErrInvalidParams) {
		t.Errorf("bad port range: %v", err)
	}
	if _, err := f.router.CreatePlainTransport(ctx, nil); !isErr(err, media.ErrInvalidParams) {
		t.Errorf("nil options: %v", err)
	}
	if _, err := f.router.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: &media.TransportListenInfo{IP: "not-an-ip"}}); !isErr(err, media.ErrInvalidParams) {
		t.Errorf("bad ip: %v", err)
	}
	if _, err := f.router.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: &media.TransportListenInfo{IP: lo}, EnableSrtp: true, SrtpCryptoSuite: "ROT13"}); !isErr(err, media.ErrInvalidParams) {
		t.Errorf("bad crypto suite: %v", err)
	}
	tr := must[media.PlainTransport](t)(f.router.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: &media.TransportListenInfo{IP: lo}}))
	if err := tr.Connect(ctx, &media.PlainTransportConnectOptions{IP: "x", Port: 1}); !isErr(err, media.ErrInvalidParams) {
		t.Errorf("connect bad ip: %v", err)
	}
	if err := tr.Connect(ctx, &media.PlainTransportConnectOptions{IP: lo}); !isErr(err, media.ErrInvalidParams) {
		t.Errorf("connect no port: %v", err)
	}
	if err := tr.Connect(ctx, &media.PlainTransportConnectOptions{IP: lo, Port: 9}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Connect(ctx, &media.PlainTransportConnectOptions{IP: lo, Port: 9}); !isErr(err, media.ErrInvalidState) {
		t.Errorf("second connect: %v", err)
	}

	produce := func(o *media.ProducerOptions) error {
		_, err := tr.Produce(ctx, o)
		return err
	}
	if err := produce(nil); !isErr(err, media.ErrInvalidParams) {
		t.Errorf("nil produce options: %v", err)
	}
	if err := produce(&media.ProducerOptions{Kind: "x", RtpParameters: vp8Params(1)}); !isErr(err, media.ErrInvalidParams) {
		t.Errorf("bad kind: %v", err)
	}
	h264 := vp8Params(2)
	h264.Codecs[0].MimeType = "video/H264"
	if err := produce(&media.ProducerOptions{Kind: media.KindVideo, RtpParameters: h264}); !isErr(err, media.ErrUnsupported) {
		t.Errorf("codec not in router: %v", err)
	}
	noCodecs := vp8Params(3)
	noCodecs.Codecs = nil
	if err := produce(&media.ProducerOptions{Kind: media.KindVideo, RtpParameters: noCodecs}); err == nil {
		t.Error("no codecs accepted")
	}
	p := must[media.Producer](t)(tr.Produce(ctx, &media.ProducerOptions{ID: "p1", Kind: media.KindVideo, RtpParameters: vp8Params(10)}))
	if err := produce(&media.ProducerOptions{ID: "p1", Kind: media.KindVideo, RtpParameters: vp8Params(11)}); !isErr(err, media.ErrDuplicateID) {
		t.Errorf("duplicate id: %v", err)
	}
	if err := produce(&media.ProducerOptions{Kind: media.KindVideo, RtpParameters: vp8Params(10)}); !isErr(err, media.ErrInvalidParams) {
		t.Errorf("duplicate ssrc: %v", err)
	}

	consume := func(o *media.ConsumerOptions) error {
		_, err := tr.Consume(ctx, o)
		return err
	}
	if err := consume(&media.ConsumerOptions{ProducerID: "nope", RtpCapabilities: consumerCaps(false)}); !isErr(err, media.ErrNotFound) {
		t.Errorf("unknown producer: %v", err)
	}
	if err := consume(&media.ConsumerOptions{ProducerID: p.ID()}); !isErr(err, media.ErrInvalidParams) {
		t.Errorf("no caps: %v", err)
	}
	opusOnly := &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{{Kind: media.KindAudio, MimeType: "audio/opus", ClockRate: 48000, Channels: 2}}}
	if err := consume(&media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: opusOnly}); !isErr(err, media.ErrUnsupported) {
		t.Errorf("incompatible caps: %v", err)
	}
	if f.router.CanConsume(p.ID(), opusOnly) || !f.router.CanConsume(p.ID(), consumerCaps(false)) || f.router.CanConsume("nope", consumerCaps(false)) {
		t.Error("CanConsume wrong")
	}
	if _, err := f.router.PipeToRouter(ctx, &media.PipeToRouterOptions{ProducerID: "nope", Router: f.router}); err == nil {
		t.Error("pipe to self accepted")
	}

	// Closed objects.
	c := must[media.Consumer](t)(tr.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: consumerCaps(false)}))
	if err := tr.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(ctx); err != nil {
		t.Errorf("second close: %v", err)
	}
	for name, err := range map[string]error{
		"produce":  produce(&media.ProducerOptions{Kind: media.KindVideo, RtpParameters: vp8Params(20)}),
		"pause":    p.Pause(ctx),
		"resume":   c.Resume(ctx),
		"connect":  tr.Connect(ctx, &media.PlainTransportConnectOptions{IP: lo, Port: 1}),
		"dump":     second(tr.Dump(ctx)),
		"stats":    second(c.GetStats(ctx)),
		"keyframe": c.RequestKeyFrame(ctx),
		"send":     p.Send([]byte{0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 10}),
	} {
		if !isErr(err, media.ErrClosed) || !isErr(err, media.ErrInvalidState) {
			t.Errorf("%s on closed: %v", name, err)
		}
	}
	if err := f.router.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.router.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: &media.TransportListenInfo{IP: lo}}); !isErr(err, media.ErrClosed) {
		t.Errorf("transport on closed router: %v", err)
	}
	if err := f.worker.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.worker.CreateRouter(ctx, nil); !isErr(err, media.ErrClosed) {
		t.Errorf("router on closed worker: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

func TestCloseCascade(t *testing.T) {
	s := setupForwarding(t, 1, false)
	var events []string
	rec := func(name string) func() { return func() { events = append(events, name) } }
	s.router.OnWorkerClose(rec("router.workerclose"))
	s.router.OnClose(rec("router.close"))
	s.prodTr.OnRouterClose(rec("transport.routerclose"))
	s.producer.OnTransportClose(rec("producer.transportclose"))
	s.producer.OnClose(rec("producer.close"))
	s.consumers[0].OnProducerClose(rec("consumer.producerclose"))
	s.consumers[0].OnTransportClose(rec("consumer.transportclose"))
	s.consumers[0].OnClose(rec("consumer.close"))
	s.worker.OnClose(rec("worker.close"))
	if err := s.worker.Close(s.ctx); err != nil {
		t.Fatal(err)
	}
	has := map[string]bool{}
	for _, e := range events {
		has[e] = true
	}
	for _, want := range []string{"router.workerclose", "router.close", "transport.routerclose", "producer.transportclose",
		"producer.close", "consumer.close", "worker.close"} {
		if !has[want] {
			t.Errorf("missing %s in %v", want, events)
		}
	}
	// As mediasoup's: a consumer learns of a closed router from its own
	// transport, whichever transport closed first.
	if !has["consumer.transportclose"] || has["consumer.producerclose"] {
		t.Errorf("consumer close reasons: %v", events)
	}
	if events[len(events)-1] != "worker.close" || !s.producer.Closed() || !s.consumers[0].Closed() {
		t.Errorf("order %v", events)
	}
}

func TestObserverEventsAndDump(t *testing.T) {
	f := newFixture(t)
	var newTransports, newProducers, newConsumers int
	f.router.OnNewTransport(func(media.Transport) { newTransports++ })
	e := newEndpoint(t)
	tr := f.plain(f.router, e)
	tr.OnNewProducer(func(media.Producer) { newProducers++ })
	tr.OnNewConsumer(func(media.Consumer) { newConsumers++ })
	tr.SetAppData(media.AppData{"k": "v"})
	p := must[media.Producer](t)(tr.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: vp8Params(1), AppData: media.AppData{"x": 1}}))
	c := must[media.Consumer](t)(tr.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: consumerCaps(true), Paused: true}))
	if newTransports != 1 || newProducers != 1 || newConsumers != 1 {
		t.Fatalf("events %d %d %d", newTransports, newProducers, newConsumers)
	}
	if tr.AppData()["k"] != "v" || p.AppData()["x"] != 1 || c.AppData() == nil {
		t.Fatal("appData")
	}
	rd := must[*media.RouterDump](t)(f.router.Dump(f.ctx))
	if len(rd.TransportIDs) != 1 || len(rd.MapProducerIDConsumerIDs) != 1 || rd.MapProducerIDConsumerIDs[0].Values[0] != c.ID() {
		t.Fatalf("router dump %+v", rd)
	}
	td := must[*media.TransportDump](t)(tr.Dump(f.ctx))
	if len(td.ProducerIDs) != 1 || len(td.ConsumerIDs) != 1 || len(td.MapSsrcConsumerID) != 1 || len(td.MapRtxSsrcConsumerID) != 1 {
		t.Fatalf("transport dump %+v", td)
	}
	cd := must[*media.ConsumerDump](t)(c.Dump(f.ctx))
	if !cd.Paused || cd.Type != media.ConsumerSimple || cd.RtpStreams[0].Params.RtxSSRC == 0 {
		t.Fatalf("consumer dump %+v", cd)
	}
	pd := must[*media.ProducerDump](t)(p.Dump(f.ctx))
	if pd.RtpMapping.Encodings[0].MappedSSRC == 0 || pd.RtpStreams[0].Params.SSRC != 1 {
		t.Fatalf("producer dump %+v", pd)
	}
	wd := must[*media.WorkerDump](t)(f.worker.Dump(f.ctx))
	if len(wd.RouterIDs) != 1 || wd.PID == 0 {
		t.Fatalf("worker dump %+v", wd)
	}
	ru := must[*media.WorkerResourceUsage](t)(f.worker.GetResourceUsage(f.ctx))
	if ru.UTime+ru.STime <= 0 || ru.MaxRSS == 0 {
		t.Fatalf("resource usage %+v", ru)
	}
	if err := f.worker.UpdateSettings(f.ctx, &media.WorkerUpdateableSettings{LogLevel: "loud"}); !isErr(err, media.ErrInvalidParams) {
		t.Fatalf("bad log level: %v", err)
	}
}
