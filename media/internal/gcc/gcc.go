// Package gcc is the send-side bandwidth estimator of a transport: the
// history of the packets it sent with transport-wide sequence numbers,
// the reading of the receiver's transport-cc feedback
// (draft-holmer-rmcat-transport-wide-cc-extensions-01) against it, and
// Google Congestion Control (draft-ietf-rmcat-gcc-02) as libwebrtc runs
// it, which mediasoup's TransportCongestionControlClient wraps:
//
//   - Delay-based: packets are grouped by send time (5 ms groups,
//     libwebrtc's InterArrival); the growth of the one-way delay between
//     groups goes through the trendline filter (TrendlineEstimator: the
//     slope of the smoothed accumulated delay over 20 groups) and the
//     overuse detector with its adaptive threshold; an AIMD controller
//     (AimdRateControl) holds, grows (8% a second, or additively near
//     the link capacity it learnt) or drops to 0.85 times the
//     acknowledged bitrate on overuse, never above 1.5 times it.
//   - Loss-based (SendSideBandwidthEstimation): over at least 20
//     reported packets, loss above 10% cuts the estimate by half the loss
//     fraction, loss below 2% lets it grow 8% a second, never above the
//     delay-based estimate.
//   - REMB (when the receiver negotiated no transport-cc): the receiver's
//     estimate caps the loss-based one, which receiver reports feed.
//   - Probes: Probe sends a cluster of packets faster than the estimate;
//     the rate at which they arrive, when above the estimate, becomes the
//     estimate once 80% of the cluster's bytes arrived (libwebrtc's
//     ProbeBitrateEstimator), as padding probes
//     let libwebrtc climb back after congestion faster than 8% a second.
//
// Why not pion/interceptor's gcc.SendSideBWE: it learns of sent packets
// only through its pacer's interceptor.RTPWriter with a parsed rtp.Header,
// timestamps them itself with time.Now, and stores them in a
// container/list (allocations on every forwarded packet, which the
// forwarding path must not make), keeps 250 packets, and runs two
// goroutines per estimator plus one per rate change; its feedback adapter
// is in an internal package. The algorithms here follow the same
// libwebrtc sources.
//
// Trendline (the trendline filter and overuse detector) serves the
// engine's receive-side REMB estimator too.
//
// An Estimator is not safe for concurrent use except History, which the
// forwarding path records into while the feedback reader looks up.
package gcc

import (
	"encoding/binary"
	"errors"
	"math"
	"sync"
	"time"
)

// HistorySize is the most sent packets History remembers (a power of 2,
// 16 bytes each): about 2 s of packets at 5 Mbit/s, 100 ms at 100 Mbit/s;
// feedback normally comes within a feedback interval (50-250 ms) and a
// round trip. Feedback on older packets is ignored.
const HistorySize = 1024

// historyMin is the ring a History starts with (2 KiB): 1.3 s of a
// transport sending 100 packets/s, a video stream of about 1 Mbit/s.
const historyMin = 128

// historyKeep is how long a History keeps every packet while it may
// grow: a packet sent less than this long ago is not overwritten; the
// ring doubles instead, up to HistorySize.
const historyKeep = int64(time.Second)

// maxAge is how old a history entry may be and still match feedback.
const maxAge = int64(10 * time.Second)

// History is the ring of the packets sent with transport-wide sequence
// numbers, indexed by sequence number. It holds historyMin entries at
// first and doubles when it would overwrite a packet sent within
// historyKeep, up to HistorySize, so that a transport sending little
// holds 2 KiB, not 16. The zero value is ready. Record allocates only
// when the ring starts or grows, at most four times.
type History struct {
	// mu guards entries.
	mu sync.Mutex
	// entries is the ring (length a power of 2; nil before the first
	// packet).
	entries []sent
}

type sent struct {
	at      int64 // send time, monotonic ns; 0: empty
	size    uint16
	seq     uint16
	cluster uint16 // probe cluster + 1, or 0
}

// Packet is one packet to record.
type Packet struct {
	Seq  uint16
	Size int
}

// Record adds packets sent at now (monotonic ns).
func (h *History) Record(now int64, pkts []Packet) {
	h.mu.Lock()
	for _, p := range pkts {
		*h.slotLocked(p.Seq, now) = sent{at: now, size: uint16(min(p.Size, math.MaxUint16)), seq: p.Seq}
	}
	h.mu.Unlock()
}

// RecordOne adds one packet sent at now, of probe cluster (0: none).
func (h *History) RecordOne(now int64, seq uint16, size int, cluster int) {
	h.mu.Lock()
	*h.slotLocked(seq, now) = sent{at: now, size: uint16(min(size, math.MaxUint16)), seq: seq, cluster: uint16(cluster)}
	h.mu.Unlock()
}

// slotLocked is the entry packet seq, sent at now, goes to: the ring
// starts, or doubles, first when that entry holds another packet sent
// within historyKeep.
func (h *History) slotLocked(seq uint16, now int64) *sent {
	if h.entries == nil {
		h.entries = make([]sent, historyMin)
	}
	e := &h.entries[int(seq)&(len(h.entries)-1)]
	if e.at != 0 && e.seq != seq && now-e.at < historyKeep && len(h.entries) < HistorySize {
		h.growLocked()
		e = &h.entries[int(seq)&(len(h.entries)-1)]
	}
	return e
}

// growLocked doubles the ring, each packet at its slot in the new one
// (two packets in distinct slots of a ring are in distinct slots of its
// double).
func (h *History) growLocked() {
	grown := make([]sent, 2*len(h.entries))
	for _, e := range h.entries {
		if e.at != 0 {
			grown[int(e.seq)&(len(grown)-1)] = e
		}
	}
	h.entries = grown
}

func (h *History) lookup(seq uint16, now int64) (sent, bool) {
	if h.entries == nil {
		return sent{}, false
	}
	e := h.entries[int(seq)&(len(h.entries)-1)]
	return e, e.at != 0 && e.seq == seq && now-e.at < maxAge
}

// Ack is one packet reported by feedback: its send time, size and
// arrival time on the receiver's clock (Lost when not received).
type Ack struct {
	Sent    int64
	Arrival int64
	Size    int
	Cluster int
}

// Lost is the Arrival of a packet reported lost.
const Lost = math.MinInt64

// Feedback errors.
var (
	ErrShortFeedback = errors.New("gcc: transport-cc feedback too short")
	ErrBadFeedback   = errors.New("gcc: malformed transport-cc feedback")
)

// Acks resolves a transport-cc feedback packet b (the whole RTCP packet:
// PT 205, FMT 15) against the history into dst (appended, in sequence
// order) and returns it. Packets not in the history are skipped. It
// parses b itself and does not allocate once dst has room.
func (h *History) Acks(dst []Ack, b []byte, now int64) ([]Ack, error) {
	if len(b) < 20 {
		return dst, ErrShortFeedback
	}
	base := binary.BigEndian.Uint16(b[12:])
	count := int(binary.BigEndian.Uint16(b[14:]))
	ref := int64(b[16])<<16 | int64(b[17])<<8 | int64(b[18])
	arrival := ref * 64 * int64(time.Millisecond)
	// First pass: find where the receive deltas start.
	off, seen := 20, 0
	for seen < count {
		if off+2 > len(b) {
			return dst, ErrBadFeedback
		}
		seen += chunkLen(binary.BigEndian.Uint16(b[off:]))
		off += 2
	}
	deltas := off
	h.mu.Lock()
	defer h.mu.Unlock()
	seq, left := base, count
	for c := 20; c < deltas && left > 0; c += 2 {
		chunk := binary.BigEndian.Uint16(b[c:])
		n := min(chunkLen(chunk), left)
		for i := 0; i < n; i++ {
			at := int64(Lost)
			switch symbol(chunk, i) {
			case 1:
				if deltas+1 > len(b) {
					return dst, ErrBadFeedback
				}
				arrival += int64(b[deltas]) * 250 * int64(time.Microsecond)
				deltas++
				at = arrival
			case 2:
				if deltas+2 > len(b) {
					return dst, ErrBadFeedback
				}
				arrival += int64(int16(binary.BigEndian.Uint16(b[deltas:]))) * 250 * int64(time.Microsecond)
				deltas += 2
				at = arrival
			}
			if e, ok := h.lookup(seq, now); ok {
				dst = append(dst, Ack{Sent: e.at, Arrival: at, Size: int(e.size), Cluster: int(e.cluster)})
			}
			seq++
		}
		left -= n
	}
	return dst, nil
}

// chunkLen is how many packets a packet status chunk covers.
func chunkLen(chunk uint16) int {
	switch {
	case chunk&0x8000 == 0:
		return int(chunk & 0x1fff) // run length
	case chunk&0x4000 == 0:
		return 14 // 1-bit status vector
	default:
		return 7 // 2-bit status vector
	}
}

// symbol is the status of the i-th packet of a chunk: 0 not received, 1
// small delta, 2 large delta.
func symbol(chunk uint16, i int) uint16 {
	switch {
	case chunk&0x8000 == 0:
		return chunk >> 13 & 3
	case chunk&0x4000 == 0:
		return chunk >> (13 - i) & 1
	default:
		return chunk >> (12 - 2*i) & 3
	}
}
