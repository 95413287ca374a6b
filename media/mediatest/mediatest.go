// Package mediatest is the shared conformance suite of the media API. Any
// implementation (the local engine, a remote ROPE client, a multi-worker
// layer) runs it from its own tests:
//
//	func TestAPI(t *testing.T) {
//		mediatest.Run(t, func(t *testing.T) media.API { return engine.New(nil) }, mediatest.As("engine"))
//	}
//
// The suite is a list of named steps using only the media interfaces,
// real loopback UDP endpoints and real WebRTC peers (pion, playing a
// browser running mediasoup-client). Events are awaited with deadlines,
// never assumed synchronous, so remote implementations pass the same
// steps; a call's effect on its own object shows when the call returns.
//
// An implementation that cannot do a step declares it with Skip and the
// reason; README.md's table lists, per implementation, what it cannot do
// and why, and Run checks it against the Skip options (As).
package mediatest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ropehq/rope/media"
)

// step is one conformance case.
type step struct {
	name string
	run  func(t *testing.T, api media.API)
}

var steps = []step{
	{"worker", testWorker},
	{"router", testRouter},
	{"plain-transport", testPlainTransport},
	{"produce-consume", testProduceConsume},
	{"pause-resume", testPauseResume},
	{"rtp-forwarding", testForwarding},
	{"close-cascade", testCloseCascade},
	{"pipe-to-router", testPipeToRouter},
	{"pipe-data", testPipeData},
	{"direct-data", testDirectData},
	{"invalid-input", testInvalidInput},
	{"webrtc-server", testWebRtcServer},
	{"webrtc-server-worker-close", testWebRtcServerWorkerClose},
	{"webrtc-server-invalid", testWebRtcServerInvalid},
	{"identity", testIdentity},
	{"data-consumer-send-direct", testDataConsumerSendDirect},
	{"data-consumer-send-sctp", testDataConsumerSendSctp},
	{"data-consumer-send-buffer-full", testDataConsumerSendBufferFull},
	{"data-consumer-pause-subchannels", testDataConsumerPauseSubchannels},
	{"direct-rtp", testDirectRtp},
	{"tcp-plain", testTCPPlain},
	{"listen-info", testListenInfo},
	{"active-speaker", testActiveSpeaker},
	{"worker-settings", testWorkerSettings},
	{"newworker-version", testNewWorkerVersion},
	{"simulcast-temporal-switches", testSimulcastTemporalSwitches},
	{"svc-layers", testSVCLayers},
	{"av1-temporal-layers", testAV1TemporalLayers},
	{"one-stream-temporal", testOneStreamTemporal},
	{"av1-svc-layers", testAV1SVCLayers},
	// Existing capabilities once tested per package only (issue #15).
	{"webrtc-transport", testWebRtcTransport},
	{"webrtc-ice-restart", testWebRtcIceRestart},
	{"webrtc-data", testWebRtcData},
	{"simulcast", testSimulcast},
	{"consumer-controls", testConsumerControls},
	{"scores", testScores},
	{"pause-resume-events", testPauseResumeEvents},
	{"object-events", testObjectEvents},
	{"data-close-cascade", testDataCloseCascade},
	{"direct-data-messages", testDirectDataMessages},
	{"audio-level-observer", testAudioLevelObserver},
	{"active-speaker-observer", testActiveSpeakerObserver},
	{"can-consume", testCanConsume},
	{"dumps", testDumps},
	{"app-data", testAppData},
	{"resource-usage", testResourceUsage},
	{"trace-events", testTraceEvents},
	{"max-incoming-bitrate", testMaxIncomingBitrate},
	{"plain-rtcp-mux-off", testPlainRtcpMuxOff},
	{"plain-comedia", testPlainComedia},
	{"plain-srtp", testPlainSrtp},
	{"rtcp-feedback", testRtcpFeedback},
	{"producer-nack", testProducerNack},
	{"pipe-transport", testPipeTransport},
	{"pipe-to-router-options", testPipeToRouterOptions},
	{"webrtc-server-media", testWebRtcServerMedia},
	{"rtx", testRtx},
	{"header-extensions", testHeaderExtensions},
	{"audio-header-extensions", testAudioHeaderExtensions},
	{"pipe-pause-close", testPipePauseClose},
	{"webrtc-tcp", testWebRtcTCP},
	{"pipe-keyframe", testPipeKeyFrame},
	{"pipe-simulcast", testPipeSimulcast},
	{"pipe-observer", testPipeObserver},
	{"closed-objects", testClosedObjects},
	{"webrtc-rid-simulcast", testWebRtcRidSimulcast},
	{"webrtc-data-piped", testWebRtcDataPiped},
	{"trace-events-emitted", testTraceEventsEmitted},
}

// Run runs every step as a subtest, each with a fresh API from newAPI.
// Options name the implementation and declare the steps it cannot do
// (Skip): those are reported skipped with the reason, so `go test -v`
// lists them. A Skip naming no step fails the test, so the lists stay
// current; so does a Skip list that differs from the implementation's
// rows in README.md's table (see As).
func Run(t *testing.T, newAPI func(t *testing.T) media.API, opts ...Option) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	if !c.valid(t) {
		return
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if why, ok := c.skips[s.name]; ok {
				t.Skipf("%s cannot: %s", c.name, why)
			}
			s.run(t, newAPI(t))
		})
	}
}

// timeout bounds every wait in the suite.
// It is generous because it only matters when something is broken, and a
// loaded machine running -race is slow (WebRTC handshakes).
const timeout = 20 * time.Second

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// returned checks, right when a call has returned, the state it changed
// on the object it was called on: as with mediasoup's objects, a call's
// effect on its object shows when the call returns, remote or not.
func returned(t *testing.T, what string, cond bool) {
	t.Helper()
	if !cond {
		t.Fatalf("%s: not so when the call returned", what)
	}
}

// flag is an event recorder safe to set from any goroutine.
type flag struct{ ch chan struct{} }

func newFlag() *flag { return &flag{ch: make(chan struct{}, 64)} }

func (f *flag) set() { f.ch <- struct{}{} }

func (f *flag) wait(t *testing.T, what string) {
	t.Helper()
	select {
	case <-f.ch:
	case <-time.After(timeout):
		t.Fatalf("event %s not received", what)
	}
}

func (f *flag) count() int { return len(f.ch) }

func check[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want %v", what, err, target)
	}
}

func newWorker(t *testing.T, api media.API) media.Worker {
	t.Helper()
	ctx := ctxFor(t)
	w := check[media.Worker](t)(api.CreateWorker(ctx, &media.WorkerSettings{AppData: media.AppData{"suite": true}}))
	t.Cleanup(func() { w.Close(context.Background()) })
	return w
}

// MediaCodecs are the router codecs the suite uses.
func MediaCodecs() []media.RtpCodecCapability {
	return []media.RtpCodecCapability{
		{Kind: media.KindAudio, MimeType: "audio/opus", ClockRate: 48000, Channels: 2},
		{Kind: media.KindVideo, MimeType: "video/VP8", ClockRate: 90000},
	}
}

func newRouter(t *testing.T, w media.Worker) media.Router {
	t.Helper()
	return check[media.Router](t)(w.CreateRouter(ctxFor(t), &media.RouterOptions{MediaCodecs: MediaCodecs()}))
}

var videoFeedback = []media.RtcpFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}

// VP8Parameters are producer parameters for one VP8 stream with ssrc.
func VP8Parameters(ssrc uint32) media.RtpParameters {
	return media.RtpParameters{
		Codecs:    []media.RtpCodecParameters{{MimeType: "video/VP8", PayloadType: 101, ClockRate: 90000, RtcpFeedback: videoFeedback}},
		Encodings: []media.RtpEncodingParameters{{SSRC: ssrc}},
		Rtcp:      media.RtcpParameters{CNAME: "mediatest"},
	}
}

// EndpointCaps are the capabilities of a receiving endpoint (VP8, opus).
func EndpointCaps() *media.RtpCapabilities {
	return &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{
		{Kind: media.KindVideo, MimeType: "video/VP8", ClockRate: 90000, RtcpFeedback: videoFeedback},
		{Kind: media.KindAudio, MimeType: "audio/opus", ClockRate: 48000, Channels: 2},
	}}
}

func listenInfo() *media.TransportListenInfo {
	return &media.TransportListenInfo{Protocol: media.ProtocolUDP, IP: "127.0.0.1"}
}

// connectedPlain creates a plain transport connected to e.
func connectedPlain(t *testing.T, r media.Router, e *Endpoint) media.PlainTransport {
	t.Helper()
	ctx := ctxFor(t)
	tr := check[media.PlainTransport](t)(r.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: listenInfo()}))
	if err := tr.Connect(ctx, &media.PlainTransportConnectOptions{IP: "127.0.0.1", Port: e.Port()}); err != nil {
		t.Fatal(err)
	}
	return tr
}
