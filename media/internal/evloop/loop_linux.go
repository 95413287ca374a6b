//go:build linux && (amd64 || arm64)

package evloop

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
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

// wakeSlot marks the eventfd's events, spanSlot the timerfd's (and
// yieldSlot those of YieldTo's connections).
const (
	wakeSlot = -1
	spanSlot = -2
)

// Loop is a worker's event loop.
type Loop struct {
	opts Options
	epfd int
	// efd is an eventfd in the epoll set: written to wake the loop
	// (Close, a timer due before the loop's deadline). tfd is a timerfd
	// in it that ends a span of waits on the thread (-1 without
	// Options.WaitOnThread).
	efd int
	tfd int
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
	// gotData says the turn read a datagram; toThread that run goes on
	// waiting on the thread (Options.WaitOnThread), parkFirst that the
	// next RawRead parks before it does; spanOver that the timerfd
	// fired, yielded that a connection given to YieldTo has data.
	gotData   bool
	toThread  bool
	parkFirst bool
	spanOver  bool
	yielded   bool
	// lastData is when a turn last read a datagram (loop clock).
	lastData int64
	// yieldErr is the last failure to watch a connection given to
	// YieldTo (guarded by yielders.mu; for tests).
	yieldErr error
	// threadTurns counts the turns run on the thread and threadSpans
	// their spans (read by tests once the loop ended); threadYields
	// counts the spans YieldTo's connections ended.
	threadTurns, threadSpans uint64
	threadYields             atomic.Uint64
	// waitTS is the timeout of a wait on the thread, span the timerfd's
	// setting.
	waitTS unix.Timespec
	span   unix.ItimerSpec
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
	l := &Loop{opts: o, epfd: -1, efd: -1, tfd: -1, events: make([]unix.EpollEvent, maxEvents),
		done: make(chan struct{}), sleepUntil: math.MaxInt64}
	l.turnDone.L = &l.mu
	if err := l.openDescriptors(); err != nil {
		l.closeDescriptors()
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

// openDescriptors opens the epoll set, its eventfd and, for waits on the
// thread, its timerfd, and puts the set in Go's poller.
func (l *Loop) openDescriptors() error {
	var err error
	if l.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return fmt.Errorf("evloop: epoll_create1: %w", err)
	}
	if l.efd, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
		return fmt.Errorf("evloop: eventfd: %w", err)
	}
	if err := l.watchOwn(l.efd, wakeSlot); err != nil {
		return err
	}
	if l.opts.WaitOnThread {
		if l.tfd, err = unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC); err != nil {
			return fmt.Errorf("evloop: timerfd_create: %w", err)
		}
		if err := l.watchOwn(l.tfd, spanSlot); err != nil {
			return err
		}
		l.joinYielders()
	}
	return l.openPoller()
}

// watchOwn puts one of the loop's own descriptors in its epoll set.
func (l *Loop) watchOwn(fd int, slot int32) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: slot}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("evloop: epoll_ctl: %w", err)
	}
	return nil
}

// closeDescriptors closes what openDescriptors opened.
func (l *Loop) closeDescriptors() {
	if l.opts.WaitOnThread {
		l.leaveYielders()
	}
	for _, fd := range []int{l.tfd, l.efd} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	if l.epf != nil {
		l.epf.Close()
	} else if l.epfd >= 0 {
		unix.Close(l.epfd)
	}
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
		if l.toThread {
			l.toThread = false
			l.waitOnThread()
			l.parkFirst = true
			continue
		}
		l.arm()
		// RawRead calls turnFn, then parks in the poller while it
		// returns false: the goroutine stays in one RawRead from wake-up
		// to wake-up, so an edge the poller saw during a turn is never
		// reset (as a new RawRead's prepareRead would) and a wake-up
		// whose turn drains the sockets costs one epoll_wait of ours
		// beside the runtime's (runTurn says when it goes on instead).
		err := l.rc.Read(l.turnFn)
		switch {
		case err == nil: // stopped, or on to waiting on the thread
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
		l.arm()
		if !l.more {
			break
		}
	}
	if l.opts.WaitOnThread && l.gotData {
		// Datagrams twice within threadWaitGap: waits on the thread pay.
		now := monotonic()
		dense := now-l.lastData < int64(threadWaitGap)
		l.lastData = now
		if dense && !l.parkFirst {
			l.toThread = true
			return true
		}
	}
	l.parkFirst = false
	return false
}

// waitOnThread runs turns that wait in epoll_wait on the loop's thread,
// yielding the P after each, until ThreadWaitSpan has passed, a wait
// lasted longer than threadWaitGap (the datagrams thinned out: a wait
// on the thread holds up the process's Go timers, which run when the
// loop yields), a connection given to YieldTo has data or a wait ends
// with nothing (a signal, such as the runtime's preemption, or a loop
// timer's deadline); then run parks in Go's poller once, or for as long
// as nothing comes. The span's end is checked after each turn; a wait
// that outlasts it (the datagrams stopped) ends at the timerfd, armed
// once per span a little after its end (a timeout on each wait cost 10 %
// more at 1→1 @ 2,000 packets/s, and a timerfd that ends every span
// wakes the thread for nothing).
func (l *Loop) waitOnThread() {
	l.spanOver, l.yielded = false, false
	l.setSpan(ThreadWaitSpan + ThreadWaitSpan/4)
	l.threadSpans++
	parkAt := monotonic() + int64(ThreadWaitSpan)
	for {
		start := monotonic()
		until := l.setSleepUntil()
		timeout := int64(-1)
		if until != math.MaxInt64 {
			timeout = max(until-start, 0)
		}
		n := l.epollWait(timeout)
		if !l.turnOn(n) {
			return
		}
		l.threadTurns++
		runtime.Gosched()
		now := monotonic()
		if l.gotData {
			l.lastData = now
		}
		if n == 0 || l.spanOver || l.yielded || now >= parkAt || now-start > int64(threadWaitGap) {
			break
		}
	}
	if l.yielded {
		l.threadYields.Add(1)
	}
	if l.spanOver {
		var b [8]byte
		_, _, _ = unix.RawSyscall(unix.SYS_READ, uintptr(l.tfd), uintptr(unsafe.Pointer(&b[0])), 8)
	} else {
		l.setSpan(0)
	}
}

// setSpan arms the timerfd to fire once after d, or disarms it (0). A
// raw system call: entering the scheduler's would wake a sleeping
// sysmon, which then polls every 20 µs for a while.
func (l *Loop) setSpan(d time.Duration) {
	l.span.Value = unix.NsecToTimespec(int64(d))
	_, _, e := unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, uintptr(l.tfd), 0,
		uintptr(unsafe.Pointer(&l.span)), 0, 0, 0)
	if e != 0 {
		panic(fmt.Sprintf("evloop: timerfd_settime: %v", e))
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
	l.gotData = false
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
	l.closeDescriptors()
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
		if ev.Fd == spanSlot {
			l.spanOver = true
			continue
		}
		if ev.Fd == yieldSlot {
			l.yielded = true
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
	l.gotData = true
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

// openPoller puts the epoll descriptor in Go's poller (l.epf then owns
// it).
func (l *Loop) openPoller() error {
	if err := unix.SetNonblock(l.epfd, true); err != nil {
		return fmt.Errorf("evloop: %w", err)
	}
	l.epf = os.NewFile(uintptr(l.epfd), "evloop")
	// A file the poller cannot watch has no deadlines.
	if err := l.epf.SetReadDeadline(time.Time{}); err != nil {
		return fmt.Errorf("evloop: epoll descriptor not pollable: %w", err)
	}
	rc, err := l.epf.SyscallConn()
	if err != nil {
		return fmt.Errorf("evloop: %w", err)
	}
	l.rc = rc
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

// sysEpollPwait2 is epoll_pwait2's number (amd64 and arm64 alike).
const sysEpollPwait2 = 441

// noPwait2 says the kernel lacks epoll_pwait2 (before Linux 5.11).
var noPwait2 atomic.Bool

// epollWait is epoll_wait on the loop's thread, without the runtime
// knowing, for up to timeout ns. A signal (such as the runtime's
// preemption) ends it early, with no events.
func (l *Loop) epollWait(timeout int64) int {
	var r uintptr
	var e syscall.Errno
	if !noPwait2.Load() {
		ts := uintptr(0)
		if timeout >= 0 {
			l.waitTS = unix.NsecToTimespec(timeout)
			ts = uintptr(unsafe.Pointer(&l.waitTS))
		}
		r, _, e = unix.RawSyscall6(sysEpollPwait2, uintptr(l.epfd),
			uintptr(unsafe.Pointer(&l.events[0])), uintptr(len(l.events)), ts, 0, 0)
		if e == unix.ENOSYS {
			noPwait2.Store(true)
		}
	}
	if noPwait2.Load() {
		ms := int64(-1)
		if timeout >= 0 {
			ms = (timeout + int64(time.Millisecond) - 1) / int64(time.Millisecond)
		}
		r, _, e = unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(l.epfd),
			uintptr(unsafe.Pointer(&l.events[0])), uintptr(len(l.events)), uintptr(int(min(ms, math.MaxInt32))), 0, 0)
	}
	if e == unix.EINTR {
		return 0
	}
	if e != 0 {
		panic(fmt.Sprintf("evloop: epoll_wait: %v", e))
	}
	return int(r)
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
