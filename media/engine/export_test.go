package engine

import (
	"sync/atomic"

	"github.com/ropehq/rope/media"
)

// InjectPanic makes the next read batch of a plain or pipe transport of w
// panic, once: a crash inside one of the worker's goroutines.
func InjectPanic(w media.Worker) {
	var once atomic.Bool
	f := func() {
		if once.CompareAndSwap(false, true) {
			panic("injected by InjectPanic")
		}
	}
	w.(*worker).fault.Store(&f)
}

// OutBuffers reports how many packet buffers w's consumers' pool
// allocated and how many are back on its free list.
func OutBuffers(w media.Worker) (made, free int) {
	return w.(*worker).outPool.counts()
}

// StallTurns makes f run at the end of each turn of w's event loop,
// after the turn's reads and before it sends what they queued (nil: no
// longer): a worker busy between reading packets and sending them.
func StallTurns(w media.Worker, f func()) {
	if f == nil {
		w.(*worker).turnFault.Store(nil)
		return
	}
	w.(*worker).turnFault.Store(&f)
}

// RingSent reports how many datagrams w's consumers sent through its
// event loop's send ring (send_ring.go).
func RingSent(w media.Worker) uint64 { return w.(*worker).loop.ringSent.Load() }

// SendRingAvailable reports whether io_uring works here.
func SendRingAvailable() bool {
	r, err := newSendRing()
	if err != nil {
		return false
	}
	r.close()
	return true
}
