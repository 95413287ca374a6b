package mediatest

import (
	"context"
	"slices"
	"testing"

	"github.com/ropehq/rope/media"
)

// testPauseResumeEvents: pause and resume on both ends. The producer's
// observer events and paused flag follow it, its consumers get
// "producerpause" and "producerresume"; a producer created paused makes
// consumers that start producer-paused, a consumer created paused
// forwards once resumed; a data producer's pause reaches its data
// consumers ("dataproducerpause", "dataproducerresume") and its own
// observer events.
func testPauseResumeEvents(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r := newRouter(t, newWorker(t, api))
	src, dst := NewEndpoint(t), NewEndpoint(t)
	in, out := connectedPlain(t, r, src), connectedPlain(t, r, dst)
	p := check[media.Producer](t)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: VP8Parameters(3333), Paused: true}))
	if !p.Paused() {
		t.Fatal("producer created paused is not paused")
	}
	c := check[media.Consumer](t)(out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: EndpointCaps(), Paused: true}))
	if !c.Paused() || !c.ProducerPaused() {
		t.Fatalf("consumer paused %v producerPaused %v, want both", c.Paused(), c.ProducerPaused())
	}
	if d := check[*media.ConsumerDump](t)(c.Dump(ctx)); !d.Paused || !d.ProducerPaused {
		t.Fatalf("consumer dump paused %v producerPaused %v", d.Paused, d.ProducerPaused)
	}
	pPause, pResume, cResume, prodPause, prodResume := newFlag(), newFlag(), newFlag(), newFlag(), newFlag()
	p.OnPause(pPause.set)
	p.OnResume(pResume.set)
	c.OnResume(cResume.set)
	c.OnProducerPause(prodPause.set)
	c.OnProducerResume(prodResume.set)

	if err := p.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	returned(t, "producer not paused", !p.Paused())
	pResume.wait(t, "producer observer resume")
	prodResume.wait(t, "producerresume")
	eventually(t, "producer not paused", func() bool { return !p.Paused() && !c.ProducerPaused() })
	if d := check[*media.ProducerDump](t)(p.Dump(ctx)); d.Paused {
		t.Fatal("producer dump paused after resume")
	}
	if err := c.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	returned(t, "consumer not paused", !c.Paused())
	cResume.wait(t, "consumer observer resume")
	snd := &VP8Sender{SSRC: 3333, PT: 101}
	ssrc := c.RtpParameters().Encodings[0].SSRC
	eventually(t, "RTP once both resumed", func() bool {
		src.Send(in.Tuple(), snd.Next(t, true, 300))
		return len(dst.RTP(ssrc)) > 0
	})
	// Each packet sent so far has been received and forwarded once both
	// stats count them all.
	counted := func(s media.Consumer) bool {
		ps, err1 := p.GetStats(ctx)
		cs, err2 := c.GetStats(ctx)
		return err1 == nil && err2 == nil && ps[0].PacketCount == uint64(snd.seq) && (s == nil || cs[0].PacketCount == uint64(snd.seq))
	}
	eventually(t, "every packet received and forwarded", func() bool { return counted(c) })
	forwarded := uint64(snd.seq)
	if err := p.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	returned(t, "producer paused", p.Paused())
	pPause.wait(t, "producer observer pause")
	prodPause.wait(t, "producerpause")
	eventually(t, "producerPaused", func() bool { return p.Paused() && c.ProducerPaused() })
	if d := check[*media.ProducerDump](t)(p.Dump(ctx)); !d.Paused {
		t.Fatal("producer dump not paused")
	}
	// A paused producer forwards nothing: once its stats count the
	// packets sent while paused, the consumer's count has not moved.
	for range 5 {
		src.Send(in.Tuple(), snd.Next(t, true, 300))
	}
	eventually(t, "the paused producer's stats", func() bool { return counted(nil) })
	if n := check[[]media.RtpStreamStats](t)(c.GetStats(ctx))[0].PacketCount; n != forwarded {
		t.Fatalf("the consumer of a paused producer sent %d packets", n-forwarded)
	}

	// Data.
	dt := check[media.DirectTransport](t)(r.CreateDirectTransport(ctx, nil))
	dp := check[media.DataProducer](t)(dt.ProduceData(ctx, &media.DataProducerOptions{Label: "d", Paused: true}))
	dc := check[media.DataConsumer](t)(dt.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}))
	if !dp.Paused() || !dc.DataProducerPaused() {
		t.Fatalf("data producer paused %v, consumer dataProducerPaused %v", dp.Paused(), dc.DataProducerPaused())
	}
	dpPause, dpResume, dcProdPause, dcProdResume := newFlag(), newFlag(), newFlag(), newFlag()
	dp.OnPause(dpPause.set)
	dp.OnResume(dpResume.set)
	dc.OnDataProducerPause(dcProdPause.set)
	dc.OnDataProducerResume(dcProdResume.set)
	msgs := collectMessages(dc)
	if err := dp.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	returned(t, "data producer not paused", !dp.Paused())
	dpResume.wait(t, "data producer observer resume")
	dcProdResume.wait(t, "dataproducerresume")
	eventually(t, "dataProducerPaused false", func() bool { return !dp.Paused() && !dc.DataProducerPaused() })
	eventually(t, "a message after resume", func() bool {
		if err := dp.Send([]byte("after"), nil); err != nil {
			t.Fatal(err)
		}
		return len(msgs.list()) > 0
	})
	if err := dp.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	returned(t, "data producer paused", dp.Paused())
	dpPause.wait(t, "data producer observer pause")
	dcProdPause.wait(t, "dataproducerpause")
	eventually(t, "dataProducerPaused", func() bool { return dp.Paused() && dc.DataProducerPaused() })
	if d := check[*media.DataProducerDump](t)(dp.Dump(ctx)); !d.Paused {
		t.Fatal("data producer dump not paused")
	}
	if d := check[*media.DataConsumerDump](t)(dc.Dump(ctx)); !d.DataProducerPaused {
		t.Fatal("data consumer dump: dataProducerPaused false")
	}
}

// testDataCloseCascade: closing a data producer closes its data
// consumers ("dataproducerclose", then close); closing a transport closes
// its data producers and data consumers ("transportclose"); the router's
// and transports' dumps follow.
func testDataCloseCascade(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r := newRouter(t, newWorker(t, api))
	t1 := check[media.DirectTransport](t)(r.CreateDirectTransport(ctx, nil))
	t2 := check[media.DirectTransport](t)(r.CreateDirectTransport(ctx, nil))
	dp := check[media.DataProducer](t)(t1.ProduceData(ctx, &media.DataProducerOptions{Label: "a"}))
	dc1 := check[media.DataConsumer](t)(t2.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}))
	dc2 := check[media.DataConsumer](t)(t2.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}))
	rd := check[*media.RouterDump](t)(r.Dump(ctx))
	if len(rd.MapDataProducerIDDataConsumerIDs) != 1 || len(rd.MapDataProducerIDDataConsumerIDs[0].Values) != 2 ||
		len(rd.MapDataConsumerIDDataProducerID) != 2 {
		t.Fatalf("router dump data maps %+v %+v", rd.MapDataProducerIDDataConsumerIDs, rd.MapDataConsumerIDDataProducerID)
	}
	if d := check[*media.TransportDump](t)(t2.Dump(ctx)); len(d.DataConsumerIDs) != 2 {
		t.Fatalf("transport dump dataConsumerIds %v", d.DataConsumerIDs)
	}
	dpClosed, dc1ProdClosed, dc1Closed, dc2ProdClosed := newFlag(), newFlag(), newFlag(), newFlag()
	dp.OnClose(dpClosed.set)
	dc1.OnDataProducerClose(dc1ProdClosed.set)
	dc1.OnClose(dc1Closed.set)
	dc2.OnDataProducerClose(dc2ProdClosed.set)
	if err := dp.Close(ctx); err != nil {
		t.Fatal(err)
	}
	dpClosed.wait(t, "data producer close")
	dc1ProdClosed.wait(t, "dataproducerclose")
	dc1Closed.wait(t, "data consumer close")
	dc2ProdClosed.wait(t, "second dataproducerclose")
	eventually(t, "closed flags", func() bool { return dp.Closed() && dc1.Closed() && dc2.Closed() })
	if err := dp.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err := t2.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()})
	wantErr(t, "consumeData of a closed data producer", err, media.ErrNotFound)
	if d := check[*media.TransportDump](t)(t2.Dump(ctx)); len(d.DataConsumerIDs) != 0 {
		t.Fatalf("closed data consumers in transport dump: %v", d.DataConsumerIDs)
	}
	if d := check[*media.RouterDump](t)(r.Dump(ctx)); len(d.MapDataProducerIDDataConsumerIDs) != 0 || len(d.MapDataConsumerIDDataProducerID) != 0 {
		t.Fatalf("router dump data maps after close %+v %+v", d.MapDataProducerIDDataConsumerIDs, d.MapDataConsumerIDDataProducerID)
	}

	dp2 := check[media.DataProducer](t)(t1.ProduceData(ctx, &media.DataProducerOptions{Label: "b"}))
	dc3 := check[media.DataConsumer](t)(t2.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: dp2.ID()}))
	dc3TrClosed, dp2TrClosed, dc3ProdClosed := newFlag(), newFlag(), newFlag()
	dc3.OnTransportClose(dc3TrClosed.set)
	dc3.OnDataProducerClose(dc3ProdClosed.set)
	dp2.OnTransportClose(dp2TrClosed.set)
	if err := t2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	dc3TrClosed.wait(t, "data consumer transportclose")
	eventually(t, "data consumer closed", dc3.Closed)
	if dc3ProdClosed.count() != 0 || dp2.Closed() {
		t.Fatal("closing the consuming transport closed the data producer")
	}
	if err := t1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	dp2TrClosed.wait(t, "data producer transportclose")
	eventually(t, "data producer closed", dp2.Closed)
}

// testObjectEvents: the observer events announce each new object with its
// id ("newtransport", "newproducer", "newconsumer", "newdataproducer",
// "newdataconsumer", "newrtpobserver"), each object closed by the app
// emits its observer "close", and the dumps forget it.
func testObjectEvents(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r := newRouter(t, newWorker(t, api))
	ids := func(o *objects, what string, want string) { t.Helper(); o.next(t, what, want) }
	transports, observers := newObjects(), newObjects()
	r.OnNewTransport(func(x media.Transport) { transports.add(x) })
	r.OnNewRtpObserver(func(x media.RtpObserver) { observers.add(x) })
	tr := connectedPlain(t, r, NewEndpoint(t))
	ids(transports, "newtransport", tr.ID())
	dt := check[media.DirectTransport](t)(r.CreateDirectTransport(ctx, nil))
	ids(transports, "newtransport", dt.ID())

	producers, consumers, dataProducers, dataConsumers := newObjects(), newObjects(), newObjects(), newObjects()
	tr.OnNewProducer(func(x media.Producer) { producers.add(x) })
	tr.OnNewConsumer(func(x media.Consumer) { consumers.add(x) })
	dt.OnNewDataProducer(func(x media.DataProducer) { dataProducers.add(x) })
	dt.OnNewDataConsumer(func(x media.DataConsumer) { dataConsumers.add(x) })
	p := check[media.Producer](t)(tr.Produce(ctx, &media.ProducerOptions{Kind: media.KindAudio, RtpParameters: OpusParameters(7777)}))
	ids(producers, "newproducer", p.ID())
	c := check[media.Consumer](t)(tr.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: EndpointCaps()}))
	ids(consumers, "newconsumer", c.ID())
	dp := check[media.DataProducer](t)(dt.ProduceData(ctx, &media.DataProducerOptions{}))
	ids(dataProducers, "newdataproducer", dp.ID())
	dc := check[media.DataConsumer](t)(dt.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}))
	ids(dataConsumers, "newdataconsumer", dc.ID())
	obs := check[media.AudioLevelObserver](t)(r.CreateAudioLevelObserver(ctx, nil))
	ids(observers, "newrtpobserver", obs.ID())

	td := check[*media.TransportDump](t)(tr.Dump(ctx))
	if !slices.Equal(td.ProducerIDs, []string{p.ID()}) || !slices.Equal(td.ConsumerIDs, []string{c.ID()}) {
		t.Fatalf("transport dump producerIds %v consumerIds %v", td.ProducerIDs, td.ConsumerIDs)
	}
	dd := check[*media.TransportDump](t)(dt.Dump(ctx))
	if !dd.Direct || !slices.Equal(dd.DataProducerIDs, []string{dp.ID()}) || !slices.Equal(dd.DataConsumerIDs, []string{dc.ID()}) {
		t.Fatalf("direct transport dump %+v", dd)
	}

	type closer interface {
		Close(context.Context) error
		OnClose(func()) func()
		Closed() bool
	}
	// Consumers before their producer, so each close is the app's own.
	for _, x := range []struct {
		what string
		obj  closer
	}{{"consumer", c}, {"producer", p}, {"data consumer", dc}, {"data producer", dp}, {"rtp observer", obs}, {"transport", dt}} {
		closed := newFlag()
		x.obj.OnClose(closed.set)
		if err := x.obj.Close(ctx); err != nil {
			t.Fatalf("%s Close: %v", x.what, err)
		}
		closed.wait(t, x.what+" close")
		if !x.obj.Closed() {
			t.Fatalf("%s not Closed after its close event", x.what)
		}
	}
	td = check[*media.TransportDump](t)(tr.Dump(ctx))
	if len(td.ProducerIDs) != 0 || len(td.ConsumerIDs) != 0 {
		t.Fatalf("closed objects in transport dump: producerIds %v consumerIds %v", td.ProducerIDs, td.ConsumerIDs)
	}
	rd := check[*media.RouterDump](t)(r.Dump(ctx))
	if !slices.Equal(rd.TransportIDs, []string{tr.ID()}) || len(rd.RtpObserverIDs) != 0 || len(rd.MapProducerIDConsumerIDs) != 0 {
		t.Fatalf("router dump after closes %+v", rd)
	}
}
