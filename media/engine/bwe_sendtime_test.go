//go:build linux

package engine_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
)

// TestSendSideBweWorkerStall: a worker whose event loop falls behind
// between reading packets and sending them (a burst of work: each turn
// takes longer than the one before, up to 60 ms) must not read its own
// delay as the path's. The transport-wide send times are those at which
// the packets leave for the socket, so the receiver's feedback shows no
// queue building, and the estimate holds; stamped with the packets'
// arrival, the growing stall looked like a growing queue on the path and
// the estimate fell (to 0.85 times the acknowledged bitrate).
func TestSendSideBweWorkerStall(t *testing.T) {
	if testing.Short() {
		t.Skip("takes seconds of real time")
	}
	f := newFixture(t)
	src := newEndpoint(t)
	in := f.plain(f.router, src)
	params := vp8Params(100)
	params.Encodings = []media.RtpEncodingParameters{{SSRC: 100}, {SSRC: 200}, {SSRC: 300}}
	p := must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))
	caps, twccID := bweCaps(f.router)
	rx := newBweReceiver(t)
	tr := must[media.PlainTransport](t)(f.router.CreatePlainTransport(f.ctx, &media.PlainTransportOptions{ListenInfo: &media.TransportListenInfo{IP: lo}}))
	if err := tr.Connect(f.ctx, &media.PlainTransportConnectOptions{IP: lo, Port: rx.port()}); err != nil {
		t.Fatal(err)
	}
	estimates := make(chan uint64, 1024)
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
	startFeeder(t, src, in.Tuple())
	waitFor(t, "the top layer", 60*time.Second, func() bool { return spatial(c) == 2 })
	// The estimate settles at its max (1.35 times the desired bitrate).
	var before uint64
	waitFor(t, "a settled estimate", 60*time.Second, func() bool {
		st := must[[]media.TransportStats](t)(tr.GetStats(f.ctx))[0]
		if st.AvailableOutgoingBitrate == nil {
			return false
		}
		settled := *st.AvailableOutgoingBitrate == before
		before = *st.AvailableOutgoingBitrate
		return settled && before > 1_300_000
	})
	drain(estimates)

	// The stall: each turn 1 ms longer than the one before, up to 60 ms,
	// held for 60 turns.
	var turns atomic.Int64
	engine.StallTurns(f.worker, func() {
		n := turns.Add(1)
		time.Sleep(time.Duration(min(n, 60)) * time.Millisecond)
	})
	waitFor(t, "120 stalled turns", 60*time.Second, func() bool { return turns.Load() >= 120 })
	engine.StallTurns(f.worker, nil)
	// Feedback on the packets of the stall comes within 50 ms and a round
	// trip: the estimate of two seconds' events after it tells.
	lowest := before
	for drained := false; !drained; {
		select {
		case bps := <-estimates:
			lowest = min(lowest, bps)
		default:
			drained = true
		}
	}
	for n := 0; n < 2; {
		select {
		case bps := <-estimates:
			lowest = min(lowest, bps)
			n++
		case <-time.After(10 * time.Second):
			t.Fatal("no bwe trace event for 10 s")
		}
	}
	if lowest < before*9/10 {
		t.Fatalf("the estimate fell from %d to %d while the worker stalled", before, lowest)
	}
	t.Logf("estimate %d before the stall, lowest %d", before, lowest)
}

// drain empties ch.
func drain[T any](ch <-chan T) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}
