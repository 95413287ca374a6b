package engine

import (
	"sync"
	"time"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/rtppkt"
)

// Trace event bits: enableTraceEvent sets them in an atomic mask the
// packet path tests, so a type not enabled costs one load and no
// allocation.
const (
	traceRTP uint32 = 1 << iota
	traceKeyFrame
	traceNack
	tracePLI
	traceFIR
	traceSR
)

// Transport trace event bits.
const (
	traceProbation uint32 = 1 << iota
	traceBWE
)

var producerTraceBits = map[media.ProducerTraceEventType]uint32{
	"rtp": traceRTP, "keyframe": traceKeyFrame, "nack": traceNack, "pli": tracePLI, "fir": traceFIR, "sr": traceSR,
}

var transportTraceBits = map[media.TransportTraceEventType]uint32{
	"probation": traceProbation, "bwe": traceBWE,
}

// traceMaskOf turns enabled type names into a mask; as mediasoup's
// worker, unknown names are ignored.
func traceMaskOf[T ~string](types []T, bits map[T]uint32) uint32 {
	var m uint32
	for _, t := range types {
		m |= bits[t]
	}
	return m
}

// traceNames lists the types of mask m (a dump's traceEventTypes).
func traceNames[T ~string](m uint32, bits map[T]uint32, order []T) []string {
	out := []string{}
	for _, t := range order {
		if m&bits[t] != 0 {
			out = append(out, string(t))
		}
	}
	return out
}

var producerTraceOrder = []media.ProducerTraceEventType{"rtp", "keyframe", "nack", "pli", "fir", "sr"}

// rtpTraceInfo dumps packet b (header h) for a trace event.
func rtpTraceInfo(b []byte, h *rtppkt.Header, keyFrame, rtx bool) media.RtpPacketTraceInfo {
	return media.RtpPacketTraceInfo{
		PayloadType: b[1] & 0x7f, SequenceNumber: h.SequenceNumber, Timestamp: h.Timestamp,
		Marker: b[1]&0x80 != 0, SSRC: be.Uint32(b[8:]), IsKeyFrame: keyFrame, Size: len(b),
		PayloadSize: max(len(b)-h.HeaderLen-h.PaddingLen, 0), IsRtx: rtx,
	}
}

// rtpTraceEvent is the "keyframe" event of a key frame if enabled, else
// the "rtp" event if enabled (as mediasoup: a key frame packet is not
// also an "rtp" event).
func rtpTraceEvent(mask uint32, info media.RtpPacketTraceInfo, dir string) (media.ProducerTraceEventData, bool) {
	typ := media.ProducerTraceEventType("")
	switch {
	case info.IsKeyFrame && mask&traceKeyFrame != 0:
		typ = "keyframe"
	case mask&traceRTP != 0:
		typ = "rtp"
	default:
		return media.ProducerTraceEventData{}, false
	}
	return traceEvent(typ, dir, info), true
}

func traceEvent(typ media.ProducerTraceEventType, dir string, info any) media.ProducerTraceEventData {
	return media.ProducerTraceEventData{Type: typ, Timestamp: time.Now().UnixMilli(), Direction: dir, Info: info}
}

// traceQueue holds trace events made under a lock, emitted once the
// lock is released (a listener may call back into the object).
type traceQueue struct {
	mu     sync.Mutex
	events []media.ProducerTraceEventData
}

func (q *traceQueue) add(e media.ProducerTraceEventData) {
	q.mu.Lock()
	q.events = append(q.events, e)
	q.mu.Unlock()
}

// emit hands the queued events to l; call with no object lock held.
func (q *traceQueue) emit(l interface {
	Emit(media.ProducerTraceEventData)
}) {
	q.mu.Lock()
	ev := q.events
	q.events = nil
	q.mu.Unlock()
	for _, e := range ev {
		l.Emit(e)
	}
}

// videoOrientation parses a urn:3gpp:video-orientation (CVO) extension
// value as mediasoup's RtpPacket::ReadVideoOrientation.
func videoOrientation(v []byte) (media.ProducerVideoOrientation, bool) {
	if len(v) < 1 {
		return media.ProducerVideoOrientation{}, false
	}
	return media.ProducerVideoOrientation{
		Camera: v[0]&0x08 != 0, Flip: v[0]&0x04 != 0, Rotation: [4]int{0, 90, 180, 270}[v[0]&0x03],
	}, true
}
