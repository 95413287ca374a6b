//go:build linux

package engine_test

import (
	"slices"
	"testing"
	"time"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
)

// TestSendSideBweInitialProbing: as libwebrtc's probe controller at the
// start (which mediasoup's estimator runs when its transport connects),
// a transport whose consumer wants 3 Mbit/s, five times the initial 600
// kbit/s, sends probe clusters at 3 and 6 times that (capped by its max
// bitrate), before any probe of a limited transport (at twice the
// estimate): the receiver sees a cluster at 1.8 Mbit/s first, then one
// at 3.6 Mbit/s, told apart by their packets' sizes (paced, a cluster's
// probe packets carry 2 ms of its rate each: 450 and 900 bytes of
// payload). The estimate jumps on their feedback, and the viewer reaches
// the top layer. (What the clusters measure is not asserted: paced, they
// measure their rate or less when the host is late sending.)
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
	rx, tr := f.bweViewer(t)
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

	recvUntil(t, "an estimate above 1.5 times the initial one", estimates, func(bps uint64) bool {
		t.Logf("estimate %d", bps)
		return bps > 900_000
	})
	waitFor(t, "the top layer", 30*time.Second, func() bool { return spatial(c) == 2 })
	rx.mu.Lock()
	clusters := probeClusters(rx.probation)
	rx.mu.Unlock()
	if len(clusters) < 2 || !between(clusters[0], 450, 500) || !between(clusters[1], 900, 950) {
		t.Fatalf("probe clusters of packets of %v bytes, want 1.8 then 3.6 Mbit/s ones (450-500, 900-950)", clusters)
	}
}

// probeClusters returns the packet sizes of the probe clusters among
// probator packets: runs of 5 or more packets of one size (padding goes
// in packets of up to 1000 bytes of payload and one remainder a tick).
func probeClusters(pkts []rxPacket) []int {
	var sizes []int
	for i := 0; i < len(pkts); {
		j := i
		for j < len(pkts) && pkts[j].size == pkts[i].size {
			j++
		}
		if j-i >= 5 && pkts[i].size < 1000 {
			sizes = append(sizes, pkts[i].size)
		}
		i = j
	}
	return sizes
}

func between(v, lo, hi int) bool { return v >= lo && v <= hi }

// TestSendSideBweProbePacing: probe clusters are paced at their rate, as
// libwebrtc's pacer sends probes, not sent in bursts: a simple consumer
// wanting 1.2 Mbit/s on a transport starting at 600 kbit/s and capped at
// 2 Mbit/s gets the initial probe clusters (at most 2 Mbit/s), and no
// probe packet reaches the receiver (on loopback, as it is sent) before
// the bytes of the cluster's packets before it would have taken at 2
// Mbit/s, give or take one packet between back-to-back clusters (5 ms).
// Sent in bursts, a tick's worth of packets came within microseconds.
// With a goroutine per socket (no event loop) the estimator's ticks pace
// the clusters, more coarsely, under the same bound.
func TestSendSideBweProbePacing(t *testing.T) {
	if testing.Short() {
		t.Skip("takes seconds of real time")
	}
	t.Run("EventLoop", func(t *testing.T) { testProbePacing(t, newFixture(t)) })
	t.Run("PerSocketReaders", func(t *testing.T) {
		testProbePacing(t, fixtureWith(t, &engine.Options{PerSocketReaders: true, RTCPInterval: 50 * time.Millisecond}))
	})
}

func testProbePacing(t *testing.T, f *fixture) {
	const maxRate = 2_000_000
	src := newEndpoint(t)
	in := f.plain(f.router, src)
	params := vp8Params(300)
	p := must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))
	caps, twccID := bweCaps(f.router)
	rx, tr := f.bweViewer(t)
	if err := tr.SetMaxOutgoingBitrate(f.ctx, maxRate); err != nil {
		t.Fatal(err)
	}
	must[media.Consumer](t)(tr.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps}))
	rx.start(tr.Tuple(), twccID)
	// 1.2 Mbit/s on one stream.
	startTemporalFeeder(t, src, in.Tuple(), []feederLayer{{300, [3]int{8, 4, 4}}})
	waitFor(t, "the estimate above the initial 600 kbit/s", 30*time.Second, func() bool {
		st := must[[]media.TransportStats](t)(tr.GetStats(f.ctx))[0]
		return st.AvailableOutgoingBitrate != nil && *st.AvailableOutgoingBitrate > 900_000
	})
	// A cluster sends 100 ms of its rate, 1.5 Mbit/s at least (it goes
	// above the 1.2 Mbit/s the consumer wants), in packets of 2 ms of it.
	var pkts []rxPacket
	waitFor(t, "15 kB of probe packets", 10*time.Second, func() bool {
		rx.mu.Lock()
		pkts = slices.Clone(rx.probation)
		rx.mu.Unlock()
		n := 0
		for _, pk := range pkts {
			n += pk.size
		}
		return n >= 15_000
	})
	first, bytes := pkts[0], 0
	for i, pk := range pkts {
		if pk.at-first.at > 500_000 { // a later cluster
			first, bytes = pk, 0
		}
		if min := int64(bytes)*8*1e6/maxRate - 5000; pk.at-first.at < min {
			t.Fatalf("probe packet %d came %d µs after its cluster's first, after %d bytes: sent faster than %d bit/s",
				i, pk.at-first.at, bytes, maxRate)
		}
		bytes += pk.size
	}
	t.Logf("%d probe packets over %d µs", len(pkts), pkts[len(pkts)-1].at-pkts[0].at)
}
