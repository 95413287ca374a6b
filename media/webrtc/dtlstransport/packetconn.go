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
// pion/dtls uses to cancel reads.
type PacketConn struct {
	send         func([]byte) error
	addr         net.Addr
	in           chan []byte
	readDeadline *deadline.Deadline
	closed       chan struct{}
	closeOnce    sync.Once
}

// NewPacketConn returns a conn whose writes call send and whose reads and
// writes report addr as the peer address.
func NewPacketConn(addr net.Addr, send func([]byte) error) *PacketConn {
	return &PacketConn{
		send:         send,
		addr:         addr,
		in:           make(chan []byte, queueLen),
		readDeadline: deadline.New(),
		closed:       make(chan struct{}),
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
	select {
	case c.in <- append([]byte(nil), b...):
		return true
	default:
		return false
	}
}

// ReadFrom returns the next queued record.
func (c *PacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	select {
	case b := <-c.in:
		return copy(p, b), c.addr, nil
	case <-c.readDeadline.Done():
		return 0, nil, os.ErrDeadlineExceeded
	case <-c.closed:
		return 0, nil, net.ErrClosed
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
