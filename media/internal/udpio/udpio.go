// Package udpio is the UDP socket layer of the media path: one socket per
// transport port, read in batches (recvmmsg on Linux) without allocating,
// written one datagram at a time with netip addresses or in batches
// (sendmmsg on Linux) to the connected peer or to one address.
//
// A Conn has a single reader (the transport's read loop, or an event loop
// reading many detached sockets: Detach); writes may come from any
// goroutine.
package udpio

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
)

// Message is one datagram slot for ReadBatch.
type Message struct {
	// Buf receives the datagram; the caller provides it.
	Buf []byte
	// N is the number of bytes received into Buf.
	N int
	// Addr is the sender's address.
	Addr netip.AddrPort
	// Truncated says the datagram was larger than Buf and cut (recvmmsg
	// only).
	Truncated bool
}

// socketBuffer is the kernel buffer size asked for each socket, so bursts
// to many consumers are not dropped.
const socketBuffer = 4 << 20

// Conn is a UDP socket.
type Conn struct {
	udp *net.UDPConn
	// raw is udp's, or det once detached.
	raw syscall.RawConn
	// det is the descriptor of a detached socket (Detach), else nil.
	det   *fdRef
	local netip.AddrPort
	// domain is the socket's address family (AF_INET or AF_INET6; 0
	// where batches are not supported).
	domain int
	// rb is the recvmmsg scratch of ReadBatch and TryReadBatch, made by
	// the first read (there is a single reader); an event loop reading
	// many detached sockets passes its own (TryReadBatchWith) and none
	// is made.
	rb *batch
	// wbatch is the sendmmsg scratch, grown by batched writes to the
	// largest batch written (none until the first).
	wbatch writeBatch
	// dropped counts the datagrams a detached socket dropped on a full
	// send buffer (ErrSendBufferFull).
	dropped atomic.Uint64
	// sq queues what a detached socket's full send buffer refused
	// (EnableSendQueue).
	sq sendQueue
}

// errAddrFamily means an IPv6 destination for an IPv4 socket.
var errAddrFamily = errors.New("udpio: address family mismatch")

// Listen opens a UDP socket on ip (unspecified for any) and port (0 for an
// ephemeral port). network is "udp", "udp4" or "udp6".
func Listen(network string, ip netip.Addr, port uint16) (*Conn, error) {
	addr := net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, port))
	udp, err := net.ListenUDP(network, addr)
	if err != nil {
		return nil, fmt.Errorf("udpio: listen %s: %w", addr, err)
	}
	return wrap(udp)
}

func wrap(udp *net.UDPConn) (*Conn, error) {
	_ = udp.SetReadBuffer(socketBuffer)
	_ = udp.SetWriteBuffer(socketBuffer)
	c, err := Wrap(udp)
	if err != nil {
		udp.Close()
	}
	return c, err
}

// Wrap makes a Conn of an open UDP socket, leaving its buffer sizes as
// they are; closing either closes both.
func Wrap(udp *net.UDPConn) (*Conn, error) {
	raw, err := udp.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("udpio: %w", err)
	}
	return &Conn{udp: udp, raw: raw, domain: socketDomain(raw), local: udp.LocalAddr().(*net.UDPAddr).AddrPort()}, nil
}

// LocalAddr returns the socket's bound address.
func (c *Conn) LocalAddr() netip.AddrPort { return c.local }

// WriteTo sends b to addr.
func (c *Conn) WriteTo(b []byte, addr netip.AddrPort) error {
	if c.det != nil {
		return c.detachedWriteTo(b, addr)
	}
	_, err := c.udp.WriteToUDPAddrPort(b, addr)
	return err
}

// Close closes the socket; a blocked ReadBatch returns net.ErrClosed.
func (c *Conn) Close() error {
	if c.det != nil {
		c.closeQueue()
		return c.det.close()
	}
	return c.udp.Close()
}

// ReadBatch blocks until at least one datagram arrives and fills up to
// len(ms) messages. It returns the number filled.
func (c *Conn) ReadBatch(ms []Message) (int, error) {
	if c.det != nil {
		return 0, ErrDetached
	}
	if len(ms) == 0 {
		return 0, nil
	}
	return c.readBatch(c.ownScratch(), ms)
}

// ReadScratch is the state of one batched read (recvmmsg's headers), for
// a reader that reads many detached sockets one at a time
// (TryReadBatchWith): they then hold none each.
type ReadScratch struct{ b *batch }

// NewReadScratch makes the scratch of one reader; it must not be used by
// two reads at once.
func NewReadScratch() *ReadScratch { return &ReadScratch{b: newBatch()} }

// ownScratch is the socket's own read scratch, made by the first read.
func (c *Conn) ownScratch() *batch {
	if c.rb == nil {
		c.rb = newBatch()
	}
	return c.rb
}

// readOne is the portable fallback of readBatch.
func (c *Conn) readOne(ms []Message) (int, error) {
	n, addr, err := c.udp.ReadFromUDPAddrPort(ms[0].Buf)
	if err != nil {
		return 0, err
	}
	ms[0].N = n
	ms[0].Addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	return 1, nil
}

// Sentinel errors.
var (
	// ErrDetached means a blocking read of a detached socket (Detach),
	// which only TryReadBatch reads.
	ErrDetached = errors.New("udpio: socket is detached: read it with TryReadBatch")
	// ErrNotDetached means TryReadBatch on a socket that is not.
	ErrNotDetached = errors.New("udpio: socket is not detached")
	// ErrSendBufferFull means a write to a detached socket found its send
	// buffer full and dropped the datagrams it had not sent (counted by
	// Dropped), without a send queue or beyond its bound
	// (EnableSendQueue): an event loop never waits on a socket.
	ErrSendBufferFull = fmt.Errorf("udpio: send buffer full, datagram dropped: %w", syscall.EAGAIN)
)

// Dropped is the number of datagrams the socket dropped on a full send
// buffer (detached sockets only: others wait for room), beyond its send
// queue's bound if it has one (EnableSendQueue).
func (c *Conn) Dropped() uint64 { return c.dropped.Load() }

// IsClosed reports whether err means the socket was closed.
func IsClosed(err error) bool { return errors.Is(err, net.ErrClosed) }

// Connect fixes the socket's remote address (connect(2)): the kernel then
// skips the route lookup on each send and drops datagrams from any other
// address. Use Write afterwards.
func (c *Conn) Connect(addr netip.AddrPort) error {
	var cerr error
	err := c.raw.Control(func(fd uintptr) { cerr = connectFD(fd, c.domain, addr) })
	if err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("udpio: connect %s: %w", addr, err)
	}
	return nil
}

// Write sends b to the address given to Connect.
func (c *Conn) Write(b []byte) error {
	if c.det != nil {
		return c.detachedSend(b, nil, 0)
	}
	_, err := c.udp.Write(b)
	return err
}

// WriteBatchTo sends every buffer, in order, to addr on an unconnected
// socket, using sendmmsg where available. It is safe for concurrent use
// and does not allocate.
func (c *Conn) WriteBatchTo(bufs [][]byte, addr netip.AddrPort) error {
	if len(bufs) == 0 {
		return nil
	}
	return c.writeBatchTo(bufs, addr)
}

// OutMessage is one datagram for WriteMessages.
type OutMessage struct {
	Buf  []byte
	Addr netip.AddrPort
}

// WriteMessages sends each message to its own address, in order, on an
// unconnected socket, using sendmmsg where available (64 messages per
// call). A message that cannot be sent does not stop the others; the
// first error is returned. It is safe for concurrent use and does not
// allocate.
func (c *Conn) WriteMessages(ms []OutMessage) error {
	if len(ms) == 0 {
		return nil
	}
	return c.writeMessages(ms)
}

// WriteBatch sends every buffer to the address given to Connect, using
// sendmmsg where available. It is safe for concurrent use.
func (c *Conn) WriteBatch(bufs [][]byte) error {
	if len(bufs) == 1 {
		return c.Write(bufs[0])
	}
	return c.writeBatchConnected(bufs)
}
