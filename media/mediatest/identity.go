package mediatest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediaclient"
	"github.com/ropehq/rope/media/mediaserver"
	"github.com/ropehq/rope/ropeclient"
	"github.com/ropehq/rope/ropeserver"
)

// testIdentity: every media object is one value, and served over ROPE one
// ROPE object whose id is its media id. Code that keys objects by value
// (mediaserver does) must find, in the observer events (newrouter,
// newtransport, newproducer, ...), the very value the creating call
// returned; a layer that wraps objects anew for each event makes two
// objects of one.
func testIdentity(t *testing.T, api media.API) {
	t.Run("values", func(t *testing.T) { identityValues(t, api) })
	t.Run("served", func(t *testing.T) { identityServed(t, api) })
}

// objects collects the objects an observer event reports.
type objects struct{ ch chan any }

func newObjects() *objects { return &objects{ch: make(chan any, 64)} }

func (o *objects) add(v any) { o.ch <- v }

// next waits for the event about the object with that id and returns the
// value it reported.
func (o *objects) next(t *testing.T, what, id string) any {
	t.Helper()
	ctx := ctxFor(t)
	for {
		select {
		case v := <-o.ch:
			if mediaID(v) == id {
				return v
			}
		case <-ctx.Done():
			t.Fatalf("%s: no event for %s", what, id)
			return nil
		}
	}
}

// same waits for the event about want and checks it reported want itself.
func (o *objects) same(t *testing.T, what string, want any) {
	t.Helper()
	got := o.next(t, what, mediaID(want))
	if !identical(got, want) {
		t.Fatalf("%s: the event reported %T %p, the call returned %T %p: two values for %s %s",
			what, got, got, want, want, what, mediaID(want))
	}
}

// identical reports whether a and b are one value (comparable and equal).
func identical(a, b any) bool {
	ta := reflect.TypeOf(a)
	return ta == reflect.TypeOf(b) && ta != nil && ta.Comparable() && a == b
}

func mediaID(v any) string {
	if x, ok := v.(interface{ ID() string }); ok {
		return x.ID()
	}
	return ""
}

// OpusParameters are producer parameters for one opus stream with ssrc.
func OpusParameters(ssrc uint32) media.RtpParameters {
	return media.RtpParameters{
		Codecs:    []media.RtpCodecParameters{{MimeType: "audio/opus", PayloadType: 100, ClockRate: 48000, Channels: 2}},
		Encodings: []media.RtpEncodingParameters{{SSRC: ssrc}},
		Rtcp:      media.RtcpParameters{CNAME: "mediatest"},
	}
}

// identityValues creates one object of every kind and checks that the
// observer event announcing it reports the value the call returned.
func identityValues(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	w := newWorker(t, api)
	routers, servers := newObjects(), newObjects()
	w.OnNewRouter(func(r media.Router) { routers.add(r) })
	w.OnNewWebRtcServer(func(s media.WebRtcServer) { servers.add(s) })
	r := newRouter(t, w)
	routers.same(t, "newrouter", r)

	transports, observers := newObjects(), newObjects()
	r.OnNewTransport(func(x media.Transport) { transports.add(x) })
	r.OnNewRtpObserver(func(x media.RtpObserver) { observers.add(x) })
	in := connectedPlain(t, r, NewEndpoint(t))
	transports.same(t, "newtransport", in)
	out := connectedPlain(t, r, NewEndpoint(t))
	transports.same(t, "newtransport", out)
	pipe := check[media.PipeTransport](t)(r.CreatePipeTransport(ctx, &media.PipeTransportOptions{ListenInfo: listenInfo()}))
	transports.same(t, "newtransport", pipe)
	direct := check[media.DirectTransport](t)(r.CreateDirectTransport(ctx, nil))
	transports.same(t, "newtransport", direct)
	wrtc := check[media.WebRtcTransport](t)(r.CreateWebRtcTransport(ctx, &media.WebRtcTransportOptions{
		ListenInfos: []media.TransportListenInfo{*listenInfo()}}))
	transports.same(t, "newtransport", wrtc)

	producers, consumers := newObjects(), newObjects()
	in.OnNewProducer(func(p media.Producer) { producers.add(p) })
	out.OnNewConsumer(func(c media.Consumer) { consumers.add(c) })
	audio := check[media.Producer](t)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindAudio, RtpParameters: OpusParameters(5555)}))
	producers.same(t, "newproducer", audio)
	cons := check[media.Consumer](t)(out.Consume(ctx, &media.ConsumerOptions{ProducerID: audio.ID(), RtpCapabilities: EndpointCaps()}))
	consumers.same(t, "newconsumer", cons)

	dataProducers, dataConsumers := newObjects(), newObjects()
	direct.OnNewDataProducer(func(p media.DataProducer) { dataProducers.add(p) })
	direct.OnNewDataConsumer(func(c media.DataConsumer) { dataConsumers.add(c) })
	dp := check[media.DataProducer](t)(direct.ProduceData(ctx, &media.DataProducerOptions{Label: "identity"}))
	dataProducers.same(t, "newdataproducer", dp)
	dc := check[media.DataConsumer](t)(direct.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}))
	dataConsumers.same(t, "newdataconsumer", dc)

	alo := check[media.AudioLevelObserver](t)(r.CreateAudioLevelObserver(ctx, nil))
	observers.same(t, "newrtpobserver", alo)
	aso := check[media.ActiveSpeakerObserver](t)(r.CreateActiveSpeakerObserver(ctx, nil))
	observers.same(t, "newrtpobserver", aso)
	added := newObjects()
	alo.OnAddProducer(func(p media.Producer) { added.add(p) })
	if err := alo.AddProducer(ctx, media.RtpObserverAddRemoveProducerOptions{ProducerID: audio.ID()}); err != nil {
		t.Fatal(err)
	}
	added.same(t, "addproducer", audio)

	s, ok := webRtcServerIfAny(t, w)
	if !ok {
		return
	}
	servers.same(t, "newwebrtcserver", s)
	handled := newObjects()
	s.OnWebRtcTransportHandled(func(x media.WebRtcTransport) { handled.add(x) })
	onServer := check[media.WebRtcTransport](t)(r.CreateWebRtcTransport(ctx, &media.WebRtcTransportOptions{WebRtcServer: s}))
	transports.same(t, "newtransport", onServer)
	handled.same(t, "webrtctransporthandled", onServer)
}

// webRtcServerIfAny creates a WebRtcServer on 127.0.0.1, or reports false
// when the implementation has none.
func webRtcServerIfAny(t *testing.T, w media.Worker) (media.WebRtcServer, bool) {
	t.Helper()
	s, err := w.CreateWebRtcServer(ctxFor(t), &media.WebRtcServerOptions{ListenInfos: []media.TransportListenInfo{*listenInfo()}})
	if isUnsupported(err) {
		return nil, false
	}
	return check[media.WebRtcServer](t)(s, err), true
}

// isUnsupported reports an implementation without the feature
// (errors.ErrUnsupported or media.ErrUnsupported, as Mafalda's views).
func isUnsupported(err error) bool {
	return errors.Is(err, errors.ErrUnsupported) || errors.Is(err, media.ErrUnsupported)
}

// served is the API under test served by mediaserver over a loopback
// WebSocket, and a client of it.
type served struct {
	rs *ropeserver.Server
	ms *mediaserver.Server
	mc *mediaclient.Client
}

func serve(t *testing.T, api media.API) *served {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	rs := ropeserver.New(&ropeserver.Options{Logger: quiet})
	ms, err := mediaserver.Register(rs, api, &mediaserver.Options{Logger: quiet, AllowWorkerClose: true})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(rs)
	t.Cleanup(func() {
		_ = ms.Close(context.Background())
		rs.Close()
		hs.Close()
	})
	mc, err := mediaclient.Dial(ctxFor(t), "ws"+strings.TrimPrefix(hs.URL, "http")+"/", &mediaclient.Options{
		Logger: quiet, ROPE: &ropeclient.Options{Dedicated: true, Logger: quiet}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mc.Close() })
	return &served{rs: rs, ms: ms, mc: mc}
}

// value returns the media object the server holds for a ROPE id.
func value[M any](t *testing.T, s *served, id string) M {
	t.Helper()
	o, ok := s.rs.Object(id)
	if !ok {
		t.Fatalf("no ROPE object %s", id)
	}
	m, ok := o.Value().(M)
	if !ok {
		t.Fatalf("ROPE object %s holds %T", id, o.Value())
	}
	return m
}

// once checks the object a client created as id, once the server has seen
// the observer event that announces it (ann): one ROPE object holds the
// media object, under the media id.
func (s *served) once(t *testing.T, what, id, parentID string, ann *objects) {
	t.Helper()
	o, ok := s.rs.Object(id)
	if !ok {
		t.Fatalf("%s: no ROPE object %s", what, id)
	}
	if mid := mediaID(o.Value()); mid != "" && mid != id {
		t.Fatalf("%s: ROPE object %s holds the media object %s", what, id, mid)
	}
	ann.next(t, what, id)
	if rid, ok := s.ms.ObjectID(o.Value()); !ok || rid != id {
		t.Fatalf("%s: the media object of %s is registered as %q", what, id, rid)
	}
	if _, dup := s.rs.Object(id + "@" + parentID); dup {
		t.Fatalf("%s: %s is also served as %s@%s", what, id, id, parentID)
	}
}

// identityServed creates objects of every kind through a client of the
// API served by mediaserver, waits until the server has seen each one
// announced by its parent's observer event, and checks that each is one
// ROPE object whose id is its media id.
func identityServed(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	s := serve(t, api)
	w := check[media.Worker](t)(s.mc.CreateWorker(ctx, nil))
	wid := mediaID(w)
	ids := []string{wid}
	sw := value[media.Worker](t, s, wid)
	routers, servers := newObjects(), newObjects()
	sw.OnNewRouter(func(r media.Router) { routers.add(r) })
	sw.OnNewWebRtcServer(func(x media.WebRtcServer) { servers.add(x) })
	r := check[media.Router](t)(w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: MediaCodecs()}))
	s.once(t, "router", r.ID(), wid, routers)
	ids = append(ids, r.ID())

	sr := value[media.Router](t, s, r.ID())
	transports, observers := newObjects(), newObjects()
	sr.OnNewTransport(func(x media.Transport) { transports.add(x) })
	sr.OnNewRtpObserver(func(x media.RtpObserver) { observers.add(x) })
	plain := check[media.PlainTransport](t)(r.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: listenInfo()}))
	s.once(t, "plain transport", plain.ID(), r.ID(), transports)
	direct := check[media.DirectTransport](t)(r.CreateDirectTransport(ctx, nil))
	s.once(t, "direct transport", direct.ID(), r.ID(), transports)
	wrtc := check[media.WebRtcTransport](t)(r.CreateWebRtcTransport(ctx, &media.WebRtcTransportOptions{
		ListenInfos: []media.TransportListenInfo{*listenInfo()}}))
	s.once(t, "webrtc transport", wrtc.ID(), r.ID(), transports)
	alo := check[media.AudioLevelObserver](t)(r.CreateAudioLevelObserver(ctx, nil))
	s.once(t, "audio level observer", alo.ID(), r.ID(), observers)
	ids = append(ids, plain.ID(), direct.ID(), wrtc.ID(), alo.ID())

	sp := value[media.Transport](t, s, plain.ID())
	producers, consumers := newObjects(), newObjects()
	sp.OnNewProducer(func(x media.Producer) { producers.add(x) })
	sp.OnNewConsumer(func(x media.Consumer) { consumers.add(x) })
	prod := check[media.Producer](t)(plain.Produce(ctx, &media.ProducerOptions{Kind: media.KindAudio, RtpParameters: OpusParameters(6666)}))
	s.once(t, "producer", prod.ID(), plain.ID(), producers)
	cons := check[media.Consumer](t)(plain.Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: EndpointCaps()}))
	s.once(t, "consumer", cons.ID(), plain.ID(), consumers)
	sd := value[media.Transport](t, s, direct.ID())
	dataProducers, dataConsumers := newObjects(), newObjects()
	sd.OnNewDataProducer(func(x media.DataProducer) { dataProducers.add(x) })
	sd.OnNewDataConsumer(func(x media.DataConsumer) { dataConsumers.add(x) })
	dp := check[media.DataProducer](t)(direct.ProduceData(ctx, &media.DataProducerOptions{Label: "identity"}))
	s.once(t, "data producer", dp.ID(), direct.ID(), dataProducers)
	dc := check[media.DataConsumer](t)(direct.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}))
	s.once(t, "data consumer", dc.ID(), direct.ID(), dataConsumers)
	ids = append(ids, prod.ID(), cons.ID(), dp.ID(), dc.ID())

	if srv, ok := webRtcServerIfAny(t, w); ok {
		s.once(t, "webrtc server", srv.ID(), wid, servers)
		onServer := check[media.WebRtcTransport](t)(r.CreateWebRtcTransport(ctx, &media.WebRtcTransportOptions{WebRtcServer: srv}))
		s.once(t, "webrtc transport on a server", onServer.ID(), r.ID(), transports)
		ids = append(ids, srv.ID(), onServer.ID())
	}

	// A call's answer comes after every change published before it: the
	// mirror now holds exactly one object per media object.
	check[*media.WorkerDump](t)(w.Dump(ctx))
	var got []string
	for _, o := range s.mc.ROPE().Objects() {
		if o.ID() != mediaserver.RootID {
			got = append(got, o.ID())
		}
	}
	slices.Sort(got)
	slices.Sort(ids)
	if !slices.Equal(got, ids) {
		t.Fatalf("ROPE objects %v, want one per media object %v", got, ids)
	}
}
