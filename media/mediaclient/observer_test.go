package mediaclient_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/mediatest"
)

// TestRtpObservers drives both observer types remotely (on in-memory
// observers, see fake_test.go): creation, pause, producer events resolved
// to the client's producers, volumes, dominant speaker, router close.
func TestRtpObservers(t *testing.T) {
	fake := &fakeAPI{API: engine.New(nil), observers: make(chan *fakeObserver, 2)}
	srv := startServerAPI(t, fake)
	api, _ := srv.dial(t, nil)
	ctx := ctxT(t)
	w := must[media.Worker](t)(api.CreateWorker(ctx, nil))
	r := must[media.Router](t)(w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: codecs}))
	tr := must[media.DirectTransport](t)(r.CreateDirectTransport(ctx, nil))
	p := must[media.Producer](t)(tr.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(9)}))
	newObs := make(chan media.RtpObserver, 2)
	r.OnNewRtpObserver(func(o media.RtpObserver) { newObs <- o })

	alo := must[media.AudioLevelObserver](t)(r.CreateAudioLevelObserver(ctx, nil))
	asp := must[media.ActiveSpeakerObserver](t)(r.CreateActiveSpeakerObserver(ctx, nil))
	fa, fs := <-fake.observers, <-fake.observers
	for range 2 {
		select {
		case <-newObs:
		case <-time.After(5 * time.Second):
			t.Fatal("no newrtpobserver")
		}
	}
	added := make(chan media.Producer, 1)
	volumes := make(chan []media.AudioLevelObserverVolume, 1)
	dominant := make(chan media.Producer, 1)
	alo.OnAddProducer(func(x media.Producer) { added <- x })
	alo.OnVolumes(func(v []media.AudioLevelObserverVolume) { volumes <- v })
	asp.OnDominantSpeaker(func(x media.Producer) { dominant <- x })
	if err := alo.AddProducer(ctx, media.RtpObserverAddRemoveProducerOptions{ProducerID: p.ID()}); err != nil {
		t.Fatal(err)
	}
	if x := <-added; x.ID() != p.ID() {
		t.Fatalf("addproducer %s", x.ID())
	}
	prod, _ := fa.producer(p.ID())
	fa.onVolumes.Emit([]media.AudioLevelObserverVolume{{Producer: prod, Volume: -20}})
	fs.onDominant.Emit(prod)
	if v := <-volumes; len(v) != 1 || v[0].Producer.ID() != p.ID() || v[0].Volume != -20 {
		t.Fatalf("volumes %+v", v)
	}
	if x := <-dominant; x.ID() != p.ID() {
		t.Fatalf("dominantspeaker %s", x.ID())
	}
	if err := asp.Pause(ctx); err != nil || !asp.Paused() {
		t.Fatalf("pause: %v, paused %v", err, asp.Paused())
	}
	routerClosed := make(chan struct{}, 1)
	alo.OnRouterClose(func() { routerClosed <- struct{}{} })
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	<-routerClosed
	if !alo.Closed() || !asp.Closed() {
		t.Fatal("observers not closed with the router")
	}
}

// TestWebRtcTransport drives a WebRtcTransport remotely (a fake one, see
// fake_webrtc_test.go): its ICE/DTLS properties, connect, restartIce and
// state events with the properties updated before each event.
func TestWebRtcTransport(t *testing.T) {
	ctx := ctxT(t)
	eng := engine.New(nil)
	hw := must[media.Worker](t)(eng.CreateWorker(ctx, nil))
	defer hw.Close(context.Background())
	hidden := must[media.Router](t)(hw.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: codecs}))
	fake := &fakeAPI{API: eng, observers: make(chan *fakeObserver, 1), hidden: hidden, webrtc: make(chan *fakeWebRtc, 1)}
	srv := startServerAPI(t, fake)
	api, _ := srv.dial(t, nil)
	w := must[media.Worker](t)(api.CreateWorker(ctx, nil))
	r := must[media.Router](t)(w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: codecs}))
	tr := must[media.WebRtcTransport](t)(r.CreateWebRtcTransport(ctx, &media.WebRtcTransportOptions{ListenInfos: []media.TransportListenInfo{*loopback()}}))
	ft := <-fake.webrtc
	if tr.IceParameters().UsernameFragment != "u" || tr.IceRole() != "controlled" || len(tr.IceCandidates()) != 1 ||
		tr.DtlsParameters().Fingerprints[0].Value != "AB:CD" || tr.IceState() != "new" || tr.IceSelectedTuple() != nil {
		t.Fatalf("props: %+v %v %v", tr.IceParameters(), tr.IceCandidates(), tr.DtlsParameters())
	}
	states := make(chan media.IceState, 1)
	tr.OnIceStateChange(func(s media.IceState) {
		if tr.IceState() != s {
			t.Errorf("iceState %s while handling icestatechange %s", tr.IceState(), s)
		}
		states <- s
	})
	dtls := make(chan media.DtlsState, 1)
	tr.OnDtlsStateChange(func(s media.DtlsState) { dtls <- s })
	ft.setIceState("connected")
	if s := <-states; s != "connected" {
		t.Fatalf("icestatechange %s", s)
	}
	remote := &media.DtlsParameters{Role: "client", Fingerprints: []media.DtlsFingerprint{{Algorithm: "sha-256", Value: "EF"}}}
	if err := tr.Connect(ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: remote}); err != nil {
		t.Fatal(err)
	}
	if tr.DtlsState() != "connecting" || <-dtls != "connecting" || ft.remote.Role != "client" {
		t.Fatalf("dtlsState %s after connect", tr.DtlsState())
	}
	if err := tr.Connect(ctx, nil); !errors.Is(err, media.ErrInvalidParams) {
		t.Fatalf("connect without dtlsParameters: %v", err)
	}
	p := must[media.IceParameters](t)(tr.RestartIce(ctx))
	if p.UsernameFragment != "ux" || tr.IceParameters().UsernameFragment != "ux" {
		t.Fatalf("restartIce %+v, mirror %+v", p, tr.IceParameters())
	}
	if err := tr.Close(ctx); err != nil || !tr.Closed() {
		t.Fatalf("close: %v", err)
	}
}
