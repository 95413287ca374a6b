//go:build linux

package engine_test

import (
	"testing"
	"time"

	"github.com/ropehq/rope/media"
)

// TestSendSideBweMinOutgoingNoPadding: setMinOutgoingBitrate far above
// what the consumers want (5 Mbit/s; the simulcast's top layer is 1.2
// Mbit/s) bounds the estimate, as mediasoup's, and makes the transport
// send no padding or probes: the estimate never goes below the floor, so
// nothing is held back for want of bitrate (mediasoup pads only in probe
// clusters). It used to probe at the floor while the consumer waited for
// its layers' bitrates (a 5 Mbit/s cluster at the start), and to pad and
// probe at the floor every 3 s while a consumer stayed below its
// preferred layers for any other reason.
func TestSendSideBweMinOutgoingNoPadding(t *testing.T) {
	if testing.Short() {
		t.Skip("takes seconds of real time")
	}
	const floor = 5_000_000
	f := newFixture(t)
	src := newEndpoint(t)
	in := f.plain(f.router, src)
	p := f.simulcastProducer(t, in)
	caps, twccID := bweCaps(f.router)
	rx, tr := f.bweViewer(t)
	if err := tr.SetMinOutgoingBitrate(f.ctx, floor); err != nil {
		t.Fatal(err)
	}
	events := make(chan media.BweTraceInfo, 64)
	tr.OnTrace(func(e media.TransportTraceEventData) {
		if info, ok := e.Info.(media.BweTraceInfo); ok {
			trySend(events, info)
		}
	})
	if err := tr.EnableTraceEvent(f.ctx, []media.TransportTraceEventType{"bwe"}); err != nil {
		t.Fatal(err)
	}
	c := must[media.Consumer](t)(tr.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps}))
	rx.start(tr.Tuple(), twccID)
	startFeeder(t, src, in.Tuple())
	waitFor(t, "the top layer", 30*time.Second, func() bool { return spatial(c) == 2 })
	// Four of the once-a-second "bwe" events: a probe interval (3 s) of
	// the transport's own time.
	drain(events)
	for n := 0; n < 4; n++ {
		select {
		case info := <-events:
			if info.AvailableBitrate < floor || info.MinBitrate != floor {
				t.Fatalf("estimate %d, min bitrate %d: below the floor %d", info.AvailableBitrate, info.MinBitrate, floor)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no bwe trace event for 10 s")
		}
	}
	st := must[[]media.TransportStats](t)(tr.GetStats(f.ctx))[0]
	if st.ProbationBytesSent != 0 {
		t.Fatalf("%d bytes of padding and probes sent with the floor above the layers", st.ProbationBytesSent)
	}
	if st.AvailableOutgoingBitrate == nil || *st.AvailableOutgoingBitrate < floor {
		t.Fatalf("availableOutgoingBitrate %v below the floor", st.AvailableOutgoingBitrate)
	}
	rx.mu.Lock()
	n := len(rx.probation)
	rx.mu.Unlock()
	if n != 0 {
		t.Fatalf("the receiver got %d probe packets", n)
	}
}
