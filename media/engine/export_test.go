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
