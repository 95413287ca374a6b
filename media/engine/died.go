package engine

import (
	"errors"
	"fmt"
	"runtime/debug"
)

// ErrWorkerPanicked is the cause of a worker's "died" when one of its
// goroutines panicked.
var ErrWorkerPanicked = errors.New("engine: worker goroutine panicked")

// recoverPanic, deferred first thing in every goroutine the engine runs
// for a worker (transports' readers and RTCP timers, observers' timers,
// SCTP readers) and in the callbacks media/webrtc's goroutines make into
// the engine, turns a panic into the worker's death, as a crash of a
// mediasoup worker process: the worker emits "died" and closes its
// objects, and the process and the other workers go on. where names the
// goroutine in the reason. media/webrtc's goroutines (socket readers,
// DTLS, ICE consent) hand their panics to panicked (OnPanic). A panic
// while an engine lock is held leaves that lock held; what needs it then
// blocks (a process that crashes loses everything instead).
func (w *worker) recoverPanic(where string) {
	if v := recover(); v != nil {
		w.panicked(where, v)
	}
}

// panicked makes the worker die of a panic with value v in where.
func (w *worker) panicked(where string, v any) {
	err := fmt.Errorf("%w: %s: %v", ErrWorkerPanicked, where, v)
	w.logger().Error("engine: worker died", "worker", w.id, "err", err, "stack", string(debug.Stack()))
	// Not on this goroutine: closing the worker waits for goroutines
	// this one may be (media/webrtc's, whose callback panicked). Close
	// waits for it.
	go w.die(err)
}

// die closes the worker as a dead mediasoup worker closes: every router
// ("workerclose") and WebRtcServer, then "died" with err, then the
// observer's "close".
func (w *worker) die(err error) {
	if w.closed.Swap(true) {
		return
	}
	w.burying.Store(true)
	w.died.Store(true)
	defer close(w.buried)
	defer w.burying.Store(false)
	w.closeChildren()
	w.closeLoop()
	w.onDied.Emit(err)
	emit(&w.onClose)
}
