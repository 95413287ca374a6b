//go:build linux && (amd64 || arm64)

package udpio

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// CanDetach says Detach is supported (Linux).
const CanDetach = true

// fdRef is the descriptor of a detached socket with a reference count, so
// that Close never closes it under a concurrent syscall (whose descriptor
// number could otherwise be reused by another socket). It is the
// syscall.RawConn of a detached Conn.
type fdRef struct {
	fd int
	// state is refs<<1 | closed.
	state atomic.Int64
}

var _ syscall.RawConn = (*fdRef)(nil)

// incref takes a reference; false once the socket is closed.
func (r *fdRef) incref() bool {
	for {
		s := r.state.Load()
		if s&1 != 0 {
			return false
		}
		if r.state.CompareAndSwap(s, s+2) {
			return true
		}
	}
}

// decref drops a reference, closing the descriptor if it was the last
// one of a closed socket.
func (r *fdRef) decref() {
	if r.state.Add(-2) == 1 {
		_ = unix.Close(r.fd)
	}
}

// close marks the socket closed and closes the descriptor now or when
// the last syscall using it returns.
func (r *fdRef) close() error {
	old := r.state.Or(1)
	if old&1 != 0 {
		return net.ErrClosed
	}
	if old == 0 {
		return unix.Close(r.fd)
	}
	return nil
}

// Control runs f with the descriptor.
func (r *fdRef) Control(f func(fd uintptr)) error {
	if !r.incref() {
		return net.ErrClosed
	}
	defer r.decref()
	f(uintptr(r.fd))
	return nil
}

// Read runs f once: a detached socket is never waited on for reading
// here (its event loop does that); f finding nothing is errWouldBlock.
func (r *fdRef) Read(f func(fd uintptr) bool) error {
	if !r.incref() {
		return net.ErrClosed
	}
	defer r.decref()
	if !f(uintptr(r.fd)) {
		return errWouldBlock
	}
	return nil
}

// Write runs f once: a detached socket is never waited on for writing (its
// writer may be an event loop); f stopping on a full send buffer is
// ErrSendBufferFull, the rest of its datagrams dropped.
func (r *fdRef) Write(f func(fd uintptr) bool) error {
	if !r.incref() {
		return net.ErrClosed
	}
	defer r.decref()
	if !f(uintptr(r.fd)) {
		return ErrSendBufferFull
	}
	return nil
}

// errWouldBlock is a read of a detached socket that found nothing.
var errWouldBlock = fmt.Errorf("udpio: %w", syscall.EAGAIN)

// Detach takes the socket out of Go's network poller: from then on
// nothing in the runtime waits on it, an event loop watches FD and reads
// it with TryReadBatch (ReadBatch fails), and a write finding the send
// buffer full drops the datagrams it could not send at once
// (ErrSendBufferFull, counted by Dropped) instead of waiting, as an event
// loop must not; UDP senders cope with loss, and a full buffer means the
// path is congested anyway. Call
// it before the socket is used by other goroutines. Close closes the
// descriptor once no syscall uses it; remove FD from any epoll set
// before.
func (c *Conn) Detach() error {
	if c.det != nil {
		return nil
	}
	var nfd int
	var derr error
	if err := c.raw.Control(func(fd uintptr) {
		nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return fmt.Errorf("udpio: detach: %w", err)
	}
	if derr != nil {
		return fmt.Errorf("udpio: detach: %w", derr)
	}
	// The duplicate shares the open file (and O_NONBLOCK); closing the
	// original takes it out of the runtime's epoll set.
	if err := c.udp.Close(); err != nil {
		_ = unix.Close(nfd)
		return fmt.Errorf("udpio: detach: %w", err)
	}
	c.det = &fdRef{fd: nfd}
	c.raw = c.det
	return nil
}

// FromFD makes a detached Conn of an open, non-blocking datagram socket
// descriptor (such as one end of a Unix socketpair, whose send buffer,
// unlike loopback UDP's, fills); the Conn owns fd and closes it on Close.
func FromFD(fd int) *Conn {
	d := &fdRef{fd: fd}
	c := &Conn{det: d, raw: d}
	c.domain = socketDomain(d)
	return c
}

// FD is a detached socket's descriptor, for an epoll set (-1 if not
// detached). It is valid until Close.
func (c *Conn) FD() int {
	if c.det == nil {
		return -1
	}
	return c.det.fd
}

// TryReadBatch reads what a detached socket has, up to len(ms) datagrams,
// without waiting; 0 and no error when nothing is there.
func (c *Conn) TryReadBatch(ms []Message) (int, error) {
	if c.det == nil {
		return 0, ErrNotDetached
	}
	return c.TryReadBatchWith(nil, ms)
}

// TryReadBatchWith is TryReadBatch with scratch s (nil: the socket's
// own, made by its first read): an event loop reads all its sockets with
// one.
func (c *Conn) TryReadBatchWith(s *ReadScratch, ms []Message) (int, error) {
	if c.det == nil {
		return 0, ErrNotDetached
	}
	if len(ms) == 0 {
		return 0, nil
	}
	var b *batch
	if s != nil {
		b = s.b
	} else {
		b = c.ownScratch()
	}
	n, err := c.readBatch(b, ms)
	if errors.Is(err, errWouldBlock) {
		return 0, nil
	}
	return n, err
}

// detachedWriteTo is WriteTo on a detached socket.
func (c *Conn) detachedWriteTo(b []byte, addr netip.AddrPort) error {
	var sa unix.RawSockaddrInet6
	l, ok := c.encodeName(&sa, addr)
	if !ok {
		return errAddrFamily
	}
	return c.detachedSend(b, unsafe.Pointer(&sa), l)
}

// detachedSend sends b to the address in sa (nil: the connected peer).
func (c *Conn) detachedSend(b []byte, sa unsafe.Pointer, salen uint32) error {
	r := c.det
	if !r.incref() {
		return net.ErrClosed
	}
	defer r.decref()
	if queued, err := c.behindQueue(b, (*unix.RawSockaddrInet6)(sa), salen); queued {
		return err
	}
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	for {
		_, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(r.fd), uintptr(p), uintptr(len(b)),
			unix.MSG_DONTWAIT, uintptr(sa), uintptr(salen))
		switch e {
		case 0:
			return nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return c.queueOne(b, (*unix.RawSockaddrInet6)(sa), salen)
		}
		return e
	}
}

// Hold lends a detached socket's descriptor to a send made outside this
// package (an io_uring batch, media/internal/uring): the descriptor stays
// open, and its number cannot go to another socket, until Release. It
// fails when the socket is not detached, is closed, or holds queued
// datagrams, which later sends must follow (send those with Write, which
// queues behind them).
func (c *Conn) Hold() (fd int, ok bool) {
	if c.det == nil || c.queueing() || !c.det.incref() {
		return -1, false
	}
	return c.det.fd, true
}

// Release returns the descriptor Hold lent.
func (c *Conn) Release() { c.det.decref() }
