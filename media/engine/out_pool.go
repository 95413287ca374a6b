package engine

import (
	"sync"
	"time"

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
// peak) instead of a full output queue inline in every consumer. Queues
// borrow at most limit buffers in all (Options.OutPoolBytes): a consumer
// that cannot borrow sends what it has queued and goes on in its own
// buffer, as mediasoup sends every packet at once, so a burst read in one
// batch (a key frame, packets that waited while the worker was busy)
// costs a few more system calls instead of 15 buffers per consumer. Each
// retransmission in progress takes two more, returned when it is done. A
// burst's peak is not kept for ever: the buffers that stayed free for a
// whole outPoolTrimPeriod are let go (trim), so the pool follows what
// the worker needed lately.
type outPool struct {
	// limit is the most buffers borrow lends (at least 1).
	limit int
	// mu guards the fields below.
	mu   sync.Mutex
	free []*outBuf
	// made counts the buffers the pool allocated and still owns (lent
	// or free).
	made int
	// low is the fewest buffers free since trimAt (monotonic ns; 0:
	// never): as many were not needed since.
	low    int
	trimAt int64
}

// outPoolTrimPeriod is how long a free buffer stays unused before the
// pool lets it go.
const outPoolTrimPeriod = 10 * time.Second

// DefaultOutPoolBytes is Options.OutPoolBytes's default.
const DefaultOutPoolBytes = 1 << 20

// newOutPool returns a pool whose queues borrow at most bytes of buffers.
func newOutPool(bytes int) outPool {
	return outPool{limit: max(1, bytes/len(outBuf{}))}
}

// get returns a buffer for a retransmission, from the free list or new.
func (p *outPool) get() *outBuf { return p.take(false) }

// borrow returns a buffer for a consumer's queue, from the free list or
// new, or nil when the pool made its limit and has none free.
func (p *outPool) borrow() *outBuf { return p.take(true) }

// take returns a free buffer, or a new one unless limited and the pool
// made its limit (nil).
func (p *outPool) take(limited bool) *outBuf {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.takeLocked()
	if b == nil && (!limited || p.made < p.limit) {
		p.made++
		p.low = 0
		b = new(outBuf)
	}
	return b
}

// takeLocked pops a free buffer, or returns nil. Call with mu held.
func (p *outPool) takeLocked() *outBuf {
	n := len(p.free)
	if n == 0 {
		return nil
	}
	b := p.free[n-1]
	p.free[n-1] = nil
	p.free = p.free[:n-1]
	p.low = min(p.low, n-1)
	return b
}

// put returns bufs to the free list and clears them.
func (p *outPool) put(bufs []*outBuf) {
	p.mu.Lock()
	p.free = append(p.free, bufs...)
	p.trimLocked(nanotime())
	p.mu.Unlock()
	clear(bufs)
}

// putOne returns one buffer to the free list.
func (p *outPool) putOne(b *outBuf) {
	p.mu.Lock()
	p.free = append(p.free, b)
	p.trimLocked(nanotime())
	p.mu.Unlock()
}

// trimLocked lets go, once per outPoolTrimPeriod, of the buffers that
// stayed free since the last time (the free list's low-water mark).
// Call with mu held.
func (p *outPool) trimLocked(now int64) {
	if p.trimAt != 0 && now-p.trimAt < int64(outPoolTrimPeriod) {
		return
	}
	if p.trimAt != 0 && p.low > 0 {
		keep := len(p.free) - p.low
		clear(p.free[keep:])
		p.free = p.free[:keep]
		p.made -= p.low
		if cap(p.free) > 2*max(keep, 64) {
			p.free = append([]*outBuf(nil), p.free...)
		}
	}
	p.trimAt, p.low = now, len(p.free)
}

// counts reports the buffers allocated and those on the free list.
func (p *outPool) counts() (made, free int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.made, len(p.free)
}
