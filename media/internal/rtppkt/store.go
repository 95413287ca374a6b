package rtppkt

import (
	"sync"
	"time"
)

// StoreSize is the number of packets a Store keeps at most (a power of
// two), and the number of output packets a SeqMap remembers.
const StoreSize = 512

// The bytes a Store keeps: its ring starts at StoreMinBytes when the
// first packet comes and, each time a lap of it took less than StoreAge,
// grows to what StoreAge of the stream took at that lap's rate (or
// StoreSize packets of its mean size, if less) and a sixteenth more, in
// steps of storeStep, up to StoreMaxBytes: it holds the last
// StoreAge of the stream (mediasoup's MaxRetransmissionDelayForVideoMs)
// where that fits in StoreMaxBytes and StoreSize packets. (Doubling it
// instead kept up to twice that: 512 KiB for a 1.2 Mbit/s stream, 320
// KiB now.)
const (
	StoreMinBytes = 32 << 10
	StoreMaxBytes = 512 << 10
	StoreAge      = 2 * time.Second
	storeStep     = 16 << 10
)

// Store keeps copies of the most recent packets of one source stream,
// indexed by sequence number, so that consumers can retransmit them on
// NACK. Packets are copied in, back to back, into a ring of bytes sized
// to the stream's bitrate, so the reader's buffer can be reused.
//
// Store is safe for concurrent use: the stream's ingress goroutine puts,
// consumer goroutines handling NACKs get.
type Store struct {
	// mu guards the fields below.
	mu    sync.Mutex
	slots [StoreSize]storeSlot
	// ring holds the packets (nil until the first Put). Positions are
	// logical: ring[pos%len(ring)]; end is where the next packet goes.
	ring []byte
	end  uint64
	// lapEnd is the position that completes the ring's current lap,
	// begun at lapAt (ns) with lapPackets packets so far.
	lapEnd     uint64
	lapAt      int64
	lapPackets uint64
}

type storeSlot struct {
	pos   uint64
	seq   uint16
	n     uint16
	valid bool
}

// Put copies packet b (with sequence number seq, arrived at now, in
// nanoseconds of any monotonic clock) into the store. Packets longer
// than MaxPacketLen are not stored. It allocates only when the ring
// grows (a few times in a stream's life).
func (s *Store) Put(seq uint16, b []byte, now int64) {
	if len(b) > MaxPacketLen {
		return
	}
	s.mu.Lock()
	if s.ring == nil {
		s.ring = make([]byte, StoreMinBytes)
		s.lapEnd, s.lapAt = uint64(len(s.ring)), now
	}
	size := uint64(len(s.ring))
	n := uint64(len(b))
	if off := s.end % size; off+n > size {
		s.end += size - off // a packet never wraps around
	}
	if s.end+n > s.lapEnd {
		if d := now - s.lapAt; d < int64(StoreAge) {
			if to := grownSize(size, d, s.lapPackets); to > size {
				s.grow(to)
				size = to
			}
		}
		s.lapEnd, s.lapAt, s.lapPackets = s.end+size, now, 0
	}
	off := s.end % size
	copy(s.ring[off:], b)
	s.slots[seq%StoreSize] = storeSlot{pos: s.end, seq: seq, n: uint16(n), valid: true}
	s.end += n
	s.lapPackets++
	s.mu.Unlock()
}

// grownSize is the ring's new size after a lap of size bytes, packets
// packets, took d ns (less than StoreAge): StoreAge at that rate, or
// StoreSize packets of the lap's mean size if less, and a sixteenth more,
// rounded up to storeStep, at most StoreMaxBytes.
func grownSize(size uint64, d int64, packets uint64) uint64 {
	want := uint64(StoreMaxBytes)
	if d > 0 {
		want = min(want, uint64(float64(size)*float64(StoreAge)/float64(d)))
	}
	if packets > 0 {
		want = min(want, size/packets*StoreSize+MaxPacketLen)
	}
	want += want / 16
	want = (want + storeStep - 1) / storeStep * storeStep
	return min(want, StoreMaxBytes)
}

// grow moves what the ring holds to the start of a new ring of size
// bytes (more than it has), renumbering the positions; call with mu
// held.
func (s *Store) grow(size uint64) {
	old := s.ring
	oldSize := uint64(len(old))
	s.ring = make([]byte, size)
	lo := s.end - min(s.end, oldSize)
	for x := lo; x < s.end; {
		// Up to the old ring's end.
		n := min(s.end-x, oldSize-x%oldSize)
		copy(s.ring[x-lo:], old[x%oldSize:x%oldSize+n])
		x += n
	}
	for i := range s.slots {
		sl := &s.slots[i]
		if sl.valid && sl.pos < lo {
			sl.valid = false
		}
		sl.pos -= min(sl.pos, lo)
	}
	s.end -= lo
}

// Get copies the packet with sequence number seq into dst and returns the
// number of bytes copied, or 0 if the store no longer holds it.
func (s *Store) Get(seq uint16, dst []byte) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	sl := &s.slots[seq%StoreSize]
	size := uint64(len(s.ring))
	if !sl.valid || sl.seq != seq || len(dst) < int(sl.n) || s.end-sl.pos > size {
		return 0
	}
	off := sl.pos % size
	return copy(dst, s.ring[off:off+uint64(sl.n)])
}

// Bytes reports the size of the store's ring.
func (s *Store) Bytes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ring)
}

// Reset forgets every stored packet.
func (s *Store) Reset() {
	s.mu.Lock()
	for i := range s.slots {
		s.slots[i].valid = false
	}
	s.mu.Unlock()
}

// SeqMap remembers, for the most recent output sequence numbers of a
// consumer, which input sequence number each one carried: the consumer
// side of the retransmission buffer. It is not safe for concurrent use.
// An entry takes 12 bytes (6 KiB per map).
type SeqMap struct {
	entries [StoreSize]seqEntry
	// valid has a bit set for each entry written.
	valid [StoreSize / 64]uint64
}

// seqEntry is a SeqInfo and its output number, packed.
// seqMarker is the bit of seqEntry.stream that holds SeqInfo.Marker
// (stream indexes stay below it).
const seqMarker = 0x80

type seqEntry struct {
	tsOffset     uint32
	in, out, pic uint16
	stream, tl0  uint8
}

// SeqInfo is what a SeqMap remembers of one output packet.
type SeqInfo struct {
	// In is the input sequence number.
	In uint16
	// Stream is the index of the source stream it came from.
	Stream uint8
	// TL0Offset and PicOffset were added to its VP8 TL0PICIDX and
	// picture ID.
	TL0Offset uint8
	// TSOffset was added to its timestamp.
	TSOffset  uint32
	PicOffset uint16
	// Marker: it went out with the marker bit set although its input
	// had none (an SVC consumer ending a picture at a lower layer).
	Marker bool
}

// Put records that output number out carried the input packet info.
func (m *SeqMap) Put(out uint16, info SeqInfo) {
	i := out % StoreSize
	stream := info.Stream &^ seqMarker
	if info.Marker {
		stream |= seqMarker
	}
	m.entries[i] = seqEntry{tsOffset: info.TSOffset, in: info.In, out: out, pic: info.PicOffset,
		stream: stream, tl0: info.TL0Offset}
	m.valid[i/64] |= 1 << (i % 64)
}

// Get returns what output number out carried.
func (m *SeqMap) Get(out uint16) (SeqInfo, bool) {
	i := out % StoreSize
	e := &m.entries[i]
	if m.valid[i/64]&(1<<(i%64)) == 0 || e.out != out {
		return SeqInfo{}, false
	}
	return SeqInfo{In: e.in, Stream: e.stream &^ seqMarker, TL0Offset: e.tl0, TSOffset: e.tsOffset, PicOffset: e.pic,
		Marker: e.stream&seqMarker != 0}, true
}
