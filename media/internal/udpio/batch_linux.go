//go:build linux && (amd64 || arm64)

package udpio

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxBatch bounds the messages read by one recvmmsg call.
const maxBatch = 64

// batch holds the recvmmsg scratch state of the single reader. It is
// allocated once so that reads do not allocate.
type batch struct {
	hdrs  [maxBatch]unix.Mmsghdr
	iovs  [maxBatch]unix.Iovec
	names [maxBatch]unix.RawSockaddrInet6
	// Per-call state for readFn.
	n     int
	got   int
	errno syscall.Errno
	// readFn is the bound callback for RawConn.Read (bound once, so
	// passing it does not allocate).
	readFn func(fd uintptr) bool
}

func (b *batch) init() { b.readFn = b.recv }

func (b *batch) recv(fd uintptr) bool {
	r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd,
		uintptr(unsafe.Pointer(&b.hdrs[0])), uintptr(b.n), unix.MSG_DONTWAIT, 0, 0)
	if e == unix.EAGAIN || e == unix.EINTR {
		return false
	}
	b.got, b.errno = int(r), e
	return true
}

func (c *Conn) readBatch(ms []Message) (int, error) {
	b := &c.batch
	n := min(len(ms), maxBatch)
	for i := 0; i < n; i++ {
		buf := ms[i].Buf
		b.iovs[i].Base = unsafe.SliceData(buf)
		b.iovs[i].SetLen(len(buf))
		h := &b.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		h.Namelen = unix.SizeofSockaddrInet6
		h.Iov = &b.iovs[i]
		h.Iovlen = 1
		h.Control = nil
		h.Controllen = 0
		h.Flags = 0
		b.hdrs[i].Len = 0
	}
	b.n, b.got, b.errno = n, 0, 0
	if err := c.raw.Read(b.readFn); err != nil {
		return 0, err
	}
	if b.errno != 0 {
		return 0, b.errno
	}
	for i := 0; i < b.got; i++ {
		ms[i].N = int(b.hdrs[i].Len)
		ms[i].Addr = sockaddr(&b.names[i])
	}
	return b.got, nil
}

func sockaddr(sa *unix.RawSockaddrInet6) netip.AddrPort {
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa4.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port)
	case unix.AF_INET6:
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), port)
	}
	return netip.AddrPort{}
}

// writeBatch is the sendmmsg scratch state, shared by writers under mu.
type writeBatch struct {
	mu    sync.Mutex
	hdrs  [maxBatch]unix.Mmsghdr
	iovs  [maxBatch]unix.Iovec
	bufs  [][]byte
	sent  int
	errno syscall.Errno
	// sendFn is bound once so that passing it does not allocate.
	sendFn func(fd uintptr) bool
}

func (w *writeBatch) send(fd uintptr) bool {
	for w.sent < len(w.bufs) {
		n := len(w.bufs) - w.sent
		for i := 0; i < n; i++ {
			b := w.bufs[w.sent+i]
			w.iovs[i].Base = unsafe.SliceData(b)
			w.iovs[i].SetLen(len(b))
			w.hdrs[i] = unix.Mmsghdr{Hdr: unix.Msghdr{Iov: &w.iovs[i], Iovlen: 1}}
		}
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&w.hdrs[0])), uintptr(n), unix.MSG_DONTWAIT, 0, 0)
		switch {
		case e == unix.EAGAIN:
			return false // wait until writable
		case e == unix.EINTR:
			continue
		case e != 0:
			w.errno = e
			return true
		}
		w.sent += int(r)
	}
	return true
}

// writeBatchConnected sends every buffer to the connected peer with as
// few sendmmsg calls as possible.
func (c *Conn) writeBatchConnected(bufs [][]byte) error {
	w := &c.wbatch
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sendFn == nil {
		w.sendFn = w.send
	}
	for len(bufs) > 0 {
		n := min(len(bufs), maxBatch)
		w.bufs, w.sent, w.errno = bufs[:n], 0, 0
		if err := c.raw.Write(w.sendFn); err != nil {
			return err
		}
		if w.errno != 0 {
			return w.errno
		}
		bufs = bufs[n:]
	}
	w.bufs = nil
	return nil
}
