//go:build linux && (amd64 || arm64)

package udpio

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sendQueue holds, in order, the datagrams a detached socket could not
// send at once (its send buffer was full), until FlushSendQueue sends
// them when the socket is writable: mediasoup's libuv queues such a
// datagram (uv_udp_send) rather than dropping it. While it holds any,
// later writes go behind them. It is bounded in bytes; beyond the bound
// datagrams are dropped and counted (Dropped).
type sendQueue struct {
	// pending is the number of queued datagrams, read without mu by the
	// writers' fast path.
	pending atomic.Int32

	// mu guards the fields below (taken after writeBatch.mu).
	mu sync.Mutex
	// limit bounds the queued bytes (0: no queue, drop at once).
	limit int
	// want is told, under mu, when the queue becomes non-empty (true)
	// and empty again (false): the event loop then watches the socket
	// for writability, or stops.
	want func(bool)
	// data holds the queued datagrams' bytes from head on. It grows as
	// needed up to the bound; an emptied queue keeps up to keepQueued
	// bytes of it (and its entries), so that a socket that often queues
	// a little does not allocate, while one burst does not pin the
	// bound's worth of memory per socket.
	data []byte
	head int
	// ents are the queued datagrams from first on.
	ents  []queued
	first int
	// closed is set by Close: nothing is queued after.
	closed bool
}

// queued is one datagram in a sendQueue: data[off:off+n] to name.
type queued struct {
	off, n  int
	name    unix.RawSockaddrInet6
	namelen uint32
}

// EnableSendQueue makes a detached socket queue up to limit bytes of
// datagrams that find the send buffer full, instead of dropping them;
// want(true) is called when the queue becomes non-empty (watch the
// socket for writability, then call FlushSendQueue) and want(false) when
// it is empty again. It is called with the queue's lock held: it must
// not write to the socket. limit ≤ 0 turns the queue off (as before:
// drop at once).
func (c *Conn) EnableSendQueue(limit int, want func(bool)) {
	q := &c.sq
	q.mu.Lock()
	defer q.mu.Unlock()
	q.limit, q.want = max(limit, 0), want
}

// SendQueued is the number of datagrams waiting in the send queue.
func (c *Conn) SendQueued() int { return int(c.sq.pending.Load()) }

// queueing says writes must go behind queued datagrams.
func (c *Conn) queueing() bool { return c.sq.pending.Load() != 0 }

// enqueueLocked queues b to the destination in sa (namelen 0: the
// connected peer); false (and counted as dropped) beyond the bound or
// without a queue. Call with q.mu held.
func (q *sendQueue) enqueueLocked(c *Conn, b []byte, sa *unix.RawSockaddrInet6, namelen uint32) bool {
	if q.closed || q.limit == 0 || len(q.data)-q.head+len(b) > q.limit {
		c.dropped.Add(1)
		return false
	}
	if len(q.data)+len(b) > cap(q.data) && q.head > 0 {
		q.compactLocked()
	}
	off := len(q.data)
	q.data = append(q.data, b...)
	e := queued{off: off, n: len(b), namelen: namelen}
	if namelen != 0 {
		e.name = *sa
	}
	if len(q.ents) == cap(q.ents) && q.first > 0 {
		n := copy(q.ents, q.ents[q.first:])
		q.ents, q.first = q.ents[:n], 0
	}
	q.ents = append(q.ents, e)
	if q.pending.Add(1) == 1 && q.want != nil {
		q.want(true)
	}
	return true
}

// compactLocked moves the queued bytes to the start of data.
func (q *sendQueue) compactLocked() {
	n := copy(q.data, q.data[q.head:])
	for i := q.first; i < len(q.ents); i++ {
		q.ents[i].off -= q.head
	}
	q.data, q.head = q.data[:n], 0
}

// queueOne queues b to the destination sa (namelen 0: the connected
// peer) after a full send buffer refused it: nil if queued, else
// ErrSendBufferFull (counted).
func (c *Conn) queueOne(b []byte, sa *unix.RawSockaddrInet6, namelen uint32) error {
	q := &c.sq
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.enqueueLocked(c, b, sa, namelen) {
		return ErrSendBufferFull
	}
	return nil
}

// behindQueue queues b if datagrams are waiting (so that it goes after
// them) and says so; err is ErrSendBufferFull if it was dropped.
func (c *Conn) behindQueue(b []byte, sa *unix.RawSockaddrInet6, namelen uint32) (bool, error) {
	if !c.queueing() {
		return false, nil
	}
	q := &c.sq
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.pending.Load() == 0 {
		return false, nil // flushed meanwhile
	}
	if !q.enqueueLocked(c, b, sa, namelen) {
		return true, ErrSendBufferFull
	}
	return true, nil
}

// queueBatch queues bufs behind the queue, each to w's destination for
// it (call with w.mu held); if always is false it does so only while
// datagrams are waiting, and says whether it did. err is
// ErrSendBufferFull if any was dropped.
func (c *Conn) queueBatch(bufs [][]byte, base int, always bool) (bool, error) {
	if !always && !c.queueing() {
		return false, nil
	}
	q := &c.sq
	q.mu.Lock()
	defer q.mu.Unlock()
	if !always && q.pending.Load() == 0 {
		return false, nil
	}
	w := &c.wbatch
	var err error
	for i, b := range bufs {
		sa, l := &w.name, w.namelen
		if w.perMsg {
			sa, l = &w.names[base+i], w.namelens[base+i]
		}
		if !q.enqueueLocked(c, b, sa, l) {
			err = ErrSendBufferFull
		}
	}
	return true, err
}

// FlushSendQueue sends the queued datagrams in order until the send
// buffer is full again or the queue is empty (want(false) is then
// called); it returns the number still queued. A datagram the kernel
// refuses for another reason (e.g. an unreachable destination) is
// skipped, as a direct send's error would be returned and not counted.
func (c *Conn) FlushSendQueue() int {
	q := &c.sq
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.pending.Load() == 0 {
		return 0
	}
	r := c.det
	if r == nil || !r.incref() {
		return int(q.pending.Load())
	}
	defer r.decref()
	for q.first < len(q.ents) {
		e := &q.ents[q.first]
		if !sendOne(r.fd, q.data[e.off:e.off+e.n], e) {
			break
		}
		q.first++
		q.head = e.off + e.n
		q.pending.Add(-1)
	}
	if q.first == len(q.ents) {
		q.emptyLocked()
	}
	return int(q.pending.Load())
}

// sendOne sends one queued datagram; false if the send buffer is full
// (a datagram refused for another reason is dropped: true).
func sendOne(fd int, b []byte, e *queued) bool {
	var p, sa unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	if e.namelen != 0 {
		sa = unsafe.Pointer(&e.name)
	}
	for {
		_, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(p), uintptr(len(b)),
			unix.MSG_DONTWAIT, uintptr(sa), uintptr(e.namelen))
		switch errno {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		return true
	}
}

// keepQueued is the capacity, in bytes, an emptied queue keeps.
const keepQueued = 64 << 10

// emptyLocked resets an emptied queue (keeping buffers up to
// keepQueued) and tells want.
func (q *sendQueue) emptyLocked() {
	q.data, q.head = q.data[:0], 0
	clear(q.ents)
	q.ents, q.first = q.ents[:0], 0
	if cap(q.data) > keepQueued {
		q.data, q.ents = nil, nil
	}
	q.pending.Store(0)
	if q.want != nil {
		q.want(false)
	}
}

// closeQueue frees the queue of a closed socket; its datagrams are
// dropped (not counted: the socket is gone).
func (c *Conn) closeQueue() {
	q := &c.sq
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.want = nil
	q.pending.Store(0)
	q.data, q.ents, q.head, q.first = nil, nil, 0, 0
}
