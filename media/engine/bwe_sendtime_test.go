//go:build linux

package engine_test

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
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
	p := f.simulcastProducer(t, in)
	caps, twccID := bweCaps(f.router)
	rx, tr := f.bweViewer(t)
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

// TestAbsSendTimeWorkerStall: the abs-send-time a consumer writes (what
// a REMB receiver reads the path's delay from) is the time the packet is
// handed to the socket: with every other turn of the worker's loop
// stalled 40 ms between reading packets and sending them, the receiver
// sees the packets' arrival (kernel timestamps, on loopback as they are
// sent) follow their abs-send-time within a few milliseconds, where with
// the packets' arrival at the worker written the stalled ones looked 40
// ms late.
func TestAbsSendTimeWorkerStall(t *testing.T) {
	if testing.Short() {
		t.Skip("takes seconds of real time")
	}
	f := newFixture(t)
	src := newEndpoint(t)
	in := f.plain(f.router, src)
	p := must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: vp8Params(100)}))
	caps := consumerCaps(false)
	caps.Codecs[0].RtcpFeedback = append(append([]media.RtcpFeedback(nil), videoFeedback...), media.RtcpFeedback{Type: "goog-remb"})
	var absID uint8
	for _, e := range f.router.RtpCapabilities().HeaderExtensions {
		if e.URI == media.ExtAbsSendTime && e.Kind == media.KindVideo {
			caps.HeaderExtensions = append(caps.HeaderExtensions, e)
			absID = uint8(e.PreferredID)
		}
	}
	rx := newBweReceiver(t) // only its socket: read here
	tr := must[media.PlainTransport](t)(f.router.CreatePlainTransport(f.ctx, &media.PlainTransportOptions{ListenInfo: &media.TransportListenInfo{IP: lo}}))
	if err := tr.Connect(f.ctx, &media.PlainTransportConnectOptions{IP: lo, Port: rx.port()}); err != nil {
		t.Fatal(err)
	}
	must[media.Consumer](t)(tr.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps}))
	startTemporalFeeder(t, src, in.Tuple(), []feederLayer{{100, [3]int{2, 1, 1}}})

	var turns atomic.Int64
	engine.StallTurns(f.worker, func() {
		if turns.Add(1)%2 == 0 {
			time.Sleep(40 * time.Millisecond)
		}
	})
	defer engine.StallTurns(f.worker, nil)
	// Arrival minus abs-send-time, relative to the first packet's (µs).
	var offsets []int64
	var first struct{ at, abs int64 }
	buf, oob := make([]byte, 2000), make([]byte, 128)
	_ = rx.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for len(offsets) < 60 {
		n, oobn, _, _, err := rx.conn.ReadMsgUDP(buf, oob)
		if err != nil {
			t.Fatalf("after %d packets: %v", len(offsets), err)
		}
		var h rtp.Header
		if _, err := h.Unmarshal(buf[:n]); err != nil || n < 12 || buf[1] >= 192 && buf[1] <= 223 {
			continue
		}
		v := h.GetExtension(absID)
		if len(v) != 3 {
			t.Fatalf("packet without abs-send-time")
		}
		abs := int64(v[0])<<16 | int64(v[1])<<8 | int64(v[2])
		at := kernelTime(oob[:oobn])
		if len(offsets) == 0 {
			first.at, first.abs = at, abs
		}
		dabs := (abs - first.abs) & 0xffffff * 1e6 >> 18
		offsets = append(offsets, at-first.at-dabs)
	}
	low, high := slices.Min(offsets), slices.Max(offsets)
	if high-low > 20_000 {
		t.Fatalf("arrival minus abs-send-time spans %d µs over 60 packets with every other turn stalled 40 ms", high-low)
	}
	t.Logf("arrival minus abs-send-time within %d µs", high-low)
}
