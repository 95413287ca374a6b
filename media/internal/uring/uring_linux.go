//go:build linux && (amd64 || arm64)

package uring

import (
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Supported reports whether this build can use io_uring (the kernel may
// still refuse it: New says so).
const Supported = true

// ErrFull is Add's error when the ring holds as many sends as it can.
var ErrFull = errors.New("uring: submission ring full")

const (
	opSendmsg        = 9          // IORING_OP_SENDMSG
	enterGetEvents   = 1          // IORING_ENTER_GETEVENTS
	offSQRing        = 0          // IORING_OFF_SQ_RING
	offCQRing        = 0x8000000  // IORING_OFF_CQ_RING
	offSQEs          = 0x10000000 // IORING_OFF_SQES
	featSingleMmap   = 1          // IORING_FEAT_SINGLE_MMAP
	sqeSize, cqeSize = 64, 16
)

// params is struct io_uring_params.
type params struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  sqOffsets
	cqOff                                                                  cqOffsets
}

// sqOffsets is struct io_sqring_offsets.
type sqOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

// cqOffsets is struct io_cqring_offsets.
type cqOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

// sqe is struct io_uring_sqe, as a sendmsg uses it.
type sqe struct {
	opcode, flags uint8
	ioprio        uint16
	fd            int32
	off, addr     uint64
	len, msgFlags uint32
	userData      uint64
	_             [3]uint64
}

// cqe is struct io_uring_cqe.
type cqe struct {
	userData uint64
	res      int32
	flags    uint32
}

// Ring is an io_uring for batches of sends.
type Ring struct {
	fd       int
	ringMem  []byte
	sqeMem   []byte
	sqHead   *uint32
	sqTail   *uint32
	sqMask   uint32
	sqArray  []uint32
	sqes     []sqe
	cqHead   *uint32
	cqTail   *uint32
	cqMask   uint32
	cqes     []cqe
	capacity int

	// The queued sends: their messages and buffers stay referenced here
	// until Submit returns (the kernel reads them during it).
	msgs    []unix.Msghdr
	iovs    []unix.Iovec
	results []int32
	queued  int
}

// New sets up a ring for up to entries sends per Submit (rounded up to
// a power of two by the kernel).
func New(entries int) (*Ring, error) {
	var p params
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, fmt.Errorf("uring: io_uring_setup: %w", errno)
	}
	r := &Ring{fd: int(fd)}
	if err := r.mapRings(&p); err != nil {
		unix.Close(r.fd)
		return nil, err
	}
	r.capacity = int(min(p.sqEntries, p.cqEntries))
	r.msgs = make([]unix.Msghdr, r.capacity)
	r.iovs = make([]unix.Iovec, r.capacity)
	r.results = make([]int32, r.capacity)
	return r, nil
}

// mapRings maps the submission and completion rings and the entries.
func (r *Ring) mapRings(p *params) error {
	if p.features&featSingleMmap == 0 {
		return fmt.Errorf("uring: kernel without IORING_FEAT_SINGLE_MMAP: %w", errors.ErrUnsupported)
	}
	size := max(p.sqOff.array+p.sqEntries*4, p.cqOff.cqes+p.cqEntries*cqeSize)
	var err error
	if r.ringMem, err = unix.Mmap(r.fd, offSQRing, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return fmt.Errorf("uring: map rings: %w", err)
	}
	if r.sqeMem, err = unix.Mmap(r.fd, offSQEs, int(p.sqEntries)*sqeSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		unix.Munmap(r.ringMem)
		return fmt.Errorf("uring: map entries: %w", err)
	}
	at := func(off uint32) unsafe.Pointer { return unsafe.Pointer(&r.ringMem[off]) }
	r.sqHead, r.sqTail = (*uint32)(at(p.sqOff.head)), (*uint32)(at(p.sqOff.tail))
	r.sqMask = *(*uint32)(at(p.sqOff.ringMask))
	r.sqArray = unsafe.Slice((*uint32)(at(p.sqOff.array)), p.sqEntries)
	r.cqHead, r.cqTail = (*uint32)(at(p.cqOff.head)), (*uint32)(at(p.cqOff.tail))
	r.cqMask = *(*uint32)(at(p.cqOff.ringMask))
	r.cqes = unsafe.Slice((*cqe)(at(p.cqOff.cqes)), p.cqEntries)
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&r.sqeMem[0])), p.sqEntries)
	return nil
}

// Capacity is the most sends one Submit takes.
func (r *Ring) Capacity() int { return r.capacity }

// Queued is the number of sends Add queued since the last Submit.
func (r *Ring) Queued() int { return r.queued }

// Add queues a send of b on fd, a connected datagram socket. b must not
// change until Submit returns.
func (r *Ring) Add(fd int, b []byte) error {
	if r.queued == r.capacity {
		return ErrFull
	}
	i := r.queued
	r.iovs[i] = unix.Iovec{Base: unsafe.SliceData(b)}
	r.iovs[i].SetLen(len(b))
	r.msgs[i] = unix.Msghdr{Iov: &r.iovs[i]}
	r.msgs[i].SetIovlen(1)
	tail := atomic.LoadUint32(r.sqTail) + uint32(i)
	idx := tail & r.sqMask
	r.sqes[idx] = sqe{opcode: opSendmsg, fd: int32(fd), addr: uint64(uintptr(unsafe.Pointer(&r.msgs[i]))),
		len: 1, msgFlags: unix.MSG_DONTWAIT, userData: uint64(i)}
	r.sqArray[idx] = idx
	r.queued++
	return nil
}

// Submit hands the queued sends to the kernel and waits until each has
// completed; Result(i) is then the ith's outcome. It returns the number
// submitted. When io_uring_enter fails, the sends the kernel had not
// taken are withdrawn and their results are syscall.ECANCELED.
func (r *Ring) Submit() (int, error) {
	n := r.queued
	if n == 0 {
		return 0, nil
	}
	for i := range n {
		r.results[i] = -int32(syscall.ECANCELED)
	}
	tail := atomic.LoadUint32(r.sqTail) + uint32(n)
	atomic.StoreUint32(r.sqTail, tail)
	defer func() {
		r.queued = 0
		clear(r.iovs[:n]) // let the buffers go
	}()
	done := 0
	for done < n {
		// The entries the kernel has not taken yet (all at first; none
		// after an interrupted wait, which follows their submission).
		toSubmit := tail - atomic.LoadUint32(r.sqHead)
		// Raw: the sends are non-blocking and complete within the call;
		// telling the scheduler of a system call (Syscall) wakes sysmon,
		// a context switch per turn of a worker on one P.
		_, _, errno := unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), uintptr(n-done), enterGetEvents, 0, 0)
		if errno != 0 && errno != syscall.EINTR {
			taken := n - int(tail-atomic.LoadUint32(r.sqHead))
			atomic.StoreUint32(r.sqTail, atomic.LoadUint32(r.sqHead))
			done += r.reap()
			return taken, fmt.Errorf("uring: io_uring_enter: %w", errno)
		}
		done += r.reap()
	}
	return n, nil
}

// reap records the completions the kernel posted and returns how many.
func (r *Ring) reap() int {
	head, tail := atomic.LoadUint32(r.cqHead), atomic.LoadUint32(r.cqTail)
	n := 0
	for ; head != tail; head++ {
		c := &r.cqes[head&r.cqMask]
		r.results[c.userData] = c.res
		n++
	}
	atomic.StoreUint32(r.cqHead, head)
	return n
}

// Result is the outcome of the ith send of the last Submit: nil once
// sent, else the error (syscall.EAGAIN when the socket's buffer was
// full, syscall.ECANCELED when it was withdrawn).
func (r *Ring) Result(i int) error {
	if res := r.results[i]; res < 0 {
		return syscall.Errno(-res)
	}
	return nil
}

// Close releases the ring.
func (r *Ring) Close() error {
	unix.Munmap(r.sqeMem)
	unix.Munmap(r.ringMem)
	return unix.Close(r.fd)
}
