package gcc

import (
	"math"
	"time"
)

const (
	groupLength      = 5 * int64(time.Millisecond)
	trendWindow      = 20
	trendSmoothing   = 0.9
	trendGain        = 4.0
	overuseTimeMs    = 10.0
	thresholdInit    = 12.5
	thresholdMin     = 6.0
	thresholdMax     = 600.0
	kUp              = 0.0087
	kDown            = 0.039
	beta             = 0.85
	increasePerSec   = 1.08
	maxOverAcked     = 1.5
	lossMinPackets   = 20
	lossHigh         = 0.10
	lossLow          = 0.02
	lossDecreaseWait = 300 * int64(time.Millisecond)
	ackedWindow      = 500 * int64(time.Millisecond)
	ackedBins        = 10
)

// Usage is the overuse detector's signal.
type Usage int

const (
	Normal Usage = iota
	Overusing
	Underusing
)

// Config bounds an Estimator.
type Config struct {
	// Initial is the starting estimate (bps).
	Initial float64
	// Min and Max bound it (bps; Max 0: none).
	Min, Max float64
	// REMB makes the receiver's REMB the delay-based estimate (no
	// transport-cc feedback); otherwise a REMB only caps the estimate.
	REMB bool
}

// Estimator is GCC for one transport: feed it OnAcks (transport-cc) or
// OnREMB/OnLoss (REMB); Target is the estimate.
type Estimator struct {
	cfg Config

	// Inter-arrival grouping.
	cur, prev group

	// Trendline filter and overuse detector.
	trendline Trendline
	usage     Usage

	// AIMD.
	delayRate    float64
	lastUpdate   int64
	linkCap      float64 // estimated link capacity (bps), 0: unknown
	linkCapVar   float64
	lastDecrease int64

	// Acknowledged bitrate: bytes received per arrival-time bin.
	bins     [ackedBins]int
	binStart int64 // arrival time of bins[0]'s start
	acked    float64

	// Loss-based.
	lossRate     float64
	lossExpected int
	lossLost     int
	lastLoss     float64
	lastLossDec  int64
	lastLossInc  int64
	// lossFrom is the send time of the last decrease: the loss of packets
	// sent before it does not cut the estimate again.
	lossFrom int64
	remb     float64
	// rtt is the last feedback round trip (ns): now minus the send time
	// of the latest packet it reported received; lastFeedback when the
	// last feedback with news came (see LastFeedback).
	rtt          int64
	lastFeedback int64
	latestAcked  int64

	// Probes: arrival span and bytes per cluster.
	probes [4]probe
}

type group struct {
	valid               bool
	firstSend, lastSend int64
	lastArrival         int64
}

type probe struct {
	rate        float64 // the cluster's send rate (bps)
	minBytes    int     // what must arrive before it counts
	first, last int64   // arrival
	sendFirst   int64
	sendLast    int64
	bytes       int
	lastSize    int
	packets     int
}

// New returns an Estimator starting at cfg.Initial.
func New(cfg Config) *Estimator {
	e := &Estimator{cfg: cfg}
	e.delayRate = cfg.Initial
	e.lossRate = cfg.Initial
	return e
}

// SetBounds changes the minimum and maximum (Max 0: none).
func (e *Estimator) SetBounds(lo, hi float64) {
	e.cfg.Min, e.cfg.Max = lo, hi
	e.delayRate = e.clamp(e.delayRate)
	e.lossRate = e.clamp(e.lossRate)
}

func (e *Estimator) clamp(v float64) float64 {
	if e.cfg.Max > 0 && v > e.cfg.Max {
		v = e.cfg.Max
	}
	return math.Max(v, e.cfg.Min)
}

// Target is the estimate (bps): the lower of the delay- and loss-based
// ones, capped by REMB when one came, within the bounds.
func (e *Estimator) Target() float64 {
	t := math.Min(e.delayRate, e.lossRate)
	if e.remb > 0 {
		t = math.Min(t, e.remb)
	}
	return e.clamp(t)
}

// Usage is the last signal of the overuse detector.
func (e *Estimator) Usage() Usage { return e.usage }

// LastFeedback is when the last transport-cc feedback acknowledging a
// packet sent after all those acknowledged before came (0: none).
func (e *Estimator) LastFeedback() int64 { return e.lastFeedback }

// Acked is the acknowledged bitrate (bps), 0 until known.
func (e *Estimator) Acked() float64 { return e.acked }

// Loss is the smoothed loss fraction of the last reports.
func (e *Estimator) Loss() float64 { return e.lastLoss }

// OnAcks takes the packets one transport-cc feedback reported, in
// sequence order, at now (monotonic ns). Feedback that reported none of
// the history's packets is no news (libwebrtc's GoogCcNetworkController
// returns on an empty feedback vector): the estimate neither grows nor
// falls on it.
func (e *Estimator) OnAcks(acks []Ack, now int64) {
	if len(acks) == 0 {
		return
	}
	lost, expected := 0, 0
	var latest int64
	for _, a := range acks {
		if a.Arrival != Lost {
			latest = max(latest, a.Sent)
		}
		if a.Sent >= e.lossFrom {
			expected++
		}
		if a.Arrival == Lost {
			if a.Sent >= e.lossFrom {
				lost++
			}
			continue
		}
		e.ackedAdd(a)
		if a.Cluster > 0 {
			e.probeAdd(a)
		}
		e.interArrival(a)
	}
	if latest != 0 {
		e.rtt = now - latest
	}
	if latest > e.latestAcked {
		// Feedback on packets not acknowledged before: fresh news.
		e.latestAcked, e.lastFeedback = latest, now
	}
	e.updateAcked()
	e.updateDelayRate(now)
	e.updateLoss(expected, lost, now)
	e.applyProbes()
}

// OnREMB takes a receiver's REMB: the delay-based estimate of a REMB
// estimator, a cap otherwise.
func (e *Estimator) OnREMB(bps float64, now int64) {
	if e.cfg.REMB {
		e.delayRate = e.clamp(bps)
		e.updateLoss(0, 0, now)
		return
	}
	e.remb = bps
}

// OnLoss takes a receiver report's loss fraction (0..1) for expected
// packets (REMB transports, whose loss no feedback reports).
func (e *Estimator) OnLoss(fraction float64, expected int, now int64) {
	lost := int(fraction * float64(expected))
	e.updateLoss(expected, lost, now)
}

// ackedAdd counts a received packet into its arrival-time bin.
func (e *Estimator) ackedAdd(a Ack) {
	binLen := ackedWindow / ackedBins
	if e.binStart == 0 {
		e.binStart = a.Arrival
	}
	for a.Arrival >= e.binStart+ackedBins*binLen {
		copy(e.bins[:], e.bins[1:])
		e.bins[ackedBins-1] = 0
		e.binStart += binLen
		if a.Arrival-e.binStart > 10*ackedWindow {
			e.bins = [ackedBins]int{}
			e.binStart = a.Arrival
		}
	}
	if i := (a.Arrival - e.binStart) / binLen; i >= 0 {
		e.bins[i] += a.Size
	}
}

func (e *Estimator) updateAcked() {
	total := 0
	for _, b := range e.bins {
		total += b
	}
	if total > 0 {
		e.acked = float64(total) * 8 / (float64(ackedWindow) / 1e9)
	}
}

// interArrival groups packets by send time and feeds group deltas to the
// trendline filter.
func (e *Estimator) interArrival(a Ack) {
	switch {
	case !e.cur.valid:
		e.cur = group{valid: true, firstSend: a.Sent, lastSend: a.Sent, lastArrival: a.Arrival}
	case a.Sent < e.cur.firstSend:
		// Reordered from an earlier group.
	case a.Sent-e.cur.firstSend <= groupLength:
		e.cur.lastSend = max(e.cur.lastSend, a.Sent)
		e.cur.lastArrival = max(e.cur.lastArrival, a.Arrival)
	default:
		if e.prev.valid {
			sendMs := float64(e.cur.lastSend-e.prev.lastSend) / 1e6
			arrMs := float64(e.cur.lastArrival-e.prev.lastArrival) / 1e6
			if u, ok := e.trendline.Update(sendMs, arrMs, e.cur.lastArrival); ok {
				e.usage = u
			}
		}
		e.prev = e.cur
		e.cur = group{valid: true, firstSend: a.Sent, lastSend: a.Sent, lastArrival: a.Arrival}
	}
}

// Trendline is libwebrtc's TrendlineEstimator with its adaptive
// threshold (OveruseDetector), which both estimators run: this package's
// send-side one on transport-cc feedback and the engine's receive-side
// one (REMB) on abs-send-time. It takes the send and arrival time deltas
// between consecutive packet groups; the slope of the smoothed
// accumulated delay over the last trendWindow groups, against the
// threshold, says whether queues build up. The zero value is ready.
type Trendline struct {
	firstArrival         int64
	accDelay, smoothed   float64
	numDeltas            int
	window               [trendWindow][2]float64
	windowLen, windowPos int

	threshold    float64
	prevTrend    float64
	overuseTime  float64
	overuseCount int
	lastDetect   int64
	usage        Usage
}

// Update takes the send and arrival time deltas (ms) between two
// groups and the later one's last arrival (ns, any epoch), and returns
// the usage signal, and false while the window is not full yet (no
// signal).
func (d *Trendline) Update(sendMs, arrMs float64, arrival int64) (Usage, bool) {
	if d.threshold == 0 {
		d.threshold, d.firstArrival = thresholdInit, arrival
	}
	d.numDeltas = min(d.numDeltas+1, 1000)
	d.accDelay += arrMs - sendMs
	d.smoothed = trendSmoothing*d.smoothed + (1-trendSmoothing)*d.accDelay
	d.window[d.windowPos] = [2]float64{float64(arrival-d.firstArrival) / 1e6, d.smoothed}
	d.windowPos = (d.windowPos + 1) % trendWindow
	d.windowLen = min(d.windowLen+1, trendWindow)
	if d.windowLen < trendWindow {
		return d.usage, false
	}
	t := float64(min(d.numDeltas, 60)) * Slope(d.window[:]) * trendGain
	d.detect(t, sendMs, arrival)
	return d.usage, true
}

// Slope is the least-squares slope of the points (x, y) (libwebrtc's
// trendline); 0 when every x is the same. Both estimators (this one and
// the engine's receive-side REMB) fit their windows with it.
func Slope(points [][2]float64) float64 {
	var sx, sy float64
	for _, p := range points {
		sx += p[0]
		sy += p[1]
	}
	n := float64(len(points))
	mx, my := sx/n, sy/n
	var num, den float64
	for _, p := range points {
		num += (p[0] - mx) * (p[1] - my)
		den += (p[0] - mx) * (p[0] - mx)
	}
	if den == 0 {
		return 0
	}
	return num / den
}

// detect is libwebrtc's TrendlineEstimator::Detect with its adaptive
// threshold.
func (d *Trendline) detect(t, sendMs float64, now int64) {
	switch {
	case t > d.threshold:
		if d.overuseTime < 0 {
			d.overuseTime = sendMs / 2
		} else {
			d.overuseTime += sendMs
		}
		d.overuseCount++
		if d.overuseTime > overuseTimeMs && d.overuseCount > 1 && t >= d.prevTrend {
			d.overuseTime, d.overuseCount = 0, 0
			d.usage = Overusing
		}
	case t < -d.threshold:
		d.overuseTime, d.overuseCount = -1, 0
		d.usage = Underusing
	default:
		d.overuseTime, d.overuseCount = -1, 0
		d.usage = Normal
	}
	d.prevTrend = t
	if abs := math.Abs(t); abs <= d.threshold+15 {
		k := kDown
		if abs > d.threshold {
			k = kUp
		}
		dt := 100.0
		if d.lastDetect != 0 {
			dt = math.Min(float64(now-d.lastDetect)/1e6, 100)
		}
		d.threshold = math.Min(math.Max(d.threshold+k*(abs-d.threshold)*dt, thresholdMin), thresholdMax)
	}
	d.lastDetect = now
}

// updateDelayRate is libwebrtc's AimdRateControl::Update.
func (e *Estimator) updateDelayRate(now int64) {
	if e.lastUpdate == 0 {
		e.lastUpdate = now
		return
	}
	dt := math.Min(float64(now-e.lastUpdate)/1e9, 1)
	e.lastUpdate = now
	acked := e.acked
	switch e.usage {
	case Overusing:
		if now-e.lastDecrease < 200*int64(time.Millisecond) {
			break
		}
		e.lastDecrease, e.lossFrom = now, now
		// Slightly below the measured throughput, never up.
		dec := beta * e.delayRate
		if acked > 0 {
			dec = beta*acked - 5000
			if dec > e.delayRate && e.linkCap > 0 {
				dec = beta * e.linkCap
			}
			e.updateLinkCapacity(acked)
		}
		e.delayRate = math.Min(e.delayRate, dec)
	case Normal:
		cap := math.Inf(1)
		if acked > 0 {
			cap = maxOverAcked*acked + 10_000
		}
		if e.delayRate >= cap {
			break
		}
		inc := e.delayRate * (math.Pow(increasePerSec, dt) - 1)
		if e.linkCap > 0 && e.delayRate > e.linkCap-3*math.Sqrt(e.linkCapVar*e.linkCap) {
			// Near the link capacity: about one packet per response time.
			inc = math.Max(1000*dt, 1200*8/0.2*dt)
		}
		if acked > e.linkCap+3*math.Sqrt(e.linkCapVar*math.Max(e.linkCap, 1)) {
			e.linkCap, e.linkCapVar = 0, 0
		}
		e.delayRate = math.Min(e.delayRate+math.Max(inc, 1000*dt), cap)
	}
	e.delayRate = e.clamp(e.delayRate)
}

// updateLinkCapacity smooths the throughput measured at decreases (the
// link capacity, libwebrtc's LinkCapacityEstimator).
func (e *Estimator) updateLinkCapacity(sample float64) {
	if e.linkCap == 0 {
		e.linkCap, e.linkCapVar = sample, 0.4
		return
	}
	const alpha = 0.05
	e.linkCap = (1-alpha)*e.linkCap + alpha*sample
	norm := math.Max(e.linkCap, 1)
	dev := (e.linkCap - sample) / norm
	e.linkCapVar = math.Min(math.Max((1-alpha)*e.linkCapVar+alpha*dev*dev, 0.4/1000*1), 2.5)
}

// updateLoss is the loss-based part of libwebrtc's
// SendSideBandwidthEstimation.
func (e *Estimator) updateLoss(expected, lost int, now int64) {
	e.lossExpected += expected
	e.lossLost += lost
	if e.lossExpected >= lossMinPackets {
		e.lastLoss = float64(e.lossLost) / float64(e.lossExpected)
		e.lossExpected, e.lossLost = 0, 0
		switch {
		case e.lastLoss > lossHigh:
			if now-e.lastLossDec >= lossDecreaseWait+e.rtt {
				e.lastLossDec, e.lossFrom = now, now
				e.lossRate = e.Target() * (1 - 0.5*e.lastLoss)
			}
		case e.lastLoss < lossLow:
			if e.lastLossInc == 0 {
				e.lastLossInc = now
			}
			dt := math.Min(float64(now-e.lastLossInc)/1e9, 1)
			e.lastLossInc = now
			e.lossRate = e.lossRate*math.Pow(increasePerSec, dt) + 1000*dt
		}
	}
	// Never above the delay-based estimate.
	e.lossRate = e.clamp(math.Min(e.lossRate, e.delayRate))
}

// Probe cluster bookkeeping.

// probeAdd counts a probe packet's arrival.
func (e *Estimator) probeAdd(a Ack) {
	p := &e.probes[(a.Cluster-1)%len(e.probes)]
	if p.packets == 0 || a.Arrival < p.first {
		p.first = a.Arrival
	}
	if p.packets == 0 || a.Sent < p.sendFirst {
		p.sendFirst = a.Sent
	}
	p.last = max(p.last, a.Arrival)
	p.sendLast = max(p.sendLast, a.Sent)
	p.bytes += a.Size
	p.lastSize = a.Size
	p.packets++
}

// StartProbe starts counting cluster (1..), sent at rate (bps), afresh;
// it is to send bytes. Its result counts once 80% of those arrived
// (ProbeBitrateEstimator's kMinReceivedBytesRatio): a cluster paced at
// its rate is measured over most of its length, not over its first
// few packets.
func (e *Estimator) StartProbe(cluster int, rate float64, bytes int) {
	e.probes[(cluster-1)%len(e.probes)] = probe{rate: rate, minBytes: bytes * 8 / 10}
}

// applyProbes raises the delay-based estimate to a probe's result when
// enough of its packets arrived (ProbeBitrateEstimator: the lower of the
// send and receive rates, without the last packet's bytes).
func (e *Estimator) applyProbes() {
	for i := range e.probes {
		p := &e.probes[i]
		if p.packets < 5 || p.bytes < p.minBytes || p.last <= p.first || p.sendLast <= p.sendFirst {
			continue
		}
		recv := float64(p.bytes-p.lastSize) * 8 / (float64(p.last-p.first) / 1e9)
		send := float64(p.bytes-p.lastSize) * 8 / (float64(p.sendLast-p.sendFirst) / 1e9)
		r := math.Min(math.Min(recv, send), p.rate)
		if e.usage != Overusing && r > e.delayRate {
			e.delayRate = e.clamp(r * 0.95)
			e.lossRate = math.Max(e.lossRate, e.delayRate)
		}
		*p = probe{rate: p.rate, minBytes: p.minBytes}
	}
}
