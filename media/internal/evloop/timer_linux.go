//go:build linux && (amd64 || arm64)

package evloop

import (
	"container/heap"
	"errors"
	"sync/atomic"
	"time"
)

// errPeriod is a timer period that is not positive.
var errPeriod = errors.New("evloop: timer period must be positive")

// Timer is a periodic timer run by a Loop.
type Timer struct {
	l  *Loop
	fn func()
	// period and slack in ns; next is the next deadline (loop clock).
	period, slack, next int64
	// idx is the timer's index in the loop's heap (-1: not in it).
	idx     int
	stopped atomic.Bool
}

// AddTimer runs fn on the loop's goroutine every period, until Stop. Its
// deadlines fall on the loop clock's multiples of period, the first
// within one period from now: timers of one period, and of periods that
// divide one another, share their wake-ups however far apart they were
// added (a worker's transports each tick their estimator every 25 ms:
// 100 transports woke the loop 4,000 times a second with their own
// phases, 40 times aligned). A timer may also run up to slack before its
// deadline when the loop is awake anyway (so that timers and packets
// share wake-ups); its deadlines stay one period apart, so the long-run
// rate is exact. After a stall the missed runs are skipped, as a
// time.Ticker does.
func (l *Loop) AddTimer(period, slack time.Duration, fn func()) (*Timer, error) {
	if period <= 0 {
		return nil, errPeriod
	}
	slack = min(max(slack, 0), period/2)
	t := &Timer{l: l, fn: fn, period: int64(period), slack: int64(slack), next: nextMultiple(monotonic(), int64(period))}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	heap.Push(&l.timers, t)
	if !l.inTurn && t.next < l.sleepUntil {
		l.wakeLocked()
	}
	return t, nil
}

// nextMultiple is the first multiple of period after now.
func nextMultiple(now, period int64) int64 {
	return (now/period + 1) * period
}

// Stop stops the timer and returns once fn is not running and never will
// again (from fn itself, or from anything else on the loop's goroutine, it
// returns at once). Stop is idempotent.
func (t *Timer) Stop() {
	l := t.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.stopped.Swap(true) {
		return
	}
	if t.idx >= 0 {
		heap.Remove(&l.timers, t.idx)
	}
	l.waitTurnLocked()
}

// popDueLocked moves the timers due by now (give or take their slack)
// to l.due and sets their next deadlines. Call with mu held.
func (l *Loop) popDueLocked(now int64) {
	for len(l.timers) > 0 {
		t := l.timers[0]
		if t.next-t.slack > now {
			// Another timer may be due within its slack, but the heap
			// is on next; the ones whose next is later are rare enough
			// to wait for their own turn.
			return
		}
		t.next += t.period
		if t.next-t.slack <= now { // late by a period: skip, once per turn
			t.next = nextMultiple(now, t.period)
		}
		heap.Fix(&l.timers, 0)
		l.due = append(l.due, t)
	}
}

func (l *Loop) fire(t *Timer) {
	defer l.recoverAs("timer")
	t.fn()
}

// timerHeap orders timers by next deadline.
type timerHeap []*Timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].next < h[j].next }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*Timer)
	t.idx = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.idx = -1
	return t
}
