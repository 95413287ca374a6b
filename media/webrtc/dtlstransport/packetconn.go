package dtlstransport

import (
	"net"
	"os"
	"sync"
	"time"

	"github.com/pion/transport/v5/deadline"
)

// queueLen is how many DTLS records wait for the DTLS reader before new
// ones are dropped (the peer retransmits handshake flights).
const queueLen = 128

// PacketConn is the net.PacketConn pion/dtls runs on. Records arrive with
// [PacketConn.Push] from the socket readers; writes go to the send function,
// which sends on the selected ICE tuple. It honours SetReadDeadline, which
// pion/dtls uses to cancel reads. Its queue holds what waits, up to
// queueLen records (a channel of queueLen took 3 KiB on every transport,
// connected or not).
type PacketConn struct {
	send         func([]byte) error
	addr         net.Addr
	readDeadline *deadline.Deadline
	closed       chan struct{}
	closeOnce    sync.Once
	// ready has a value when records were pushed since the reader last
	// looked.
	ready chan struct{}

	// mu guards queue.
	mu    sync.Mutex
	queue [][]byte
}

// NewPacketConn returns a conn whose writes call send and whose reads and
// writes report addr as the peer address.
func NewPacketConn(addr net.Addr, send func([]byte) error) *PacketConn {
	return &PacketConn{
		send:         send,
		addr:         addr,
		readDeadline: deadline.New(),
		closed:       make(chan struct{}),
		ready:        make(chan struct{}, 1),
	}
}

// Push queues a copy of one received DTLS record. It returns false when the
// queue is full or the conn closed, and the record is dropped.
func (c *PacketConn) Push(b []byte) bool {
	select {
	case <-c.closed:
		return false
	default:
	}
	c.mu.Lock()
	if len(c.queue) >= queueLen {
		c.mu.Unlock()
		return false
	}
	c.queue = append(c.queue, append([]byte(nil), b...))
	c.mu.Unlock()
	select {
	case c.ready <- struct{}{}:
	default:
	}
	return true
}

// pop takes the oldest queued record; false if there is none.
func (c *PacketConn) pop() ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) == 0 {
		return nil, false
	}
	b := c.queue[0]
	n := copy(c.queue, c.queue[1:])
	c.queue[n] = nil
	c.queue = c.queue[:n]
	return b, true
}

// ReadFrom returns the next queued record.
func (c *PacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		select {
		case <-c.closed:
			return 0, nil, net.ErrClosed
		default:
		}
		if b, ok := c.pop(); ok {
			return copy(p, b), c.addr, nil
		}
		select {
		case <-c.ready:
		case <-c.readDeadline.Done():
			return 0, nil, os.ErrDeadlineExceeded
		case <-c.closed:
			return 0, nil, net.ErrClosed
		}
	}
}

// WriteTo sends p on the selected tuple; addr is ignored.
func (c *PacketConn) WriteTo(p []byte, _ net.Addr) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	if err := c.send(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close unblocks readers and makes later calls fail. It is idempotent.
func (c *PacketConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}

// LocalAddr returns the peer placeholder address.
func (c *PacketConn) LocalAddr() net.Addr { return c.addr }

// SetDeadline sets the read deadline; writes never block.
func (c *PacketConn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

// SetReadDeadline makes pending and future reads fail at t.
func (c *PacketConn) SetReadDeadline(t time.Time) error {
	c.readDeadline.Set(t)
	return nil
}

// SetWriteDeadline is a no-op: writes never block.
func (c *PacketConn) SetWriteDeadline(time.Time) error { return nil }
