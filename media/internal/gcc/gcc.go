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
//     estimate (libwebrtc's ProbeBitrateEstimator), as padding probes
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
// An Estimator is not safe for concurrent use except History, which the
// forwarding path records into while the feedback reader looks up.
package gcc

import (
	"math"
	"sync"
	"time"

	"github.com/pion/rtcp"
)

// HistorySize is how many sent packets History remembers (a power of 2):
// about 4 s of packets at 5 Mbit/s.
const HistorySize = 2048

// maxAge is how old a history entry may be and still match feedback.
const maxAge = int64(10 * time.Second)

// History is the ring of the packets sent with transport-wide sequence
// numbers, indexed by sequence number. Record does not allocate.
type History struct {
	// mu guards entries.
	mu      sync.Mutex
	entries [HistorySize]sent
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
		h.entries[p.Seq&(HistorySize-1)] = sent{at: now, size: uint16(min(p.Size, math.MaxUint16)), seq: p.Seq}
	}
	h.mu.Unlock()
}

// RecordOne adds one packet sent at now, of probe cluster (0: none).
func (h *History) RecordOne(now int64, seq uint16, size int, cluster int) {
	h.mu.Lock()
	h.entries[seq&(HistorySize-1)] = sent{at: now, size: uint16(min(size, math.MaxUint16)), seq: seq, cluster: uint16(cluster)}
	h.mu.Unlock()
}

func (h *History) lookup(seq uint16, now int64) (sent, bool) {
	e := h.entries[seq&(HistorySize-1)]
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

// Acks resolves a transport-cc feedback against the history into dst
// (appended, in sequence order) and returns it. Packets not in the
// history are skipped.
func (h *History) Acks(dst []Ack, fb *rtcp.TransportLayerCC, now int64) []Ack {
	arrival := int64(fb.ReferenceTime) * 64 * int64(time.Millisecond)
	seq := fb.BaseSequenceNumber
	remaining := int(fb.PacketStatusCount)
	deltas := fb.RecvDeltas
	h.mu.Lock()
	defer h.mu.Unlock()
	add := func(symbol uint16) {
		received := symbol == rtcp.TypeTCCPacketReceivedSmallDelta || symbol == rtcp.TypeTCCPacketReceivedLargeDelta
		at := int64(Lost)
		if received {
			if len(deltas) == 0 {
				received = false
			} else {
				arrival += deltas[0].Delta * int64(time.Microsecond)
				deltas = deltas[1:]
				at = arrival
			}
		}
		if e, ok := h.lookup(seq, now); ok {
			dst = append(dst, Ack{Sent: e.at, Arrival: at, Size: int(e.size), Cluster: int(e.cluster)})
		}
		seq++
		remaining--
	}
	for _, c := range fb.PacketChunks {
		switch c := c.(type) {
		case *rtcp.RunLengthChunk:
			for i := 0; i < int(c.RunLength) && remaining > 0; i++ {
				add(c.PacketStatusSymbol)
			}
		case *rtcp.StatusVectorChunk:
			for _, s := range c.SymbolList {
				if remaining == 0 {
					break
				}
				add(s)
			}
		}
		if remaining <= 0 {
			break
		}
	}
	return dst
}
