package mediatest

import (
	"bytes"
	"context"
	"testing"

	"github.com/ropehq/rope/media"
)

func testWorker(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	if len(api.SupportedRtpCapabilities().Codecs) == 0 {
		t.Fatal("no supported codecs")
	}
	w := newWorker(t, api)
	if w.AppData()["suite"] != true || w.Closed() || w.Died() {
		t.Fatalf("appData %v closed %v died %v", w.AppData(), w.Closed(), w.Died())
	}
	newRouters := newFlag()
	w.OnNewRouter(func(media.Router) { newRouters.set() })
	r := newRouter(t, w)
	newRouters.wait(t, "newrouter")
	d := check[*media.WorkerDump](t)(w.Dump(ctx))
	if len(d.RouterIDs) != 1 || d.RouterIDs[0] != r.ID() {
		t.Fatalf("dump routerIds %v", d.RouterIDs)
	}
	check[*media.WorkerResourceUsage](t)(w.GetResourceUsage(ctx))
	if err := w.UpdateSettings(ctx, &media.WorkerUpdateableSettings{LogLevel: media.LogLevelWarn}); err != nil {
		t.Fatal(err)
	}
	closed, routerClosed := newFlag(), newFlag()
	w.OnClose(closed.set)
	r.OnWorkerClose(routerClosed.set)
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	closed.wait(t, "worker close")
	routerClosed.wait(t, "router workerclose")
	if err := w.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if !w.Closed() || !r.Closed() {
		t.Fatal("not closed")
	}
	_, err := w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: MediaCodecs()})
	wantErr(t, "CreateRouter on closed worker", err, media.ErrClosed)
}

func testRouter(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	w := newWorker(t, api)
	r := newRouter(t, w)
	caps := r.RtpCapabilities()
	var video, rtx bool
	for _, c := range caps.Codecs {
		video = video || c.MimeType == "video/VP8"
		rtx = rtx || c.MimeType == "video/rtx"
		if c.PreferredPayloadType == nil {
			t.Fatalf("codec %s without payload type", c.MimeType)
		}
	}
	if !video || !rtx || len(caps.HeaderExtensions) == 0 {
		t.Fatalf("router caps %+v", caps)
	}
	r.SetAppData(media.AppData{"a": "b"})
	if r.AppData()["a"] != "b" {
		t.Fatal("appData not set")
	}
	d := check[*media.RouterDump](t)(r.Dump(ctx))
	if d.ID != r.ID() || d.TransportIDs == nil {
		t.Fatalf("dump %+v", d)
	}
	newTransports := newFlag()
	r.OnNewTransport(func(media.Transport) { newTransports.set() })
	check[media.DirectTransport](t)(r.CreateDirectTransport(ctx, nil))
	newTransports.wait(t, "newtransport")
	closed := newFlag()
	r.OnClose(closed.set)
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	closed.wait(t, "router close")
	if d := check[*media.WorkerDump](t)(w.Dump(ctx)); len(d.RouterIDs) != 0 {
		t.Fatalf("closed router still in worker dump: %v", d.RouterIDs)
	}
}

func testPlainTransport(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r := newRouter(t, newWorker(t, api))
	e := NewEndpoint(t)
	tr := check[media.PlainTransport](t)(r.CreatePlainTransport(ctx, &media.PlainTransportOptions{
		ListenInfo: listenInfo(), AppData: media.AppData{"t": 1}}))
	tuple := tr.Tuple()
	if tuple.LocalAddress != "127.0.0.1" || tuple.LocalPort == 0 || tuple.Protocol != media.ProtocolUDP || tr.RtcpTuple() != nil {
		t.Fatalf("tuple %+v rtcpTuple %+v", tuple, tr.RtcpTuple())
	}
	if err := tr.Connect(ctx, &media.PlainTransportConnectOptions{IP: "127.0.0.1", Port: e.Port()}); err != nil {
		t.Fatal(err)
	}
	if tt := tr.Tuple(); tt.RemoteIP != "127.0.0.1" || tt.RemotePort != e.Port() {
		t.Fatalf("tuple after connect %+v", tt)
	}
	d := check[*media.TransportDump](t)(tr.Dump(ctx))
	if d.ID != tr.ID() || d.Tuple == nil || d.RtcpMux == nil || !*d.RtcpMux || d.Comedia == nil || *d.Comedia {
		t.Fatalf("dump %+v", d)
	}
	st := check[[]media.TransportStats](t)(tr.GetStats(ctx))
	if len(st) != 1 || st[0].Type != "plain-rtp-transport" || st[0].TransportID != tr.ID() {
		t.Fatalf("stats %+v", st)
	}
	if tr.AppData()["t"] != 1 {
		t.Fatal("appData")
	}
}

// pair is a producer on one plain transport and a consumer on another.
type pair struct {
	router   media.Router
	src, dst *Endpoint
	in, out  media.PlainTransport
	producer media.Producer
	consumer media.Consumer
	sender   *VP8Sender
}

func newPair(t *testing.T, api media.API, r media.Router) *pair {
	t.Helper()
	ctx := ctxFor(t)
	if r == nil {
		r = newRouter(t, newWorker(t, api))
	}
	p := &pair{router: r, src: NewEndpoint(t), dst: NewEndpoint(t), sender: &VP8Sender{SSRC: 3333, PT: 101}}
	p.in, p.out = connectedPlain(t, r, p.src), connectedPlain(t, r, p.dst)
	p.producer = check[media.Producer](t)(p.in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo,
		RtpParameters: VP8Parameters(3333), AppData: media.AppData{"p": 1}}))
	p.consumer = check[media.Consumer](t)(p.out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.producer.ID(),
		RtpCapabilities: EndpointCaps(), AppData: media.AppData{"c": 1}}))
	return p
}

func (p *pair) consumerSSRC() uint32 { return p.consumer.RtpParameters().Encodings[0].SSRC }

// send sends n packets, the first a key frame, and returns them.
func (p *pair) send(t *testing.T, n int) [][]byte {
	var out [][]byte
	for i := 0; i < n; i++ {
		b := p.sender.Next(t, i == 0, 800)
		out = append(out, b)
		p.src.Send(p.in.Tuple(), b)
	}
	return out
}

func (p *pair) waitPackets(t *testing.T, n int) {
	t.Helper()
	eventually(t, "consumer packets", func() bool { return len(p.dst.RTP(p.consumerSSRC())) >= n })
}

func testProduceConsume(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	p := newPair(t, api, nil)
	if p.producer.Kind() != media.KindVideo || p.producer.Type() != media.ProducerSimple || p.producer.AppData()["p"] != 1 {
		t.Fatalf("producer kind %s type %s", p.producer.Kind(), p.producer.Type())
	}
	c := p.consumer
	if c.ProducerID() != p.producer.ID() || c.Kind() != media.KindVideo || c.Type() != media.ConsumerSimple || c.AppData()["c"] != 1 {
		t.Fatalf("consumer producerId %s kind %s type %s", c.ProducerID(), c.Kind(), c.Type())
	}
	params := c.RtpParameters()
	if len(params.Codecs) == 0 || params.Codecs[0].MimeType != "video/VP8" || len(params.Encodings) != 1 || params.Encodings[0].SSRC == 0 {
		t.Fatalf("consumer rtpParameters %+v", params)
	}
	if !p.router.CanConsume(p.producer.ID(), EndpointCaps()) {
		t.Fatal("CanConsume false")
	}
	pd := check[*media.ProducerDump](t)(p.producer.Dump(ctx))
	cd := check[*media.ConsumerDump](t)(c.Dump(ctx))
	if pd.ID != p.producer.ID() || cd.ID != c.ID() || cd.ProducerID != p.producer.ID() {
		t.Fatalf("dumps %+v %+v", pd, cd)
	}
	rd := check[*media.RouterDump](t)(p.router.Dump(ctx))
	if len(rd.MapProducerIDConsumerIDs) != 1 || len(rd.MapConsumerIDProducerID) != 1 || rd.MapConsumerIDProducerID[0].Key != c.ID() {
		t.Fatalf("router dump %+v", rd)
	}
	p.send(t, 5)
	p.waitPackets(t, 5)
	eventually(t, "stats", func() bool {
		ps, err1 := p.producer.GetStats(ctx)
		cs, err2 := c.GetStats(ctx)
		return err1 == nil && err2 == nil && len(ps) == 1 && ps[0].Type == "inbound-rtp" && ps[0].PacketCount == 5 &&
			len(cs) == 2 && cs[0].Type == "outbound-rtp" && cs[0].PacketCount == 5
	})
}

func testPauseResume(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	p := newPair(t, api, nil)
	c := p.consumer
	paused, resumed, prodPaused, prodResumed := newFlag(), newFlag(), newFlag(), newFlag()
	c.OnPause(paused.set)
	c.OnResume(resumed.set)
	c.OnProducerPause(prodPaused.set)
	c.OnProducerResume(prodResumed.set)
	p.send(t, 5)
	p.waitPackets(t, 5)
	if err := c.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	paused.wait(t, "consumer pause")
	if !c.Paused() {
		t.Fatal("Paused() false")
	}
	if err := c.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	resumed.wait(t, "consumer resume")
	if err := p.producer.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	prodPaused.wait(t, "producerpause")
	eventually(t, "ProducerPaused", c.ProducerPaused)
	if err := p.producer.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	prodResumed.wait(t, "producerresume")
	p.send(t, 5)
	p.waitPackets(t, 10)
	got := p.dst.RTP(p.consumerSSRC())
	for i := 1; i < len(got); i++ {
		if got[i].SequenceNumber != got[i-1].SequenceNumber+1 {
			t.Fatalf("sequence gap after pause/resume: %d then %d", got[i-1].SequenceNumber, got[i].SequenceNumber)
		}
	}
}

func testForwarding(t *testing.T, api media.API) {
	p := newPair(t, api, nil)
	sent := p.send(t, 20)
	p.waitPackets(t, 20)
	params := p.consumer.RtpParameters()
	for i, got := range p.dst.RTP(p.consumerSSRC()) {
		if got.PayloadType != uint8(params.Codecs[0].PayloadType) || !bytes.Equal(got.Payload, sent[i][12:]) {
			t.Fatalf("packet %d: pt %d, payload intact %v", i, got.PayloadType, bytes.Equal(got.Payload, sent[i][12:]))
		}
	}
}

func testCloseCascade(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	p := newPair(t, api, nil)
	trClosed, prodClosed, consClosed, consTrClosed := newFlag(), newFlag(), newFlag(), newFlag()
	p.in.OnRouterClose(trClosed.set)
	p.producer.OnTransportClose(prodClosed.set)
	p.consumer.OnClose(consClosed.set)
	p.consumer.OnTransportClose(consTrClosed.set)

	// Closing the producer closes its consumer with "producerclose".
	other := check[media.Consumer](t)(p.out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.producer.ID(), RtpCapabilities: EndpointCaps()}))
	otherClosed := newFlag()
	other.OnProducerClose(otherClosed.set)
	if err := other.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if otherClosed.count() != 0 {
		t.Fatal("producerclose on a consumer closed by the app")
	}
	if err := p.router.Close(ctx); err != nil {
		t.Fatal(err)
	}
	trClosed.wait(t, "transport routerclose")
	prodClosed.wait(t, "producer transportclose")
	consClosed.wait(t, "consumer close")
	eventually(t, "closed flags", func() bool { return p.in.Closed() && p.producer.Closed() && p.consumer.Closed() })
	_, err := p.in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: VP8Parameters(9)})
	wantErr(t, "Produce on closed transport", err, media.ErrClosed)
	wantErr(t, "Pause on closed producer", p.producer.Pause(ctx), media.ErrInvalidState)
}

func testPipeToRouter(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	w1 := newWorker(t, api)
	w2 := newWorker(t, api)
	r1, r2 := newRouter(t, w1), newRouter(t, w2)
	src := NewEndpoint(t)
	in := connectedPlain(t, r1, src)
	prod := check[media.Producer](t)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: VP8Parameters(4444)}))
	res := check[*media.PipeToRouterResult](t)(r1.PipeToRouter(ctx, &media.PipeToRouterOptions{ProducerID: prod.ID(), Router: r2}))
	if res.PipeProducer == nil || res.PipeConsumer == nil || res.PipeProducer.ID() != prod.ID() {
		t.Fatalf("result %+v", res)
	}
	p := newPair(t, api, r2)
	c := check[media.Consumer](t)(p.out.Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: EndpointCaps()}))
	snd := &VP8Sender{SSRC: 4444, PT: 101}
	for i := 0; i < 10; i++ {
		src.Send(in.Tuple(), snd.Next(t, i == 0, 500))
	}
	ssrc := c.RtpParameters().Encodings[0].SSRC
	eventually(t, "packets through the pipe", func() bool { return len(p.dst.RTP(ssrc)) == 10 })
	closed := newFlag()
	c.OnProducerClose(closed.set)
	if err := prod.Close(ctx); err != nil {
		t.Fatal(err)
	}
	closed.wait(t, "producerclose through the pipe")
}

func testDirectData(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r := newRouter(t, newWorker(t, api))
	tr := check[media.DirectTransport](t)(r.CreateDirectTransport(ctx, nil))
	dp := check[media.DataProducer](t)(tr.ProduceData(ctx, &media.DataProducerOptions{Label: "l", Protocol: "p"}))
	dc := check[media.DataConsumer](t)(tr.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}))
	msgs := make(chan string, 4)
	dc.OnMessage(func(b []byte, ppid int) { msgs <- string(b) })
	if err := dp.Send([]byte("hello"), nil); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-msgs:
		if m != "hello" {
			t.Fatalf("message %q", m)
		}
	case <-ctx.Done():
		t.Fatal("message not delivered")
	}
	if dc.Label() != "l" || dc.Protocol() != "p" || dc.DataProducerID() != dp.ID() {
		t.Fatalf("label %q protocol %q", dc.Label(), dc.Protocol())
	}
	check[[]media.DataProducerStats](t)(dp.GetStats(ctx))
	check[*media.DataConsumerDump](t)(dc.Dump(ctx))
}

func testInvalidInput(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	w := newWorker(t, api)
	_, err := w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: []media.RtpCodecCapability{{Kind: media.KindVideo, MimeType: "video/NOPE", ClockRate: 90000}}})
	wantErr(t, "unsupported codec", err, media.ErrUnsupported)
	r := newRouter(t, w)
	_, err = r.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: &media.TransportListenInfo{IP: "nope"}})
	wantErr(t, "bad listen ip", err, media.ErrInvalidParams)
	tr := check[media.DirectTransport](t)(r.CreateDirectTransport(ctx, nil))
	_, err = tr.Consume(ctx, &media.ConsumerOptions{ProducerID: "unknown", RtpCapabilities: EndpointCaps()})
	wantErr(t, "unknown producer", err, media.ErrNotFound)
	prod := check[media.Producer](t)(tr.Produce(ctx, &media.ProducerOptions{ID: "dup", Kind: media.KindVideo, RtpParameters: VP8Parameters(1)}))
	_, err = tr.Produce(ctx, &media.ProducerOptions{ID: "dup", Kind: media.KindVideo, RtpParameters: VP8Parameters(2)})
	wantErr(t, "duplicate producer id", err, media.ErrDuplicateID)
	_, err = tr.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: "unknown"})
	wantErr(t, "unknown data producer", err, media.ErrNotFound)
	if err := prod.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "resume closed producer", prod.Resume(ctx), media.ErrClosed)
}
