package engine

import (
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/rtppkt"
)

// What a consumer stream remembers of the packets it sent, so that a
// NACK for one of its sequence numbers finds the producer's packet in the
// producer stream's store (rtppkt.Store). Only streams of consumers that
// negotiated NACK remember anything.
//
// A simple or pipe consumer forwards every packet of its stream with the
// sequence number shifted by a base that changes only when the stream
// resyncs (rewrite's seq.Sync), so its stream keeps the last few bases
// (seqLog, a few dozen bytes); the others, whose layer switches drop
// packets and shift timestamps and VP8 picture ids, keep an entry per
// sent packet (rtppkt.SeqMap, 6 KiB).

// seqLogSize is the number of bases a seqLog keeps: a stream that
// resyncs more often than that within rtppkt.StoreSize packets cannot
// retransmit the packets before the oldest.
const seqLogSize = 8

// seqLog maps a stream's recent output sequence numbers to input ones.
type seqLog struct {
	// segs is a ring of the latest bases, next the slot of the next one
	// and n the slots filled.
	segs    [seqLogSize]seqSegment
	next, n int
	// maxOut is the highest output number recorded.
	maxOut uint16
}

// seqSegment says that outputs from first on carry input output-base.
type seqSegment struct {
	first, base uint16
}

// put records that output number out carried input in.
func (l *seqLog) put(out, in uint16) {
	base := out - in
	if l.n == 0 || rtppkt.SeqLess(l.maxOut, out) {
		l.maxOut = out
	}
	if l.n > 0 && l.segs[(l.next+seqLogSize-1)%seqLogSize].base == base {
		return
	}
	l.segs[l.next] = seqSegment{first: out, base: base}
	l.next = (l.next + 1) % seqLogSize
	l.n = min(l.n+1, seqLogSize)
}

// get returns the input number output out carried, if out is one of the
// last rtppkt.StoreSize outputs and its base is still known.
func (l *seqLog) get(out uint16) (uint16, bool) {
	if l.n == 0 || l.maxOut-out >= rtppkt.StoreSize {
		return 0, false
	}
	// The newest segment that began at or before out (within the
	// window) is the one out belongs to.
	for i := 1; i <= l.n; i++ {
		s := l.segs[(l.next+seqLogSize-i)%seqLogSize]
		if out-s.first <= l.maxOut-s.first {
			return out - s.base, true
		}
	}
	return 0, false
}

// usesSeqLog reports whether a consumer of type typ remembers its sent
// packets in a seqLog rather than a SeqMap.
func usesSeqLog(typ media.ConsumerType) bool {
	return typ == media.ConsumerSimple || typ == media.ConsumerPipe
}

// remember records that output number out carried info (no-op for a
// stream that keeps no history).
func (s *sendStream) remember(out uint16, info rtppkt.SeqInfo, useLog bool) {
	switch {
	case s.seqMap != nil:
		s.seqMap.Put(out, info)
	case useLog:
		s.seqLog.put(out, info.In)
	}
}

// sent returns what output number out of stream idx carried.
func (s *sendStream) sent(out uint16, idx int, useLog bool) (rtppkt.SeqInfo, bool) {
	switch {
	case s.seqMap != nil:
		return s.seqMap.Get(out)
	case useLog:
		in, ok := s.seqLog.get(out)
		return rtppkt.SeqInfo{In: in, Stream: uint8(idx)}, ok
	}
	return rtppkt.SeqInfo{}, false
}
