//go:build linux

package engine_test

import (
	"testing"
	"time"

	"github.com/ropehq/rope/media"
)

// TestSendSideBweInitialProbing: as libwebrtc's probe controller at the
// start (which mediasoup's estimator runs when its transport connects),
// a transport whose consumer wants 3 Mbit/s, five times the initial 600
// kbit/s, sends probe clusters at 3 and 6 times that (capped by its max
// bitrate), so the estimate's first jump goes to 0.95 times 1.8 Mbit/s,
// where the probes of a limited transport, at twice an estimate that
// grows 8% a second from 600 kbit/s, take it to 1.5 Mbit/s at most; the
// viewer reaches the top layer.
func TestSendSideBweInitialProbing(t *testing.T) {
	if testing.Short() {
		t.Skip("takes seconds of real time")
	}
	f := newFixture(t)
	src := newEndpoint(t)
	in := f.plain(f.router, src)
	params := vp8Params(100)
	params.Encodings = []media.RtpEncodingParameters{
		{SSRC: 100, ScalabilityMode: "L1T3"}, {SSRC: 200, ScalabilityMode: "L1T3"}, {SSRC: 300, ScalabilityMode: "L1T3"}}
	p := must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))
	caps, twccID := bweCaps(f.router)
	rx := newBweReceiver(t)
	tr := must[media.PlainTransport](t)(f.router.CreatePlainTransport(f.ctx, &media.PlainTransportOptions{ListenInfo: &media.TransportListenInfo{IP: lo}}))
	if err := tr.Connect(f.ctx, &media.PlainTransportConnectOptions{IP: lo, Port: rx.port()}); err != nil {
		t.Fatal(err)
	}
	estimates := make(chan uint64, 256)
	tr.OnTrace(func(e media.TransportTraceEventData) {
		if info, ok := e.Info.(media.BweTraceInfo); ok {
			trySend(estimates, info.AvailableBitrate)
		}
	})
	if err := tr.EnableTraceEvent(f.ctx, []media.TransportTraceEventType{"bwe"}); err != nil {
		t.Fatal(err)
	}
	c := must[media.Consumer](t)(tr.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps}))
	rx.start(tr.Tuple(), twccID)
	// 300 kbit/s, 600 kbit/s and 3 Mbit/s.
	startTemporalFeeder(t, src, in.Tuple(), []feederLayer{{100, [3]int{2, 1, 1}}, {200, [3]int{4, 2, 2}}, {300, [3]int{20, 10, 10}}})

	var prev uint64
	recvUntil(t, "an estimate above 1.5 times the initial one", estimates, func(bps uint64) bool {
		t.Logf("estimate %d", bps)
		if bps <= 900_000 {
			prev = bps
			return false
		}
		if bps < 1_600_000 {
			t.Fatalf("the estimate went from %d to %d: no initial probe at 3 times 600 kbit/s", prev, bps)
		}
		return true
	})
	waitFor(t, "the top layer", 30*time.Second, func() bool { return spatial(c) == 2 })
}
