// Package workerproc runs each media worker in a process of its own: the
// same binary started in worker mode, serving the local engine
// (engine.New) over ROPE on a loopback socket through mediaserver, and
// driven from the parent through mediaclient, so a local worker and a
// remote server are one model.
//
// The parent side is New, a media.API whose CreateWorker starts a child,
// reads the URL it prints on stdout, connects and creates the child's one
// worker. The returned worker's PID is the child's, GetResourceUsage reads
// the child's figures from /proc, and Close closes the worker, the
// connection and the process, waiting for it.
//
// The child side is Serve (or Main) from the program's main, when
// IsWorkerMode reports that the process was started as a worker:
//
//	func main() {
//		if workerproc.IsWorkerMode() {
//			workerproc.Main()
//		}
//		...
//	}
//
// The child exits when the parent's connection goes or its stdin (a pipe
// from the parent) closes, so it never outlives its parent.
//
// When a child dies (killed, crashed), its worker reports Died and fires
// OnDied, and everything that lived in it closes as mediasoup closes it:
// producers and consumers with "transportclose", transports and observers
// with "routerclose", routers with "workerclose", then the worker's
// "died". The parent replays that end in the ROPE mirror itself with
// ropeclient's CloseLocal: every mirrored object closes, deepest first,
// each after the event its parent's end gives it, so every mediaclient
// listener fires as it would for a live server. A worker's Close called
// from one of those listeners returns without waiting for the others.
package workerproc
