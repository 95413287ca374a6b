package engine

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/gcc"
	"github.com/ropehq/rope/media/internal/rtppkt"
)

// Send-side bandwidth estimation, mediasoup's
// TransportCongestionControlClient: how much a transport may send to its
// remote receiver, from the receiver's feedback, and the distribution of
// that estimate across the transport's consumers.
//
// The first video consumer that negotiated the transport-wide-cc-01
// header extension with "transport-cc" feedback (else abs-send-time with
// "goog-remb") turns it on, on WebRTC and plain transports (not pipe or
// direct ones). From then on:
//
//   - Every RTP packet of a consumer that negotiated the extension,
//     retransmissions and probation packets included, carries the
//     transport's own transport-wide sequence number (t.twccSeq), written
//     into the extension id the consumer negotiated, and its send time
//     and size go into a bounded history (gcc.History, recorded once per
//     sent batch). The send time is when the batch is handed to the
//     socket, not when its packets arrived: a worker's own delay (a busy
//     turn of its event loop) is not the path's.
//   - The receiver's transport-cc feedback (or REMB, and receiver
//     reports' loss) feeds the estimator (media/internal/gcc, GCC as in
//     libwebrtc).
//   - The RTCP goroutine reads the estimate (availableOutgoingBitrate)
//     and, as mediasoup, acts on it at once the first time, every
//     second, and when it falls below 0.75 or rises above 1.5 times the
//     previous one: it distributes it across the consumers
//     (distributeBitrate: by priority, each simulcast consumer taking
//     layers up to its preferred ones), recomputes the bitrate the
//     consumers want, and emits the "bwe" trace event. mediasoup polls
//     the estimate every bweProcessInterval; here the feedback that
//     moves it that far wakes the RTCP goroutine instead (bweTick says
//     when it next needs to run: every bweProcessInterval only while it
//     pads or probes, every second while consumers send, not at all
//     while none does, until needDistribute or feedback wakes it), so
//     that a transport whose estimate allows what its consumers want
//     costs one wake-up a second, not forty.
//   - While a consumer is held below its preferred layer by the estimate
//     (the estimator sees no congestion, and setMinOutgoingBitrate's
//     floor is below what the consumers want), the transport pads up to
//     the estimate, and every bweProbeInterval sends a probe cluster at
//     twice the estimate, paced at that rate (bwe_probe.go), whose
//     arrival rate, when higher, becomes the estimate. Padding goes as
//     padding-only packets on the RTX stream of such a consumer when it
//     negotiated RTX (as libwebrtc pads: every receiver knows that
//     stream and reports it in its feedback), else as mediasoup's
//     probation packets (RtpProbationGenerator: SSRC 1234,
//     payload type 127, MID "probator", which mediasoup-client's probator
//     receives; a receiver without it reports them lost).
//
// setMaxOutgoingBitrate/setMinOutgoingBitrate bound the estimate (and
// initialAvailableOutgoingBitrate, WebRTC transports, starts it). As in
// mediasoup, the floor is no padding target: with the floor above what
// the consumers want, the transport neither pads nor probes.

const (
	// bweMinBitrate is mediasoup's TransportCongestionControlMinOutgoingBitrate.
	bweMinBitrate = 30_000
	// bweDefaultInitial is mediasoup's initialAvailableOutgoingBitrate default.
	bweDefaultInitial = 600_000
	// bweProcessInterval is GoogCC's process interval.
	bweProcessInterval = 25 * time.Millisecond
	// bweEventInterval is mediasoup's AvailableBitrateEventInterval.
	bweEventInterval = time.Second
	// bweProbeInterval is how often a limited transport probes.
	bweProbeInterval = 3 * time.Second
	// bweMinProbeRate is the lowest probe cluster rate: enough packets
	// to measure however low the estimate fell.
	bweMinProbeRate = 300_000
	// bweMaxIncrement, bweMaxPadding: mediasoup's MaxBitrateIncrementFactor,
	// MaxPaddingBitrateFactor.
	bweMaxIncrement = 1.35
	bweMaxPadding   = 0.85
	// probationSSRC, probationPT, probationMid: mediasoup's probator.
	probationSSRC = 1234
	probationPT   = 127
	probationMid  = "probator"
	// probationSize and probationMinSize bound a probation packet's
	// payload.
	probationSize    = 1000
	probationMinSize = 200
	// probationMaxPerTick bounds the probation packets of one interval
	// (padding) or of one step of a probe cluster.
	probationMaxPerTick = 40
	// bweInitialProbeWindow is how long after the estimator starts its
	// initial probe clusters may go out (they wait for feedback, the sign
	// that packets reach the receiver, and for the consumers' desired
	// bitrate).
	bweInitialProbeWindow = 10 * time.Second
)

// bweInitialProbeScales are libwebrtc's ProbeController initial
// exponential probes (first_exponential_probe_scale 3,
// second_exponential_probe_scale 6), as multiples of the start bitrate;
// mediasoup's TransportCongestionControlClient gets them when its
// transport connects.
var bweInitialProbeScales = [...]float64{3, 6}

// bweKind is what feeds a tccClient.
type bweKind int

const (
	bweTransportCC bweKind = iota + 1
	bweREMB
)

func (k bweKind) String() string {
	if k == bweREMB {
		return "remb"
	}
	return "transport-cc"
}

// tccClient is a transport's send-side estimator. The forwarding path
// uses history; the RTCP reader and the RTCP goroutine the rest.
type tccClient struct {
	kind bweKind
	// twccID and midID are the extension ids of probation packets.
	twccID, midID uint8
	history       gcc.History

	// mu guards the estimator and everything below.
	mu      sync.Mutex
	est     *gcc.Estimator
	acks    []gcc.Ack
	initial float64
	// bitrates as mediasoup's TransportCongestionControlClient::Bitrates.
	desired, effectiveDesired, minBitrate, maxBitrate float64
	startBitrate, maxPaddingBitrate, available        float64
	desiredPeak                                       float64
	desiredPeakAt                                     int64
	eventCalled                                       bool
	lastEventAt                                       int64
	// limited: some consumer is below its preferred layers for want of
	// bitrate (probation runs).
	limited bool

	// Probation (RTCP goroutine only; not guarded).
	probSeq     uint16
	probTS      uint32
	probBuf     [rtppkt.MaxPacketLen]byte
	probBase    [12 + probationSize]byte
	lastProbeAt int64
	// probe is the probe cluster being sent (bwe_probe.go).
	probe probeCluster
	// startedAt is when the estimator started; initialProbes how many of
	// bweInitialProbeScales went out (or were given up).
	startedAt     int64
	initialProbes int
	// padCarry is padding owed from earlier intervals (bytes).
	padCarry float64
	// padConsumer is a limited consumer with RTX, whose RTX stream
	// carries the padding (nil: the probator stream).
	padConsumer *consumer
	// Short-window send rate: rtp bytes sent and when, at the last
	// ticks.
	sentRing [8]sentSample
	sentPos  int
	// wake is the transport's sendBweStart: feedback that moved the
	// estimate enough to act on sends to it.
	wake chan<- struct{}
}

type sentSample struct {
	at    int64
	bytes uint64
}

// bweSignal is a transport's needDistribute: Store(true) also wakes the
// RTCP goroutine (wake is the transport's sendBweStart) to distribute at
// once.
type bweSignal struct {
	atomic.Bool
	wake chan<- struct{}
}

// Store sets the flag; true wakes the RTCP goroutine.
func (s *bweSignal) Store(v bool) {
	s.Bool.Store(v)
	if v {
		signal(s.wake)
	}
}

// signal sends on ch without blocking (a buffered channel of 1: a
// signal already pending is enough).
func signal(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func newTCCClient(kind bweKind, twccID, midID uint8, initial, minOut, maxOut float64) *tccClient {
	initial = math.Max(initial, bweMinBitrate)
	c := &tccClient{kind: kind, twccID: twccID, midID: midID, initial: initial, available: initial,
		est: gcc.New(gcc.Config{Initial: initial, Min: bweMinBitrate, REMB: kind == bweREMB})}
	c.startedAt = nanotime()
	c.probSeq = uint16(nanotime())
	c.probTS = uint32(nanotime() >> 10)
	c.probBase[0], c.probBase[1] = 0x80, probationPT
	be.PutUint32(c.probBase[8:], probationSSRC)
	c.applyBoundsLocked(minOut, maxOut)
	return c
}

// consumerBweKind says whether consumer params turn bandwidth estimation
// on, and which; it returns the extension id too.
func consumerBweKind(kind media.MediaKind, params media.RtpParameters) (bweKind, uint8) {
	if kind != media.KindVideo {
		return 0, 0
	}
	if id, ok := producerUsesTransportCC(params); ok {
		return bweTransportCC, id
	}
	if id, ok := producerUsesRemb(params); ok {
		return bweREMB, id
	}
	return 0, 0
}

// enableSendBweLocked turns the estimator on for consumer c if it is the
// first to negotiate it. Call with t.mu held.
func (t *transport) enableSendBweLocked(c *consumer) {
	if t.direct || t.pipe || t.tccClient.Load() != nil {
		return
	}
	kind, id := consumerBweKind(c.kind, c.params)
	if kind == 0 {
		return
	}
	twcc := id
	if kind != bweTransportCC {
		twcc = 0
	}
	tc := newTCCClient(kind, twcc, c.midID, float64(t.initialOutgoing), float64(t.minOutgoing.Load()), float64(t.maxOutgoing.Load()))
	tc.wake = t.sendBweStart
	t.tccClient.Store(tc)
	signal(t.sendBweStart)
}

// consumerTWCCID is the transport-wide-cc extension id consumer params
// negotiated (0: none). With or without the transport-cc feedback type,
// which only decides whether the consumer turns the estimator on
// (consumerBweKind): as mediasoup's transport numbers every packet that
// carries the extension, the consumer's packets take the transport's
// numbers while its transport estimates from transport-cc, never the
// producer's, which the receiver would read as the transport's.
func consumerTWCCID(params media.RtpParameters) uint8 {
	for _, e := range params.HeaderExtensions {
		if e.URI == media.ExtTransportWideCC01 && e.ID > 0 && e.ID < 256 {
			return uint8(e.ID)
		}
	}
	return 0
}

// applyBoundsLocked recomputes min/max/padding bitrates from the desired
// bitrate and the user's bounds (mediasoup's ApplyBitrateUpdates).
func (c *tccClient) applyBoundsLocked(minOut, maxOut float64) {
	newMax := c.initial
	if c.effectiveDesired > 0 {
		newMax = math.Max(c.initial, c.effectiveDesired*bweMaxIncrement)
		if m := newMax * 0.1; c.maxBitrate > newMax-m && c.maxBitrate < newMax+m {
			newMax = c.maxBitrate
		}
	}
	if maxOut > 0 {
		newMax = math.Min(newMax, maxOut)
	}
	c.maxBitrate, c.maxPaddingBitrate = newMax, newMax*bweMaxPadding
	c.minBitrate = math.Max(minOut, bweMinBitrate)
	c.startBitrate = math.Max(bweMinBitrate, c.available)
	c.est.SetBounds(c.minBitrate, c.maxBitrate)
	if maxOut > 0 {
		c.available = math.Min(c.available, maxOut)
	}
}

// setDesired is mediasoup's SetDesiredBitrate: the effective desired
// bitrate follows rises at once and falls slowly (5% of the peak a
// second), unless force.
func (c *tccClient) setDesired(d float64, force bool, minOut, maxOut float64, now int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.desired = d
	switch {
	case force || d >= c.effectiveDesired:
		c.effectiveDesired, c.desiredPeak, c.desiredPeakAt = d, d, now
	default:
		dec := c.desiredPeak * 0.05 * float64(now-c.desiredPeakAt) / 1e9
		c.effectiveDesired = math.Max(d, c.desiredPeak-dec)
	}
	c.applyBoundsLocked(minOut, maxOut)
}

// onFeedback feeds one transport-cc feedback packet (malformed ones are
// ignored).
func (c *tccClient) onFeedback(b []byte, now int64) {
	if c.kind != bweTransportCC {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	acks, err := c.history.Acks(c.acks[:0], b, now)
	if err != nil {
		return
	}
	c.acks = acks
	c.est.OnAcks(c.acks, now)
	c.wakeIfDueLocked(now)
}

// onREMB feeds a receiver's REMB.
func (c *tccClient) onREMB(bps float64, now int64) {
	c.mu.Lock()
	c.est.OnREMB(bps, now)
	c.wakeIfDueLocked(now)
	c.mu.Unlock()
}

// onReceiverLoss feeds receiver reports' loss (REMB estimation only;
// transport-cc feedback reports loss itself).
func (c *tccClient) onReceiverLoss(fraction uint8, now int64) {
	if c.kind != bweREMB {
		return
	}
	c.mu.Lock()
	c.est.OnLoss(float64(fraction)/256, 50, now)
	c.wakeIfDueLocked(now)
	c.mu.Unlock()
}

// bitrates is the "bwe" trace event's info.
func (c *tccClient) traceInfoLocked() media.BweTraceInfo {
	return media.BweTraceInfo{
		BweType: c.kind.String(), DesiredBitrate: uint64(c.desired), EffectiveDesiredBitrate: uint64(c.effectiveDesired),
		MinBitrate: uint64(c.minBitrate), MaxBitrate: uint64(c.maxBitrate), StartBitrate: uint64(c.startBitrate),
		MaxPaddingBitrate: uint64(c.maxPaddingBitrate), AvailableBitrate: uint64(c.available),
	}
}

// availableBitrate is the current estimate.
func (c *tccClient) availableBitrate() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return uint64(c.available)
}

// packetLoss is the loss fraction of the last reports.
func (c *tccClient) packetLoss() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.est.Loss()
}

// update reads the estimate and reports whether to act on it
// (mediasoup's MayEmitAvailableBitrateEvent).
func (c *tccClient) update(now int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	due := c.dueLocked(c.est.Target(), now)
	c.available = c.est.Target()
	if due {
		c.eventCalled, c.lastEventAt = true, now
	}
	return due
}

// dueLocked reports whether estimate target is to be acted on: the first
// time, a second after the last time, or when it is below 0.75 or above
// 1.5 times the last one read.
func (c *tccClient) dueLocked(target float64, now int64) bool {
	return !c.eventCalled || now-c.lastEventAt >= int64(bweEventInterval) ||
		target < c.available*0.75 || target > c.available*1.5
}

// wakeIfDueLocked wakes the RTCP goroutine when the estimate moved
// enough to act on (the once-a-second event waits for its tick).
func (c *tccClient) wakeIfDueLocked(now int64) {
	if t := c.est.Target(); c.eventCalled && (t < c.available*0.75 || t > c.available*1.5) {
		signal(c.wake)
	}
}

// bweTick is the estimator's work on the RTCP goroutine: it acts on the
// estimate when due (update) or asked to (needDistribute), pads and
// probes. It returns when it wants to run next: bweProcessInterval
// while it pads or probes, bweEventInterval while consumers send, 0
// (until woken through sendBweStart) while none does. What drives it
// (the transport's RTCP goroutine with a timer, or the worker's event
// loop through bweLoopTick) calls it no later than that, and soon after
// sendBweStart, from one goroutine at a time.
func (t *transport) bweTick(now int64) time.Duration {
	tc := t.tccClient.Load()
	if tc == nil {
		return 0
	}
	if tc.update(now) || t.needDistribute.Swap(false) {
		t.inLoop.Add(1)
		t.distributeBitrate(tc, now)
		t.computeDesiredBitrate(tc, false, now)
		t.traceBwe(tc)
		t.inLoop.Add(-1)
	}
	if tc.kind == bweTransportCC && t.probation(tc, now) {
		return bweProcessInterval
	}
	if !t.bweSending() {
		return 0
	}
	return bweEventInterval
}

// bweLoopTick is the estimator's timer on the worker's event loop
// (every bweProcessInterval, sharing the loop's wake-ups): it runs
// bweTick when woken (sendBweStart, flagged in bweWoken by the RTCP
// goroutine) or when bweTick asked to run again by now.
func (t *transport) bweLoopTick() {
	now := nanotime()
	if !t.bweWoken.Swap(false) && now < t.bweNextAt {
		return
	}
	next := t.bweTick(now)
	t.startProbeTimer()
	if next <= 0 {
		t.bweNextAt = math.MaxInt64
		return
	}
	// Half an interval early: the timer fires every bweProcessInterval.
	t.bweNextAt = now + int64(next) - int64(bweProcessInterval)/2
}

// bweSending reports whether some consumer takes part in the bitrate
// distribution (an open, active video consumer).
func (t *transport) bweSending() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.consumers {
		if c.bitratePriority() > 0 {
			return true
		}
	}
	return false
}

// traceBwe emits the "bwe" trace event if enabled.
func (t *transport) traceBwe(tc *tccClient) {
	if !t.traceEnabled("bwe") {
		return
	}
	tc.mu.Lock()
	info := tc.traceInfoLocked()
	tc.mu.Unlock()
	t.onTrace.Emit(media.TransportTraceEventData{Type: "bwe", Timestamp: time.Now().UnixMilli(), Direction: "out", Info: info})
}

// traceProbation emits the "probation" trace event of probation packet
// b (mediasoup: direction "out", the packet's dump).
func (t *transport) traceProbation(b []byte) {
	h, ok := rtppkt.Parse(b)
	if !ok {
		return
	}
	t.onTrace.Emit(media.TransportTraceEventData{Type: "probation", Timestamp: time.Now().UnixMilli(),
		Direction: "out", Info: rtpTraceInfo(b, &h, false, false)})
}

func (t *transport) traceEnabled(typ media.TransportTraceEventType) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tt := range t.traceTypes {
		if tt == typ {
			return true
		}
	}
	return false
}

// bweConsumers returns the consumers, highest priority first.
func (t *transport) bweConsumers() []*consumer {
	t.mu.Lock()
	cs := mapValues(t.consumers)
	t.mu.Unlock()
	sortByPriority(cs)
	return cs
}

// distributeBitrate is mediasoup's Transport::DistributeAvailableOutgoingBitrate:
// every consumer wanting bitrate (priority > 0) first gets a layer, in
// order of priority; then, round after round, each gets up to its
// priority's number of layer increases while bitrate is left; finally
// each applies the layers it got.
func (t *transport) distributeBitrate(tc *tccClient, now int64) {
	all := t.bweConsumers()
	cs := all[:0:0]
	for _, c := range all {
		if c.bitratePriority() > 0 {
			c.resetProvisional()
			cs = append(cs, c)
		}
	}
	if len(cs) == 0 {
		return
	}
	available := tc.availableBitrate()
	considerLoss := tc.kind == bweREMB
	base := true
	for available > 0 {
		prev := available
		for _, c := range cs {
			n := c.bitratePriority()
			if base {
				n = 1
			}
			for i := 0; i < n; i++ {
				used := c.increaseLayer(available, considerLoss, now)
				available -= min(used, available)
				if used == 0 {
					break
				}
			}
		}
		if available == prev {
			break
		}
		base = false
	}
	limited := false
	var pad *consumer
	for _, c := range cs {
		if c.applyLayers(now) {
			limited = true
			if pad == nil && c.canPadRTX() {
				pad = c
			}
		}
	}
	tc.padConsumer = pad
	tc.mu.Lock()
	tc.limited = limited
	tc.mu.Unlock()
}

// computeDesiredBitrate is mediasoup's ComputeOutgoingDesiredBitrate.
func (t *transport) computeDesiredBitrate(tc *tccClient, force bool, now int64) {
	var total uint64
	for _, c := range t.bweConsumers() {
		total += c.desiredBitrate(now)
	}
	tc.setDesired(float64(total), force, float64(t.minOutgoing.Load()), float64(t.maxOutgoing.Load()), now)
}

// probation sends padding up to the estimate while a consumer is
// limited, and probe clusters every bweProbeInterval. It reports whether
// it has work at the next bweProcessInterval (a consumer is limited or
// a probe cluster goes on).
func (t *transport) probation(tc *tccClient, now int64) bool {
	mediaRate, measured := tc.sendRate(t.rtpBytesSent.Load()+t.rtxBytesSent.Load(), now)
	tc.mu.Lock()
	limited, available := tc.limited, tc.available
	padTo := math.Min(available, tc.maxPaddingBitrate)
	// No padding or probes while the estimator sees congestion: the
	// queue it sees must drain. A state no feedback refreshed for a
	// second is stale (no packets flow, say, when the estimate allows no
	// layer at all).
	clear := tc.est.Usage() == gcc.Normal && tc.est.Loss() < 0.02 || now-tc.est.LastFeedback() > int64(time.Second)
	initialPending := tc.initialProbeLocked(clear, now)
	// Nor while the floor (setMinOutgoingBitrate) covers what the
	// consumers want: the estimate never goes below it, so a consumer
	// short of its preferred layers is not short for want of bitrate,
	// and padding or probing up to the floor would only load the path
	// (mediasoup's floor bounds the estimate; its pacer sends padding
	// only in probe clusters, capped by its max bitrate).
	limited = limited && clear && tc.minBitrate < tc.effectiveDesired
	// The initial probes go first (libwebrtc's ProbeController probes
	// periodically only once its initial probing is complete).
	if !initialPending && !tc.probe.active() && limited && now-tc.lastProbeAt >= int64(bweProbeInterval) {
		tc.startClusterLocked(max(math.Min(2*available, math.Max(tc.maxBitrate, available)), bweMinProbeRate), now)
	}
	wasLimited := tc.limited
	tc.mu.Unlock()
	switch {
	case tc.probe.active():
		if tc.probe.timer == nil { // no loop timer paces it: this tick does
			t.probeStep(tc, now)
		}
	case limited && measured && padTo > mediaRate:
		tc.padCarry = t.sendProbation(tc, (padTo-mediaRate)*bweProcessInterval.Seconds()/8+tc.padCarry)
	default:
		tc.padCarry = 0
	}
	return wasLimited || tc.probe.active() || initialPending
}

// startClusterLocked starts a probe cluster at rate.
func (c *tccClient) startClusterLocked(rate float64, now int64) {
	c.lastProbeAt = now
	c.probe.start(rate)
	c.est.StartProbe(c.probe.id, rate, int(c.probe.bytes))
}

// initialProbeLocked starts the next initial probe cluster when it is
// due (libwebrtc's exponential probing at the start: clusters at 3 and 6
// times the start bitrate, capped by the max bitrate, back to back), so
// that consumers reach their preferred layers from
// initialAvailableOutgoingBitrate within a round trip or two rather than
// at 8% a second. They wait for the first feedback (packets reach the
// receiver) and for the consumers' desired bitrate, and are given up
// when the estimate already allows it, after bweInitialProbeWindow, or
// when a cluster would not go above the estimate. It reports whether
// any is still to go.
func (c *tccClient) initialProbeLocked(clear bool, now int64) bool {
	if c.initialProbes >= len(bweInitialProbeScales) {
		return false
	}
	switch {
	case now-c.startedAt > int64(bweInitialProbeWindow), c.effectiveDesired != 0 && c.effectiveDesired <= c.available:
		c.initialProbes = len(bweInitialProbeScales)
		return false
	case c.probe.active() || !clear || c.est.LastFeedback() == 0 || c.effectiveDesired == 0:
		return true
	}
	rate := math.Min(bweInitialProbeScales[c.initialProbes]*c.initial, c.maxBitrate)
	c.initialProbes++
	if rate <= c.available {
		c.initialProbes = len(bweInitialProbeScales)
		return false
	}
	c.startClusterLocked(rate, now)
	return true
}

// sendRate records the transport's RTP and RTX byte counter at now and
// returns their bitrate over the last ticks, and false until at least
// 100 ms of ticks at most a second apart measured it.
func (c *tccClient) sendRate(sent uint64, now int64) (float64, bool) {
	n := len(c.sentRing)
	if c.sentPos > 0 && now-c.sentRing[(c.sentPos-1)%n].at > int64(time.Second) {
		c.sentPos = 0 // the ticks paused: start afresh
	}
	oldest := c.sentRing[0]
	if c.sentPos >= n {
		oldest = c.sentRing[(c.sentPos+1)%n]
	}
	c.sentRing[c.sentPos%n] = sentSample{now, sent}
	c.sentPos++
	if c.sentPos < 2 || now-oldest.at < int64(100*time.Millisecond) {
		return 0, false
	}
	return float64(sent-oldest.bytes) * 8 / (float64(now-oldest.at) / 1e9), true
}

// sendProbation sends about bytes of padding and returns the bytes left
// unsent (less than a packet). Padding goes on a limited consumer's RTX
// stream (which any receiver knows) when there is one, else on
// mediasoup's probator stream.
func (t *transport) sendProbation(tc *tccClient, bytes float64) float64 {
	for n := 0; n < probationMaxPerTick; n++ {
		if tc.padConsumer != nil && bytes < rtxPaddingSize || tc.padConsumer == nil && bytes < probationMinSize {
			break
		}
		sent := t.sendProbationPacket(tc, min(int(bytes), probationSize), 0)
		if sent == 0 {
			return 0
		}
		bytes -= float64(sent)
	}
	return max(0, min(bytes, probationSize))
}

// sendProbationPacket sends one probation packet of about size bytes
// (RTX padding packets have their own size), of probe cluster (0:
// plain padding), and returns its size (0: none could be sent).
func (t *transport) sendProbationPacket(tc *tccClient, size, cluster int) int {
	var b []byte
	var seq uint16
	if pad := tc.padConsumer; pad != nil {
		seq = uint16(t.twccSeq.Add(1))
		if b = pad.rtxPadding(tc.probBuf[:], seq); b == nil {
			tc.padConsumer = nil
			return 0
		}
	} else {
		b, seq = tc.probationPacket(t, min(max(size, probationMinSize), probationSize))
	}
	tc.history.RecordOne(nanotime(), seq, len(b), cluster)
	t.probationBytesSent.Add(uint64(len(b)))
	t.bytesSent.Add(uint64(len(b)))
	if t.traceMask.Load()&traceProbation != 0 {
		t.traceProbation(b)
	}
	t.link.sendRTP(b)
	return len(b)
}

// rtxPaddingSize is the size of RTX padding packets' padding (RTP
// padding counts at most 255 bytes).
const rtxPaddingSize = 255

// canPadRTX reports whether the consumer can carry padding on its RTX
// stream (it negotiated RTX and transport-cc).
func (c *consumer) canPadRTX() bool {
	return c.rtxPT != 0 && c.twccID != 0 && len(c.streams) > 0 && c.streams[0].rtxSSRC != 0
}

// rtxPadding builds in buf a padding-only packet on the consumer's RTX
// stream (as libwebrtc pads) with transport-wide sequence number twcc, or
// returns nil if the consumer is not active.
func (c *consumer) rtxPadding(buf []byte, twcc uint16) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &c.streams[0]
	if !c.active || c.closed.Load() || s.packets == 0 {
		return nil
	}
	var hdr [12]byte
	hdr[0], hdr[1] = 0x80, c.rtxPT
	s.rtxSeq++
	be.PutUint16(hdr[2:], s.rtxSeq)
	be.PutUint32(hdr[4:], s.lastTS)
	be.PutUint32(hdr[8:], s.rtxSSRC)
	var tw [2]byte
	be.PutUint16(tw[:], twcc)
	var n int
	if c.midID != 0 {
		n = rtppkt.CopyWithExtensions(buf, hdr[:], 12, c.twccID, tw[:], c.midID, c.mid)
	} else {
		n = rtppkt.CopyWithExtension(buf, hdr[:], 12, c.twccID, tw[:])
	}
	if n == 0 || n+rtxPaddingSize > len(buf) {
		return nil
	}
	buf[0] |= 0x20
	clear(buf[n : n+rtxPaddingSize])
	buf[n+rtxPaddingSize-1] = rtxPaddingSize
	return buf[:n+rtxPaddingSize]
}

// probationPacket builds the next probation packet, with a payload of
// size bytes, numbered with the transport's next transport-wide
// sequence number.
func (c *tccClient) probationPacket(t *transport, size int) ([]byte, uint16) {
	c.probSeq++
	be.PutUint16(c.probBase[2:], c.probSeq)
	be.PutUint32(c.probBase[4:], c.probTS)
	seq := uint16(t.twccSeq.Add(1))
	var tw [2]byte
	be.PutUint16(tw[:], seq)
	var n int
	base := c.probBase[:12+size]
	if c.midID != 0 {
		n = rtppkt.CopyWithExtensions(c.probBuf[:], base, 12, c.twccID, tw[:], c.midID, []byte(probationMid))
	} else {
		n = rtppkt.CopyWithExtension(c.probBuf[:], base, 12, c.twccID, tw[:])
	}
	return c.probBuf[:n], seq
}
