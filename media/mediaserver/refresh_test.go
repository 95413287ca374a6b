package mediaserver_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/mediaserver"
	"github.com/ropehq/rope/ropeserver"
)

// A consumer's events refresh only what changes after its creation:
// pausing and resuming it updates "paused" and leaves its rtpParameters
// as they were created, without encoding them again each time (the
// whole state was encoded on every score event: most of what a worker
// allocated once its rooms were built; 8 KB a pause and a resume here,
// 4.3 KB since).
func TestConsumerEventsRefreshOnlyLiveProperties(t *testing.T) {
	ctx := context.Background()
	api := engine.New(nil)
	rs := ropeserver.New(nil)
	defer rs.Close()
	ms, err := mediaserver.Register(rs, api, &mediaserver.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close(ctx)
	w, err := api.CreateWorker(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(ctx)
	if _, err := ms.AddWorker(w); err != nil {
		t.Fatal(err)
	}
	codec := media.RtpCodecCapability{Kind: media.KindVideo, MimeType: "video/VP8", ClockRate: 90000,
		RtcpFeedback: []media.RtcpFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}}}
	r := mustV[media.Router](t)(w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: []media.RtpCodecCapability{codec}}))
	in := mustV[media.DirectTransport](t)(r.CreateDirectTransport(ctx, nil))
	p := mustV[media.Producer](t)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: media.RtpParameters{
		Codecs:    []media.RtpCodecParameters{{MimeType: "video/VP8", PayloadType: 96, ClockRate: 90000, RtcpFeedback: codec.RtcpFeedback}},
		Encodings: []media.RtpEncodingParameters{{SSRC: 1}},
	}}))
	out := mustV[media.DirectTransport](t)(r.CreateDirectTransport(ctx, nil))
	c := mustV[media.Consumer](t)(out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{codec}}}))
	id, ok := ms.ObjectID(c)
	if !ok {
		t.Fatal("the consumer has no ROPE object")
	}
	o, _ := rs.Object(id)
	params := string(o.Prop("rtpParameters"))
	if len(params) < 100 {
		t.Fatalf("rtpParameters %s", params)
	}
	const cycles = 50
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range cycles {
		if err := c.Pause(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.Resume(ctx); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if got := string(o.Prop("paused")); got != "false" {
		t.Errorf("paused %s after resuming", got)
	}
	if got := string(o.Prop("rtpParameters")); got != params {
		t.Errorf("rtpParameters changed: %s, was %s", got, params)
	}
	perCycle := float64(after.TotalAlloc-before.TotalAlloc) / cycles
	t.Logf("%.0f bytes allocated per pause and resume (rtpParameters: %d bytes)", perCycle, len(params))
	if perCycle > 6<<10 {
		t.Errorf("a pause and a resume allocated %.0f bytes, want at most %d", perCycle, 6<<10)
	}
}
