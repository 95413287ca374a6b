package rtppkt

import "sync"

// StoreSize is the number of packets a Store keeps (a power of two).
const StoreSize = 512

// Store keeps copies of the most recent packets of one source stream,
// indexed by sequence number, so that consumers can retransmit them on
// NACK. Packets are copied in, so the reader's buffer can be reused.
//
// Store is safe for concurrent use: the stream's ingress goroutine puts,
// consumer goroutines handling NACKs get.
type Store struct {
	// mu guards slots.
	mu    sync.Mutex
	slots [StoreSize]storeSlot
}

type storeSlot struct {
	valid bool
	seq   uint16
	n     int
	buf   [MaxPacketLen]byte
}

// Put copies packet b (with sequence number seq) into the store. Packets
// longer than MaxPacketLen are not stored.
func (s *Store) Put(seq uint16, b []byte) {
	if len(b) > MaxPacketLen {
		return
	}
	s.mu.Lock()
	sl := &s.slots[seq%StoreSize]
	sl.valid = true
	sl.seq = seq
	sl.n = copy(sl.buf[:], b)
	s.mu.Unlock()
}

// Get copies the packet with sequence number seq into dst and returns the
// number of bytes copied, or 0 if the store no longer holds it.
func (s *Store) Get(seq uint16, dst []byte) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	sl := &s.slots[seq%StoreSize]
	if !sl.valid || sl.seq != seq || len(dst) < sl.n {
		return 0
	}
	return copy(dst, sl.buf[:sl.n])
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
type SeqMap struct {
	entries [StoreSize]seqEntry
}

type seqEntry struct {
	valid bool
	out   uint16
	SeqInfo
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
}

// Put records that output number out carried the input packet info.
func (m *SeqMap) Put(out uint16, info SeqInfo) {
	m.entries[out%StoreSize] = seqEntry{valid: true, out: out, SeqInfo: info}
}

// Get returns what output number out carried.
func (m *SeqMap) Get(out uint16) (SeqInfo, bool) {
	e := m.entries[out%StoreSize]
	if !e.valid || e.out != out {
		return SeqInfo{}, false
	}
	return e.SeqInfo, true
}
