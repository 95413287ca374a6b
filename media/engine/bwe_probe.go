package engine

import (
	"time"

	"github.com/ropehq/rope/media/internal/evloop"
)

// Probe clusters paced as libwebrtc's BitrateProber paces them (mediasoup
// sends its probation packets through that pacer): a cluster at rate r
// sends its packets one at a time, each when the bytes sent before it
// would have taken that long at r since the cluster's first packet, each
// of about 2 ms of r (RecommendedMinProbeSize, at least 200 bytes), until
// it sent bweProbeDuration of r and at least bweProbeMinPackets packets.
// The receiver's feedback thus measures the path at r rather than at the
// rate of a burst. On the worker's event loop a timer of period
// bweProbeSpacing, running only while a cluster is under way, sends the
// packets that are due; without a loop (or before that timer runs) the
// estimator's own tick does, so a cluster goes in steps of
// bweProcessInterval there. A step sends at most probationMaxPerTick
// packets (after a stall of the loop the cluster catches up that much at
// a time), and a cluster not done after bweProbeTimeout is given up.

const (
	// bweProbeDuration is how long a probe cluster lasts at its rate
	// (libwebrtc's is at least 15 ms; longer clusters measure better
	// through the jitter of a loaded host).
	bweProbeDuration = 100 * time.Millisecond
	// bweProbeMinPackets is libwebrtc's min_probe_packets_sent.
	bweProbeMinPackets = 5
	// bweProbeDelta is libwebrtc's min_probe_delta: a probe packet
	// carries twice that of the cluster's rate.
	bweProbeDelta = time.Millisecond
	// bweProbeSpacing is the period of the loop's probe timer.
	bweProbeSpacing = 2 * time.Millisecond
	// bweProbeTimeout bounds a cluster's time.
	bweProbeTimeout = time.Second
)

// probeCluster is the probe cluster being sent. Only the goroutine that
// runs bweTick uses it.
type probeCluster struct {
	// id numbers clusters 1 to 4 (gcc.Estimator.StartProbe).
	id int
	// rate is the cluster's rate (bps), 0 when none is under way; bytes
	// what it is to send.
	rate, bytes float64
	// sent and packets are what went out since its first packet at
	// startedAt (0: none yet).
	sent      float64
	packets   int
	startedAt int64
	// timer is the loop's timer pacing it (nil: the ticks do).
	timer *evloop.Timer
}

// start starts a cluster at rate (bps).
func (p *probeCluster) start(rate float64) {
	p.id = p.id%4 + 1
	p.rate, p.bytes = rate, rate*bweProbeDuration.Seconds()/8
	p.sent, p.packets, p.startedAt = 0, 0, 0
}

// active reports whether a cluster is under way.
func (p *probeCluster) active() bool { return p.rate > 0 }

// nextAt is when the next packet is due.
func (p *probeCluster) nextAt() int64 {
	return p.startedAt + int64(p.sent*8*1e9/p.rate)
}

// packetSize is libwebrtc's RecommendedMinProbeSize: twice bweProbeDelta
// of the cluster's rate (sendProbationPacket bounds it).
func (p *probeCluster) packetSize() int {
	return int(p.rate * 2 * bweProbeDelta.Seconds() / 8)
}

// probeStep sends the packets of the probe cluster due by now, at most
// probationMaxPerTick, and reports whether the cluster goes on.
func (t *transport) probeStep(tc *tccClient, now int64) bool {
	p := &tc.probe
	if !p.active() {
		return false
	}
	if p.startedAt == 0 {
		p.startedAt = now
	}
	for n := 0; n < probationMaxPerTick && p.nextAt() <= now; n++ {
		sent := t.sendProbationPacket(tc, p.packetSize(), p.id)
		if sent == 0 {
			break
		}
		p.sent += float64(sent)
		p.packets++
		if p.sent >= p.bytes && p.packets >= bweProbeMinPackets {
			p.rate = 0
			return false
		}
	}
	if now-p.startedAt > int64(bweProbeTimeout) {
		p.rate = 0
	}
	return p.active()
}

// startProbeTimer starts the loop's probe timer when a cluster is under
// way without one (loop goroutine only: bweLoopTick).
func (t *transport) startProbeTimer() {
	tc := t.tccClient.Load()
	if tc == nil || !tc.probe.active() || tc.probe.timer != nil {
		return
	}
	tc.probe.timer = t.timers.start(t.router.worker, bweProbeSpacing, func() { t.probeLoopTick(tc) })
}

// probeLoopTick is the loop's probe timer: it sends what is due and
// stops the timer once the cluster is done.
func (t *transport) probeLoopTick(tc *tccClient) {
	if !t.probeStep(tc, nanotime()) && tc.probe.timer != nil {
		t.timers.drop(tc.probe.timer)
		tc.probe.timer = nil
	}
}
