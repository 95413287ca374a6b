//go:build linux && (amd64 || arm64)

package evloop

import (
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ropehq/rope/media/internal/udpio"
)

// Supported says New works here.
const Supported = true

// maxEvents bounds the events one epoll_wait returns.
const maxEvents = 128

// wakeSlot marks the eventfd's events.
const wakeSlot = -1

// Loop is a worker's event loop.
type Loop struct {
	opts Options
	epfd int
	// efd is an eventfd in the epoll set: written to wake the loop
	// (Close, a timer due before the loop's deadline).
	efd int
	// epf is epfd as a file in Go's poller and rc its RawConn; deadline
	// is epf's read deadline (loop clock, 0: none).
	epf      *os.File
	rc       syscall.RawConn
	deadline int64
	// turnFn is l.runTurn, bound once; stopped is set once the loop saw
	// that it is closed; more says a socket may have more than the turn
	// read; woken says the turn's events include a Wake.
	turnFn  func(fd uintptr) bool
	stopped bool
	more    bool
	woken   bool
	// Scratch of the loop's goroutine.
	ms     []udpio.Message
	bufs   [][]byte
	events []unix.EpollEvent
	ready  []*Registration
	// writable are the turn's sockets reported writable (EPOLLOUT, only
	// watched while their send queue holds datagrams).
	writable []*Registration
	due      []*Timer
	done     chan struct{}
	// gid is the loop goroutine's ID (0 until it runs).
	gid atomic.Uint64

	// scratch is the recvmmsg state of every socket's reads (loop
	// goroutine only), so that the sockets hold none.
	scratch *udpio.ReadScratch

	// mu guards the fields below. The loop holds it to pick a turn's
	// work and to end the turn, never while it runs a handler or timer.
	// A socket's send-queue lock (udpio) comes before it
	// (Registration.wantWrite); nothing in udpio is called under it
	// that takes that lock.
	mu sync.Mutex
	// regs are the registrations by slot (nil: free); gens the slots'
	// generations, so that an event of a removed registration never
	// reaches the one that reuses its slot.
	regs []*Registration
	gens []uint32
	free []int32
	// timers is a heap on next.
	timers timerHeap
	// inTurn says the loop is running handlers, timers or TurnEnd; turn
	// counts turns; waiters counts Remove and Stop calls waiting on
	// turnDone for the turn to end.
	inTurn   bool
	turn     uint64
	waiters  int
	turnDone sync.Cond
	// sleepUntil is the deadline of the loop's wait (MaxInt64: none).
	sleepUntil int64
	closed     bool
	// dropped counts the send drops of removed sockets (SendDropped).
	dropped uint64
}

// Registration is a socket in a Loop.
type Registration struct {
	l       *Loop
	conn    *udpio.Conn
	h       Handler
	fd      int
	slot    int32
	gen     uint32
	removed atomic.Bool
}

// New starts a loop.
func New(opts *Options) (*Loop, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	o.defaults()
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("evloop: epoll_create1: %w", err)
	}
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("evloop: eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: wakeSlot}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, efd, &ev); err != nil {
		unix.Close(efd)
		unix.Close(epfd)
		return nil, fmt.Errorf("evloop: epoll_ctl: %w", err)
	}
	l := &Loop{opts: o, epfd: epfd, efd: efd, events: make([]unix.EpollEvent, maxEvents),
		done: make(chan struct{}), sleepUntil: math.MaxInt64}
	l.turnDone.L = &l.mu
	if err := l.openPoller(); err != nil {
		unix.Close(efd)
		unix.Close(epfd)
		return nil, err
	}
	mem := make([]byte, o.Batch*o.BufSize)
	l.scratch = udpio.NewReadScratch()
	l.ms = make([]udpio.Message, o.Batch)
	l.bufs = make([][]byte, o.Batch)
	for i := range l.ms {
		l.bufs[i] = mem[i*o.BufSize : (i+1)*o.BufSize : (i+1)*o.BufSize]
		l.ms[i].Buf = l.bufs[i]
	}
	go l.run()
	return l, nil
}

// Add watches a detached socket (udpio.Conn.Detach): its datagrams go to
// h on the loop's goroutine until Remove.
func (l *Loop) Add(c *udpio.Conn, h Handler) (*Registration, error) {
	fd := c.FD()
	if fd < 0 {
		return nil, fmt.Errorf("evloop: add: %w", udpio.ErrNotDetached)
	}
	r, err := l.add(c, h, fd)
	if err == nil && l.opts.SendQueue > 0 {
		// Outside mu: the queue's lock comes before it.
		c.EnableSendQueue(l.opts.SendQueue, r.wantWrite)
	}
	return r, err
}

// add puts c in the epoll set and a slot.
func (l *Loop) add(c *udpio.Conn, h Handler, fd int) (*Registration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	var slot int32
	if n := len(l.free); n > 0 {
		slot, l.free = l.free[n-1], l.free[:n-1]
	} else {
		slot = int32(len(l.regs))
		l.regs = append(l.regs, nil)
		l.gens = append(l.gens, 0)
	}
	l.gens[slot]++
	r := &Registration{l: l, conn: c, h: h, fd: fd, slot: slot, gen: l.gens[slot]}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: slot, Pad: int32(r.gen)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		l.free = append(l.free, slot)
		return nil, fmt.Errorf("evloop: epoll_ctl add: %w", err)
	}
	l.regs[slot] = r
	return r, nil
}

// wantWrite watches r's socket for writability too (want) or no longer:
// its send queue became non-empty or empty. The socket's queue calls it
// with its lock held (a lock taken before l.mu).
func (r *Registration) wantWrite(want bool) {
	l := r.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || r.removed.Load() {
		return
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: r.slot, Pad: int32(r.gen)}
	if want {
		ev.Events |= unix.EPOLLOUT
	}
	// Adding EPOLLOUT to a writable socket makes the epoll descriptor
	// readable, which wakes the loop from Go's poller.
	_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_MOD, r.fd, &ev)
}

// SendDropped is the number of datagrams the loop's sockets (also those
// removed since) dropped on a full send buffer, beyond their send
// queue's bound.
func (l *Loop) SendDropped() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.dropped
	for _, r := range l.regs {
		if r != nil {
			n += r.conn.Dropped()
		}
	}
	return n
}

// Remove stops watching the socket and returns once its handler is not
// running and never will again (on the loop's goroutine, from within a
// handler, it returns at once: the calling handler is the only one
// running). Close the socket after (a datagram still in its send queue
// is no longer flushed; Close frees the queue). Remove is idempotent.
func (r *Registration) Remove() {
	l := r.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.removed.Swap(true) {
		return
	}
	l.regs[r.slot] = nil
	l.free = append(l.free, r.slot)
	l.dropped += r.conn.Dropped()
	if !l.closed {
		// Before the socket is closed: its descriptor is not reused yet.
		_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, r.fd, nil)
	}
	l.waitTurnLocked()
}

// waitTurnLocked waits, if the loop is in a turn and this is not the
// loop's goroutine, until that turn ends. Call with mu held.
func (l *Loop) waitTurnLocked() {
	if !l.inTurn || l.gid.Load() == goid() {
		return
	}
	t := l.turn
	l.waiters++
	for l.turn == t {
		l.turnDone.Wait()
	}
	l.waiters--
}

// wakeLocked makes the loop's wait return. Call with mu held and the
// loop open (the loop closes efd only once closed is set).
func (l *Loop) wakeLocked() {
	one := [8]byte{1}
	_, _ = unix.Write(l.efd, one[:])
}

// Wake makes the loop run a turn (and Options.TurnEnd) soon; any
// goroutine may call it. It does not allocate.
func (l *Loop) Wake() {
	l.mu.Lock()
	if !l.closed {
		l.wakeLocked()
	}
	l.mu.Unlock()
}

// Close stops the loop and waits for its goroutine (from the loop's own
// goroutine it returns at once; the loop stops after the current turn).
// Sockets still registered are not read any more; their owners still
// Remove and close them. Close is idempotent.
func (l *Loop) Close() error {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		l.wakeLocked()
	}
	l.mu.Unlock()
	if l.gid.Load() == goid() {
		return nil
	}
	<-l.done
	return nil
}

// Done is closed when the loop's goroutine has ended.
func (l *Loop) Done() <-chan struct{} { return l.done }

func (l *Loop) run() {
	defer close(l.done)
	defer l.shutdown()
	defer l.recoverAs("event loop")
	l.gid.Store(goid())
	for !l.stopped {
		l.arm()
		// RawRead calls turnFn, then parks in the poller while it
		// returns false: the goroutine stays in one RawRead from wake-up
		// to wake-up, so an edge the poller saw during a turn is never
		// reset (as a new RawRead's prepareRead would) and a wake-up
		// whose turn drains the sockets costs one epoll_wait of ours
		// beside the runtime's (runTurn says when it goes on instead).
		err := l.rc.Read(l.turnFn)
		switch {
		case err == nil: // stopped
		case errors.Is(err, os.ErrDeadlineExceeded):
			// RawRead returns this without calling turnFn when the
			// deadline passed before it asked the poller (a turn longer
			// than the next timer's period): the turn reads the sockets
			// too, or a busy loop would run only its timers.
			l.deadline = -1 // set it again
			l.runTurn(0)
		default:
			panic(fmt.Sprintf("evloop: waiting on epoll: %v", err))
		}
	}
}

// runTurn runs the loop's turns (it is the poller's read function):
// each reads the ready sockets, runs the due timers and TurnEnd, and sets
// the deadline for the next timer. It runs turns while a socket may have
// more than its turn read, since the poller, edge-triggered on the epoll
// descriptor, reports only what arrives after; then it returns false to
// park until then. It returns true only once the loop is closed.
func (l *Loop) runTurn(uintptr) bool {
	for {
		if !l.turnOn(l.epollNow()) {
			return true
		}
		if !l.more {
			return false
		}
	}
}

// turnOn runs a turn on the first n of l.events; false once the loop is
// closed.
func (l *Loop) turnOn(n int) bool {
	if !l.startTurn(n, monotonic()) {
		l.stopped = true
		return false
	}
	// A full set of events may leave others out.
	l.more = n == len(l.events)
	if len(l.ready) > 0 || len(l.due) > 0 || len(l.writable) > 0 || l.woken {
		// Queued datagrams first: the turn's sends go behind them.
		for _, r := range l.writable {
			if !r.removed.Load() {
				r.conn.FlushSendQueue()
			}
		}
		for _, r := range l.ready {
			if !r.removed.Load() {
				l.read(r)
			}
		}
		for _, t := range l.due {
			if !t.stopped.Load() {
				l.fire(t)
			}
		}
		if l.opts.TurnEnd != nil {
			l.turnEnd()
		}
	}
	l.endTurn()
	l.arm()
	return true
}

// shutdown ends a stopped loop: wakes waiters and closes descriptors.
func (l *Loop) shutdown() {
	l.mu.Lock()
	l.closed = true
	l.inTurn = false
	l.turn++
	l.turnDone.Broadcast()
	l.mu.Unlock()
	unix.Close(l.efd)
	l.epf.Close()
}

// setSleepUntil sets sleepUntil to the next timer's deadline (MaxInt64:
// none) and returns it.
func (l *Loop) setSleepUntil() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sleepUntil = math.MaxInt64
	if len(l.timers) > 0 {
		l.sleepUntil = l.timers[0].next
	}
	return l.sleepUntil
}

// startTurn picks the turn's ready sockets and due timers; false once
// the loop is closed.
func (l *Loop) startTurn(n int, now int64) bool {
	wake := false
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.inTurn = true
	l.sleepUntil = 0
	for i := range n {
		ev := &l.events[i]
		if ev.Fd == wakeSlot {
			wake = true
			continue
		}
		if ev.Fd < 0 || int(ev.Fd) >= len(l.regs) {
			continue
		}
		if r := l.regs[ev.Fd]; r != nil && r.gen == uint32(ev.Pad) {
			if ev.Events&unix.EPOLLOUT != 0 {
				l.writable = append(l.writable, r)
			}
			if ev.Events&^unix.EPOLLOUT != 0 {
				l.ready = append(l.ready, r)
			}
		}
	}
	l.popDueLocked(now)
	l.woken = wake
	if wake {
		var b [8]byte
		_, _ = unix.Read(l.efd, b[:])
	}
	return true
}

// endTurn ends the turn and wakes Remove and Stop calls waiting for it.
func (l *Loop) endTurn() {
	clear(l.ready)
	clear(l.due)
	clear(l.writable)
	l.ready, l.due, l.writable = l.ready[:0], l.due[:0], l.writable[:0]
	l.mu.Lock()
	l.inTurn = false
	l.turn++
	if l.waiters > 0 {
		l.turnDone.Broadcast()
	}
	l.mu.Unlock()
}

// read reads one batch of r's socket and hands it to r's handler. A full
// batch or an error (such as ICMP's ECONNREFUSED) may leave datagrams
// behind: it sets l.more, and the level-triggered epoll set reports the
// socket again on the next turn.
func (l *Loop) read(r *Registration) {
	n, err := r.conn.TryReadBatchWith(l.scratch, l.ms)
	if n == len(l.ms) || err != nil && !udpio.IsClosed(err) {
		l.more = true
	}
	if n == 0 {
		return // nothing, closed or an error
	}
	l.handle(r, n)
	for i := range n {
		l.ms[i].Buf = l.bufs[i]
	}
}

func (l *Loop) handle(r *Registration, n int) {
	defer l.recoverAs("socket handler")
	r.h.HandleBatch(l.ms[:n])
}

func (l *Loop) turnEnd() {
	defer l.recoverAs("turn end")
	l.opts.TurnEnd()
}

// recoverAs hands a panic to Options.Panicked; without it the panic goes
// on.
func (l *Loop) recoverAs(where string) {
	if l.opts.Panicked == nil {
		return
	}
	if v := recover(); v != nil {
		l.opts.Panicked(where, v)
	}
}

// openPoller puts the epoll descriptor in Go's poller.
func (l *Loop) openPoller() error {
	if err := unix.SetNonblock(l.epfd, true); err != nil {
		return fmt.Errorf("evloop: %w", err)
	}
	f := os.NewFile(uintptr(l.epfd), "evloop")
	// A file the poller cannot watch has no deadlines.
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		f.Close()
		return fmt.Errorf("evloop: epoll descriptor not pollable: %w", err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return fmt.Errorf("evloop: %w", err)
	}
	l.epf, l.rc = f, rc
	l.turnFn = l.runTurn
	return nil
}

// epollNow is epoll_wait without the runtime knowing (timeout 0 only:
// it must not block).
func (l *Loop) epollNow() int {
	for {
		r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(l.epfd),
			uintptr(unsafe.Pointer(&l.events[0])), uintptr(len(l.events)), 0, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			panic(fmt.Sprintf("evloop: epoll_wait: %v", e))
		}
		return int(r)
	}
}

// arm sets the poller's read deadline to the next timer's deadline
// (none without timers) when it changed.
func (l *Loop) arm() {
	next := l.setSleepUntil()
	if next == l.deadline {
		return
	}
	var t time.Time
	if next != math.MaxInt64 {
		t = clockBase.Add(time.Duration(next))
	} else {
		next = 0
	}
	if l.epf.SetReadDeadline(t) == nil {
		l.deadline = next
	}
}
