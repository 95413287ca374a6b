package workerproc

import (
	"os"
	"runtime"
	"runtime/debug"
)

// oneP runs the child's Go code on one P (GOMAXPROCS=1) unless the
// environment sets GOMAXPROCS: a worker's forwarding is one event-loop
// goroutine (media/internal/evloop), as mediasoup's worker is one thread,
// and a second P only lets the runtime wake a second thread for the
// control connection's goroutines and the loop's poller deadlines, each a
// context switch the loop then pays for (25 rooms of 4: 2.4 thousand
// voluntary switches/s over three threads with two Ps). Blocking system
// calls still get threads of their own. On one P, unless EnvWaitOnThread
// is "0", the engine's loop waits on its thread while packets come densely
// (engine.Options.LoopWaitsOnThread; evloop.Options.WaitOnThread), and
// parks as soon as the parent's calls arrive (evloop.YieldTo).
func oneP() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}

// childGCPercent is the child's GOGC unless the environment sets one.
const childGCPercent = 50

// gcPercent sets the child's GC target to childGCPercent unless the
// environment sets GOGC: the forwarding path does not allocate, so what
// a worker holds is nearly all live (retransmission rings, objects) and
// the default's 100 % headroom over it was RSS with nothing in it, while
// the collections a lower target adds are few (the garbage comes from
// control calls).
func gcPercent() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(childGCPercent)
	}
}
