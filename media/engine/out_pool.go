package engine

import (
	"sync"

	"github.com/ropehq/rope/media/internal/rtppkt"
)

// outBuf holds one rewritten packet: a consumer's queued copy, or an RTX
// packet being built (two bytes longer than the packet it carries).
type outBuf [rtppkt.MaxPacketLen + 2]byte

// outPool is a worker's free list of packet buffers for its consumers.
// A consumer owns one buffer (its queue's first, from its first packet
// on) and borrows the others only while it has more packets queued (from
// their arrival to the end of their read batch) or a retransmission
// under way, so the worker keeps as many as are in use at once (its
// peak) instead of a full output queue inline in every consumer. The
// pool is bounded by that peak: at most outBatch-1 buffers per consumer
// queueing at once, plus two per retransmission in progress.
type outPool struct {
	// mu guards free and made.
	mu   sync.Mutex
	free []*outBuf
	// made counts the buffers the pool allocated.
	made int
}

// get returns a buffer, from the free list or new.
func (p *outPool) get() *outBuf {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return b
	}
	p.made++
	p.mu.Unlock()
	return new(outBuf)
}

// put returns bufs to the free list and clears them.
func (p *outPool) put(bufs []*outBuf) {
	p.mu.Lock()
	p.free = append(p.free, bufs...)
	p.mu.Unlock()
	clear(bufs)
}

// putOne returns one buffer to the free list.
func (p *outPool) putOne(b *outBuf) {
	p.mu.Lock()
	p.free = append(p.free, b)
	p.mu.Unlock()
}

// counts reports the buffers allocated and those on the free list.
func (p *outPool) counts() (made, free int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.made, len(p.free)
}
