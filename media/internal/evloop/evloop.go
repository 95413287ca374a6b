// Package evloop owns a media worker's event loop: one goroutine that
// waits on one epoll set holding all of the worker's detached UDP sockets
// (udpio.Conn.Detach), reads every ready socket with a non-blocking
// recvmmsg into one buffer set shared by them all, hands each batch to
// the socket's Handler, runs the periodic timers that are due, then ends
// the turn (Options.TurnEnd, where the worker sends what its consumers
// queued). One wake-up thus serves every socket and timer that is ready,
// instead of one goroutine (and one trip through the Go scheduler) per
// socket and per timer.
//
// The goroutine parks in Go's network poller on the epoll descriptor
// itself, which is readable when one of its sockets is: the thread that
// wakes from the poller runs the loop at once, and the reads and sends of
// a turn are raw non-blocking syscalls that never enter the scheduler or
// wake sysmon; an idle loop holds no thread and no P. A turn is the read
// function of one RawRead that lasts from wake-up to wake-up, whose read
// deadline is the next timer's: a wake-up whose turn drains the sockets
// costs one epoll_wait of the loop's beside the runtime's. While a socket
// may hold more than its turn read, turns go on without parking (the
// poller, edge-triggered, would not report it again). Nothing in a turn
// waits: a send to a full socket buffer is queued (Options.SendQueue)
// and the socket watched for writability (EPOLLOUT, level-triggered)
// only while its queue holds datagrams, which each turn that finds it
// writable sends first; beyond the bound it drops
// (udpio.ErrSendBufferFull).
//
// Options.WaitOnThread, for a process whose one P runs this one loop (a
// worker child), saves the runtime's share while datagrams come densely
// (two turns within threadWaitGap, 2 ms, of each other): the loop then
// waits in epoll_wait on its own thread (a raw system call: the P stays
// the goroutine's, so sysmon neither hands it away nor wakes a thread to
// take it back) and yields the P after every turn (runtime.Gosched,
// which on one P wakes no thread), so that what the turn readied and the
// due Go timers run at once. It parks in the poller again, where the
// runtime polls the network of the process's other goroutines, after
// ThreadWaitSpan (10 ms), after a wait longer than threadWaitGap (a
// wait on the thread holds up the process's Go timers), when a wait
// ends with nothing, and as soon as a connection given to YieldTo has
// data (a worker child's control connection, TCP connections carrying
// media). Per burst of datagrams that is one epoll_wait of the loop's
// instead of the runtime's two and the loop's: at 1→1 @ 2,000
// packets/s 0.92 of the parked loop's CPU (median of 20 paired rounds),
// at 25 rooms of 4 0.94. Blocking in epoll_wait with several Ps, or
// with a system call the runtime sees, measured worse: sysmon then takes
// the goroutine for a runaway (its schedule tick never advances) and
// hands its P away in every wait (1.49 voluntary context switches per
// packet at 1→1 @ 2,000 against 0.44 parked), and a reschedule with a
// second idle P wakes a second thread each time. So did a timeout on
// each wait (the span's end comes from a timerfd armed once per span),
// and a span that always ends at its timerfd (a wake-up for nothing).
// Linux only (New returns ErrUnsupported elsewhere; callers keep a
// goroutine per socket there).
//
// Lifetimes: Remove and Stop return once the loop no longer runs and will
// never again run the socket's handler or the timer (except when called
// from the loop's own goroutine, where the handler that called them is
// the only one running); the caller then closes the socket. Close stops
// the goroutine and waits for it.
package evloop

import (
	"errors"
	"runtime"
	"strconv"
	"time"

	"github.com/ropehq/rope/media/internal/udpio"
)

// Sentinel errors.
var (
	// ErrUnsupported means there is no event loop on this platform.
	ErrUnsupported = errors.New("evloop: not supported on this platform")
	// ErrClosed means the loop is closed.
	ErrClosed = errors.New("evloop: closed")
)

// Handler receives the datagrams of one socket.
type Handler interface {
	// HandleBatch receives the datagrams of one read (up to
	// Options.Batch). Their buffers are the loop's, valid only during the
	// call; the handler may modify them in place.
	HandleBatch(ms []udpio.Message)
}

// Options configure a Loop; the zero value is the defaults.
type Options struct {
	// Batch is the number of datagrams read at once; default 32.
	Batch int
	// BufSize is the size of each datagram buffer; longer datagrams are
	// truncated (udpio.Message.Truncated). Default 1500.
	BufSize int
	// TurnEnd, if set, runs at the end of each turn, after the handlers
	// and timers of the turn.
	TurnEnd func()
	// SendQueue bounds, in bytes, each socket's queue of datagrams that
	// found its send buffer full (udpio.Conn.EnableSendQueue): they are
	// sent in order when the socket is writable again, as mediasoup's
	// libuv does, and later sends to the socket go behind them; beyond
	// the bound they are dropped (udpio.Conn.Dropped, Loop.SendDropped).
	// Default DefaultSendQueue (256 KiB); negative: no queue, a full send
	// buffer drops at once.
	SendQueue int
	// WaitOnThread has the loop wait in epoll_wait on its own thread
	// while datagrams come densely, instead of parking in Go's poller
	// between them (see the package comment). Only for a process whose
	// one P (GOMAXPROCS=1) runs this one loop: its other goroutines run
	// when the loop yields, after every turn, and their network is
	// polled when it parks, every ThreadWaitSpan at most, or at once for
	// connections given to YieldTo.
	WaitOnThread bool
	// Panicked, if set, receives a panic of a handler, timer or TurnEnd
	// (where says which) and the loop goes on; nil lets panics go on
	// (ending the process).
	Panicked func(where string, v any)
}

// ThreadWaitSpan is the longest a loop with Options.WaitOnThread waits
// on its thread before it parks in Go's poller once, so that the runtime
// polls the network of the process's other goroutines.
const ThreadWaitSpan = 10 * time.Millisecond

// threadWaitGap is the longest time between datagrams for which a loop
// with Options.WaitOnThread waits on its thread.
const threadWaitGap = 2 * time.Millisecond

// DefaultSendQueue is the default bound of each socket's send queue.
const DefaultSendQueue = 256 << 10

func (o *Options) defaults() {
	if o.SendQueue == 0 {
		o.SendQueue = DefaultSendQueue
	}
	if o.Batch <= 0 {
		o.Batch = 32
	}
	if o.BufSize <= 0 {
		o.BufSize = 1500
	}
}

// monotonic is the loop's clock: nanoseconds since process start.
var clockBase = time.Now()

func monotonic() int64 { return int64(time.Since(clockBase)) }

// goid returns the current goroutine's ID (from its stack header). It
// allocates; only Remove, Stop and Close call it, and only when they
// would wait.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	const prefix = "goroutine "
	if len(b) <= len(prefix) {
		return 0
	}
	b = b[len(prefix):]
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	id, _ := strconv.ParseUint(string(b[:i]), 10, 64)
	return id
}
