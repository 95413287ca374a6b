package engine

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/gcc"
	"github.com/ropehq/rope/media/internal/rtppkt"
)

// REMB from the receive side, mediasoup's other bandwidth estimation
// (BweType REMB): for a transport whose first bandwidth-estimating
// producer negotiated abs-send-time and "goog-remb" but not transport-cc.
// mediasoup runs libwebrtc's RemoteBitrateEstimatorAbsSendTime; this is a
// smaller estimator of the same design:
//
//   - Packets are grouped by send time (abs-send-time) in groups of
//     rembGroupLength; between consecutive groups, the growth of the
//     one-way delay is the arrival time delta minus the send time delta.
//   - A trendline filter (the slope of the smoothed accumulated delay over
//     the last 20 groups) says whether queues build up; an adaptive
//     threshold turns it into overusing, underusing or normal: the
//     send-side estimator's (gcc.Trendline), fed with abs-send-time.
//   - An AIMD controller starts at the incoming bitrate, grows 8% a
//     second while normal (at most 1.5 times the incoming bitrate), holds
//     while underusing, and drops to 0.85 times the incoming bitrate on
//     overuse.
//
// The estimate, capped by setMaxIncomingBitrate, goes out as REMB every
// rembInterval, and at once when it drops by 3% or more.

const (
	rembGroupLength = 5 * time.Millisecond
	rembInterval    = time.Second
	rembMinBitrate  = 30_000
	rembIncrease    = 1.08 // per second
	rembDecrease    = 0.85
	rembMaxOverRate = 1.5
)

// rembServer estimates the bandwidth towards the transport from
// abs-send-time and sends it as REMB. The receive path calls incoming;
// the transport's RTCP goroutine calls feedback.
type rembServer struct {
	// extID is the abs-send-time extension id.
	extID atomic.Uint32

	// mu guards the estimator state below.
	mu       sync.Mutex
	inRate   rate
	lastSSRC uint32

	// Send time unwrapping (abs-send-time is 24 bits of 6.18 seconds).
	lastAbs   uint32
	sendBase  int64 // unwrapped send time of lastAbs, in ns
	hasSender bool

	// The current and the previous complete packet group.
	cur, prev rembGroup

	// Trendline filter and overuse detector; usage is its last signal,
	// held until the rate control applied it.
	trendline gcc.Trendline
	usage     gcc.Usage

	// AIMD rate control.
	estimate   float64 // bps; 0 until the incoming bitrate is known
	lastUpdate int64
	rembSent   float64
	rembSentAt int64
}

type rembGroup struct {
	valid               bool
	firstSend, lastSend int64 // ns
	lastArrive          int64
}

func newRembServer() *rembServer { return &rembServer{} }

// producerUsesRemb reports whether params negotiated abs-send-time and
// goog-remb, and returns the extension's id.
func producerUsesRemb(params media.RtpParameters) (uint8, bool) {
	return negotiatedExtension(params, media.ExtAbsSendTime, "goog-remb")
}

// incoming feeds packet b (header h) to the estimator if it carries an
// abs-send-time. It runs on the receive path and does not allocate.
func (s *rembServer) incoming(b []byte, h *rtppkt.Header, now int64) {
	v, ok := rtppkt.Extension(b, *h, uint8(s.extID.Load()))
	if !ok || len(v) < 3 {
		return
	}
	abs := uint32(v[0])<<16 | uint32(v[1])<<8 | uint32(v[2])
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inRate.add(now, len(b))
	s.lastSSRC = h.SSRC
	// Unwrap: a 24-bit difference, taken as signed.
	if !s.hasSender {
		s.hasSender, s.lastAbs, s.sendBase = true, abs, 0
	}
	d := int64(int32((abs-s.lastAbs)<<8) >> 8)
	send := s.sendBase + d*int64(time.Second)>>18
	if d > 0 {
		s.lastAbs, s.sendBase = abs, send
	}
	switch {
	case !s.cur.valid:
		s.cur = rembGroup{valid: true, firstSend: send, lastSend: send, lastArrive: now}
	case send < s.cur.firstSend:
		// Reordered from an earlier group: ignore.
	case send-s.cur.firstSend <= int64(rembGroupLength):
		s.cur.lastSend = max(s.cur.lastSend, send)
		s.cur.lastArrive = now
	default:
		if s.prev.valid {
			s.delta(float64(s.cur.lastSend-s.prev.lastSend)/1e6, float64(s.cur.lastArrive-s.prev.lastArrive)/1e6, now)
		}
		s.prev = s.cur
		s.cur = rembGroup{valid: true, firstSend: send, lastSend: send, lastArrive: now}
	}
}

// delta takes the send and arrival time deltas (ms) between two groups
// through the trendline filter and the overuse detector, then updates
// the rate. Call with mu held.
func (s *rembServer) delta(sendMs, arriveMs float64, now int64) {
	if u, ok := s.trendline.Update(sendMs, arriveMs, now); ok {
		s.usage = u
	}
	s.updateRate(now)
}

// updateRate applies the usage signal to the estimate (AIMD). Call with
// mu held.
func (s *rembServer) updateRate(now int64) {
	in := float64(s.inRate.bitrate(now))
	if in == 0 {
		return
	}
	if s.estimate == 0 {
		s.estimate, s.lastUpdate = in, now
		return
	}
	dt := math.Min(float64(now-s.lastUpdate)/1e9, 1)
	s.lastUpdate = now
	switch s.usage {
	case gcc.Overusing:
		if in*rembDecrease < s.estimate {
			s.estimate = in * rembDecrease
		}
		s.usage = gcc.Normal // hold until the next signal
	case gcc.Normal:
		s.estimate = math.Min(s.estimate*math.Pow(rembIncrease, dt)+1000*dt, in*rembMaxOverRate+10_000)
	}
	s.estimate = math.Max(s.estimate, rembMinBitrate)
}

// feedback sends the estimate as REMB every rembInterval, and at once
// when it dropped by 3% or more since the last one.
func (s *rembServer) feedback(t *transport, now int64) {
	s.mu.Lock()
	est := s.estimate
	if max := float64(t.maxIncomingBitrate.Load()); max != 0 && est > max {
		est = max
	}
	send := est != 0 && s.lastSSRC != 0 &&
		(now-s.rembSentAt >= int64(rembInterval) || est < s.rembSent*0.97)
	var pk rtcp.ReceiverEstimatedMaximumBitrate
	if send {
		s.rembSent, s.rembSentAt = est, now
		pk = rtcp.ReceiverEstimatedMaximumBitrate{SenderSSRC: tccSenderSSRC, Bitrate: float32(est), SSRCs: []uint32{s.lastSSRC}}
	}
	s.mu.Unlock()
	if !send {
		return
	}
	if b, err := pk.Marshal(); err == nil {
		t.sendRTCP(b)
	}
}
