package engine

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ropehq/rope/media/internal/evloop"
	"github.com/ropehq/rope/media/internal/rtppkt"
	"github.com/ropehq/rope/media/internal/udpio"
	"github.com/ropehq/rope/media/webrtc/listener"
)

// The worker's event loop (media/internal/evloop, Linux): the UDP sockets
// of its plain, pipe and WebRTC transports and WebRtcServers, and the
// RTCP and bandwidth timers of all its transports, are served by one
// goroutine, which wakes once for
// everything that is ready and sends what the consumers queued once per
// turn. Elsewhere (or with Options.PerSocketReaders) each socket has its
// reader goroutine and each transport its tickers, as before.

// loopState is the worker's event loop and the scratch of its turns.
type loopState struct {
	// evl is the loop, nil until the first transport needs it, and when
	// unsupported or disabled; guarded by worker.mu.
	evl *evloop.Loop
	// touched are the producers fed during the current turn, flushed at
	// its end; turn numbers turns (producer.flushTurn). Loop goroutine
	// only.
	touched []*producer
	turn    uint64
	// rtcpOut packs the RTCP reports of every transport on the loop
	// (transport.reportWriter); loop goroutine only.
	rtcpOut rtcpWriter
	// live is evl for goroutines that must not take worker.mu (the
	// forwarding path waking the loop: layers_event.go).
	live atomic.Pointer[evloop.Loop]
	// layers are the transports whose consumers' current layers changed
	// (layers_event.go), emitted at the end of the loop's next turn.
	layers layersQueue
	// ring sends the consumers' packets of a turn in one submission
	// (send_ring.go); nil until the first turn that fed a producer, and
	// without io_uring. ringTried says it was made or refused. Loop
	// goroutine only.
	ring      *sendRing
	ringTried bool
	// ringSent counts the datagrams the ring sent.
	ringSent atomic.Uint64
}

// eventLoop returns the worker's event loop, starting it on first use;
// nil when there is none (not Linux, disabled, failed or closed).
func (w *worker) eventLoop() *evloop.Loop {
	if !evloop.Supported || w.api.opts.PerSocketReaders {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.loop.evl != nil || w.closed.Load() {
		return w.loop.evl
	}
	l, err := evloop.New(&evloop.Options{
		// WebRTC sockets read datagrams up to listener.MaxDatagramSize;
		// plain and pipe ones take the first rtppkt.MaxPacketLen bytes,
		// as their own readers did.
		Batch: readBatch, BufSize: listener.MaxDatagramSize,
		SendQueue:    w.api.opts.SendQueue,
		WaitOnThread: w.api.opts.LoopWaitsOnThread,
		TurnEnd:      w.endTurn,
		Panicked:     func(where string, v any) { w.panicked("event loop "+where, v) },
	})
	if err != nil {
		w.logger().Warn("engine: no event loop, reading with a goroutine per socket", "worker", w.id, "err", err)
		return nil
	}
	w.loop.evl = l
	w.loop.live.Store(l)
	return l
}

// closeLoop stops the event loop once the worker's objects are closed.
func (w *worker) closeLoop() {
	w.mu.Lock()
	l := w.loop.evl
	w.mu.Unlock()
	if l != nil {
		l.Close()
	}
}

// touch notes that p was fed during this turn (loop goroutine only).
func (w *worker) touch(p *producer) {
	if p.flushTurn != w.loop.turn+1 {
		p.flushTurn = w.loop.turn + 1
		w.loop.touched = append(w.loop.touched, p)
	}
}

// endTurn sends what the consumers of the producers fed during the turn
// queued.
func (w *worker) endTurn() {
	if f := w.turnFault.Load(); f != nil {
		(*f)()
	}
	var ring *sendRing
	if len(w.loop.touched) > 0 {
		ring = w.turnRing()
	}
	for _, p := range w.loop.touched {
		p.flushTo(ring)
	}
	if ring != nil {
		ring.submit()
	}
	clear(w.loop.touched)
	w.loop.touched = w.loop.touched[:0]
	w.loop.turn++
	if w.loop.layers.pending.Load() {
		w.loop.layers.emit()
	}
}

// turnRing returns the loop's send ring, making it on first use; nil
// with Options.NoSendRing or where io_uring is unavailable (the sends
// then go one system call per consumer). Loop goroutine only.
func (w *worker) turnRing() *sendRing {
	if w.loop.ringTried || w.api.opts.NoSendRing {
		return w.loop.ring
	}
	w.loop.ringTried = true
	l := w.loop.live.Load()
	if l == nil {
		return nil
	}
	r, err := newSendRing()
	if err != nil {
		w.logger().Info("engine: consumers send one system call each (no io_uring)", "worker", w.id, "err", err)
		return nil
	}
	r.sent = &w.loop.ringSent
	w.loop.ring = r
	go func() {
		<-l.Done() // the loop's goroutine, the ring's only user, ended
		r.close()
	}()
	return r
}

// loopTimer runs fn every period on the worker's event loop, or returns
// nil without one (the caller then uses a ticker). Timers may run up to
// 2 % of their period early to share a wake-up with packets or other
// timers; their deadlines stay period apart.
func (w *worker) loopTimer(period time.Duration, fn func()) *evloop.Timer {
	l := w.eventLoop()
	if l == nil {
		return nil
	}
	t, err := l.AddTimer(period, min(period/50, 5*time.Millisecond), fn)
	if err != nil {
		return nil
	}
	return t
}

// udpReader hands the datagrams of one socket of a udpLink, read by the
// event loop, to the link.
type udpReader struct {
	l        *udpLink
	rtcpOnly bool
}

var _ evloop.Handler = (*udpReader)(nil)

func (r *udpReader) HandleBatch(ms []udpio.Message) {
	l := r.l
	w := l.t.router.worker
	if f := w.fault.Load(); f != nil {
		(*f)()
	}
	now := nanotime()
	for i := range ms {
		if p := l.handle(ms[i].Buf[:min(ms[i].N, rtppkt.MaxPacketLen)], ms[i].Addr, r.rtcpOnly, now); p != nil {
			w.touch(p)
		}
	}
}

// loopTimers are a transport's timers on its worker's event loop.
type loopTimers struct {
	// mu guards ts and stopped.
	mu      sync.Mutex
	ts      []*evloop.Timer
	stopped bool
}

// add runs fn every period on w's event loop until stop; false when w
// has no event loop (the caller then ticks itself).
func (lt *loopTimers) add(w *worker, period time.Duration, fn func()) bool {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	if lt.stopped {
		return true
	}
	t := w.loopTimer(period, fn)
	if t == nil {
		return false
	}
	lt.ts = append(lt.ts, t)
	return true
}

// start is add for a timer the caller stops with drop; nil when w has no
// event loop or lt is stopped.
func (lt *loopTimers) start(w *worker, period time.Duration, fn func()) *evloop.Timer {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	if lt.stopped {
		return nil
	}
	t := w.loopTimer(period, fn)
	if t != nil {
		lt.ts = append(lt.ts, t)
	}
	return t
}

// drop stops t, a timer of start, and forgets it.
func (lt *loopTimers) drop(t *evloop.Timer) {
	lt.mu.Lock()
	if i := slices.Index(lt.ts, t); i >= 0 {
		lt.ts = slices.Delete(lt.ts, i, i+1)
	}
	lt.mu.Unlock()
	t.Stop()
}

// stop stops the timers; they no longer run once it returns (except on
// the loop's goroutine, where the caller is the only one running).
func (lt *loopTimers) stop() {
	lt.mu.Lock()
	lt.stopped = true
	ts := lt.ts
	lt.ts = nil
	lt.mu.Unlock()
	for _, t := range ts {
		t.Stop()
	}
}
