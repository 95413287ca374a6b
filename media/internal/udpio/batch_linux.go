//go:build linux && (amd64 || arm64)

package udpio

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Batches says ReadBatch and WriteBatch use recvmmsg and sendmmsg (else
// they read one datagram and loop over writes).
const Batches = true

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

// newBatch makes a read scratch with its callback bound.
func newBatch() *batch {
	b := &batch{}
	b.readFn = b.recv
	return b
}

func (b *batch) recv(fd uintptr) bool {
	// Raw: MSG_DONTWAIT never blocks, and the runtime need not know.
	r, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, fd,
		uintptr(unsafe.Pointer(&b.hdrs[0])), uintptr(b.n), unix.MSG_DONTWAIT, 0, 0)
	if e == unix.EAGAIN || e == unix.EINTR {
		return false
	}
	b.got, b.errno = int(r), e
	return true
}

func (c *Conn) readBatch(b *batch, ms []Message) (int, error) {
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
		ms[i].Truncated = b.hdrs[i].Hdr.Flags&unix.MSG_TRUNC != 0
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
		ip := netip.AddrFrom16(sa.Addr).Unmap()
		if sa.Scope_id != 0 && ip.Is6() {
			ip = ip.WithZone(zoneName(sa.Scope_id))
		}
		return netip.AddrPortFrom(ip, port)
	}
	return netip.AddrPort{}
}

// writeBatch is the sendmmsg scratch state, shared by writers under mu.
// Its arrays are made by the first batched write and grown (up to
// maxBatch entries) to the largest batch since: a socket that never
// writes batches holds none.
type writeBatch struct {
	// mu guards the fields below.
	mu    sync.Mutex
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	bufs  [][]byte
	sent  int
	errno syscall.Errno
	// name and namelen are the destination of an unconnected batch
	// (namelen 0: the connected peer).
	name    unix.RawSockaddrInet6
	namelen uint32
	// perMsg says each message i has its own destination names[i]
	// (WriteMessages).
	perMsg   bool
	names    []unix.RawSockaddrInet6
	namelens []uint32
	mbufs    [][]byte
	// sendFn is bound once so that passing it does not allocate.
	sendFn func(fd uintptr) bool
}

// minWriteBatch is the smallest size the write arrays are made with.
const minWriteBatch = 8

// reserve makes room for batches of n messages (n ≤ maxBatch), with
// their own destinations if perMsg. Call with mu held.
func (w *writeBatch) reserve(n int, perMsg bool) {
	if w.sendFn == nil {
		w.sendFn = w.send
	}
	if len(w.hdrs) < n {
		size := grownSize(len(w.hdrs), n)
		w.hdrs, w.iovs = make([]unix.Mmsghdr, size), make([]unix.Iovec, size)
	}
	if perMsg && len(w.names) < n {
		size := grownSize(len(w.names), n)
		w.names, w.namelens, w.mbufs = make([]unix.RawSockaddrInet6, size), make([]uint32, size), make([][]byte, size)
	}
}

// grownSize is the new length of an array of length have that must hold
// need entries: doubled, at least minWriteBatch, at most maxBatch.
func grownSize(have, need int) int {
	return min(maxBatch, max(need, 2*have, minWriteBatch))
}

func (w *writeBatch) send(fd uintptr) bool {
	for w.sent < len(w.bufs) {
		n := len(w.bufs) - w.sent
		for i := 0; i < n; i++ {
			b := w.bufs[w.sent+i]
			w.iovs[i].Base = unsafe.SliceData(b)
			w.iovs[i].SetLen(len(b))
			w.hdrs[i] = unix.Mmsghdr{Hdr: unix.Msghdr{Iov: &w.iovs[i], Iovlen: 1}}
			if w.perMsg {
				w.hdrs[i].Hdr.Name = (*byte)(unsafe.Pointer(&w.names[w.sent+i]))
				w.hdrs[i].Hdr.Namelen = w.namelens[w.sent+i]
			} else if w.namelen != 0 {
				w.hdrs[i].Hdr.Name = (*byte)(unsafe.Pointer(&w.name))
				w.hdrs[i].Hdr.Namelen = w.namelen
			}
		}
		r, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&w.hdrs[0])), uintptr(n), unix.MSG_DONTWAIT, 0, 0)
		switch {
		case e == unix.EAGAIN:
			return false // wait until writable
		case e == unix.EINTR:
			continue
		case e != 0 && w.perMsg:
			// The first message failed (its own destination, e.g.
			// unreachable): skip it, send the others.
			if w.errno == 0 {
				w.errno = e
			}
			w.sent++
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
	w.namelen, w.perMsg = 0, false
	return c.writeBatchLocked(bufs)
}

// writeMessages sends each message to its own address with as few
// sendmmsg calls as possible; messages to addresses of the wrong family
// are skipped (errAddrFamily).
func (c *Conn) writeMessages(ms []OutMessage) error {
	w := &c.wbatch
	w.mu.Lock()
	defer w.mu.Unlock()
	w.reserve(min(len(ms), maxBatch), true)
	w.perMsg = true
	defer func() { w.perMsg = false }()
	bufs := w.mbufs
	var first error
	for len(ms) > 0 {
		n := 0
		used := 0
		for _, m := range ms {
			if n == maxBatch {
				break
			}
			used++
			l, ok := c.encodeName(&w.names[n], m.Addr)
			if !ok {
				if first == nil {
					first = errAddrFamily
				}
				continue
			}
			w.namelens[n], bufs[n] = l, m.Buf
			n++
		}
		if n > 0 {
			if err := c.writeBatchLocked(bufs[:n]); err != nil && first == nil {
				first = err
			}
		}
		ms = ms[used:]
	}
	clear(bufs)
	return first
}

// writeBatchTo sends every buffer to addr with as few sendmmsg calls as
// possible.
func (c *Conn) writeBatchTo(bufs [][]byte, addr netip.AddrPort) error {
	w := &c.wbatch
	w.mu.Lock()
	defer w.mu.Unlock()
	w.perMsg = false
	if !c.setName(addr) {
		w.namelen = 0
		return errAddrFamily
	}
	return c.writeBatchLocked(bufs)
}

// setName encodes addr as the batch destination in the socket's address
// family (IPv4 addresses as v4-mapped on an IPv6 socket).
func (c *Conn) setName(addr netip.AddrPort) bool {
	w := &c.wbatch
	var ok bool
	w.namelen, ok = c.encodeName(&w.name, addr)
	return ok
}

// encodeName encodes addr into sa in the socket's address family and
// returns its length.
func (c *Conn) encodeName(sa *unix.RawSockaddrInet6, addr netip.AddrPort) (uint32, bool) {
	ip := addr.Addr()
	*sa = unix.RawSockaddrInet6{}
	if c.domain == unix.AF_INET {
		if !ip.Unmap().Is4() {
			return 0, false
		}
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		sa4.Family = unix.AF_INET
		sa4.Addr = ip.Unmap().As4()
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa4.Port))[:], addr.Port())
		return unix.SizeofSockaddrInet4, true
	}
	sa.Family = unix.AF_INET6
	sa.Addr = ip.As16()
	if ip.Is6() {
		sa.Scope_id = zoneID(ip.Zone())
	}
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], addr.Port())
	return unix.SizeofSockaddrInet6, true
}

// zoneID is the interface index of an IPv6 zone ("" is 0).
func zoneID(zone string) uint32 {
	if zone == "" {
		return 0
	}
	if ifi, err := net.InterfaceByName(zone); err == nil {
		return uint32(ifi.Index)
	}
	n, _ := strconv.Atoi(zone)
	return uint32(n)
}

// zoneName is the IPv6 zone of an interface index (link-local senders
// only: it may allocate).
func zoneName(index uint32) string {
	if ifi, err := net.InterfaceByIndex(int(index)); err == nil {
		return ifi.Name
	}
	return strconv.Itoa(int(index))
}

// socketDomain returns the socket's address family (AF_INET or AF_INET6).
func socketDomain(raw syscall.RawConn) int {
	domain := unix.AF_INET6
	_ = raw.Control(func(fd uintptr) {
		if d, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DOMAIN); err == nil {
			domain = d
		}
	})
	return domain
}

// writeBatchLocked sends bufs to w's destination; call with w.mu held.
// On a detached socket with a send queue (EnableSendQueue), what the
// full send buffer refuses, and everything while datagrams wait, is
// queued behind them.
func (c *Conn) writeBatchLocked(bufs [][]byte) error {
	w := &c.wbatch
	if c.det != nil {
		if queued, err := c.queueBatch(bufs, 0, false); queued {
			return err
		}
	}
	done := 0
	for len(bufs) > 0 {
		n := min(len(bufs), maxBatch)
		w.reserve(n, false)
		w.bufs, w.sent, w.errno = bufs[:n], 0, 0
		err := c.raw.Write(w.sendFn)
		sent := w.sent
		w.bufs = nil
		if err == ErrSendBufferFull { // detached: queue or drop the rest
			_, err = c.queueBatch(bufs[sent:], done+sent, true)
			return err
		}
		if err != nil {
			return err
		}
		if w.errno != 0 {
			return w.errno
		}
		bufs = bufs[n:]
		done += n
	}
	return nil
}
