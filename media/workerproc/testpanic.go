package workerproc

import (
	"os"
	"testing"

	"github.com/ropehq/rope/media"
)

// envTestPanic makes a child started by a test binary panic inside its
// worker: with the value "tuple", a listener of every plain transport's
// "tuple" event panics, on the engine's goroutine that emits it, as a bug
// in the worker would. The child reads it only when it is a test binary
// (testing.Testing): a production binary ignores it. Tests use it to
// check a worker's death across the process boundary (died_test.go).
const envTestPanic = "ROPE_WORKERPROC_TEST_PANIC"

// armTestPanic sets up what envTestPanic asks for on the child's engine.
func armTestPanic(api media.API) {
	if !testing.Testing() || os.Getenv(envTestPanic) != "tuple" {
		return
	}
	n, ok := api.(media.NewWorkerNotifier)
	if !ok {
		return
	}
	n.OnNewWorker(func(w media.Worker) {
		w.OnNewRouter(func(r media.Router) {
			r.OnNewTransport(func(t media.Transport) {
				if pt, ok := t.(media.PlainTransport); ok {
					pt.OnTuple(func(media.TransportTuple) {
						panic("workerproc: panic injected by a test (" + envTestPanic + "=tuple)")
					})
				}
			})
		})
	})
}
