// Package mafalda makes one router outgrow one worker. mediasoup binds a
// router to a worker and a worker to a core; a MafaldaRouter is one
// room's router that spans as many workers as the room needs, lazily, and
// gives them back when idle. It works over any media.API (the local
// engine, a remote client, another Mafalda through Mafalda.API), and
// satisfies media.Router itself.
//
// # Sharing
//
// Workers are shared by every MafaldaRouter with the same worker settings
// (appData aside), at most Options.CPUs of them per set of settings.
// Routers are shared by every MafaldaRouter with the same media codecs,
// at most one per worker. A MafaldaRouter counts its uses of each router
// (transports, observers, producers piped into it by PipeToRouter); a
// router nobody uses is closed, and a worker with no router left is
// closed too. Nothing is created before the first transport or observer:
// RTP capabilities are computed from the media codecs (media/ortc).
//
// # Placement
//
// Every new transport or observer goes to, in order:
//
//  1. a router the MafaldaRouter already uses, on the busiest worker whose
//     load is under WatermarkWorker;
//  2. a router another MafaldaRouter created with the same options, on the
//     busiest such worker;
//  3. a new router on the busiest such worker;
//  4. a new router on a new worker, if MaxWorkers and Options.CPUs allow;
//  5. otherwise the least loaded worker, watermark or not.
//
// Load is Options.LoadFunc's percentage (default CPU% from
// GetResourceUsage deltas over at least a second; over media/workerproc,
// each worker process's own); Options.MaxConsumersPerWorker also marks a
// worker full once it carries that many consumers, pipe consumers
// included. Filling the busiest worker first concentrates a room on few
// workers, so few producers need piping.
//
// # Piping
//
// Transports handed out wrap the underlying ones and intercept Consume,
// ConsumeData and the observers' AddProducer: when the producer lives on
// another router of the room, it is piped there on demand with
// Router.PipeToRouter from its origin router, once per producer and
// destination router, and every consumer on that router shares the pipe.
// Pipes form a star from each producer's origin (a tree, never a full
// mesh), so a room of P producers on W workers has at most P×(W−1) pipe
// consumers, whatever its number of consumers. A pipe is counted by its
// users and closed when its last consumer closes; it also closes when its
// producer closes, and its consumers then get "producerclose".
//
// # Dead workers
//
// When a worker dies (its process was killed, over media/workerproc),
// its objects close as mediasoup closes them (routers "workerclose",
// transports "routerclose", consumers "transportclose", the pipes into
// it with them), then every MafaldaRouter that used it emits
// "workerdied" and forgets it; the next placements go to live workers,
// or to a new one in its place. Uses dropped in the cascade before
// "died" (Worker.Died already true) are left for that step.
//
// # Locks
//
// Lock order (outer first): workerView.mu, Mafalda.placeMu, Mafalda.mu.
// Mafalda.mu guards the whole placement state (workers, routers, uses,
// each MafaldaRouter's transports, producers and pipes); no call into the
// media API is made while holding it. placeMu serialises placements,
// which create routers and workers, and is never taken by an event
// handler. Pipe creation is serialised per pipe by its ready channel.
// Idle routers and workers are closed from event handlers, synchronously,
// so Mafalda starts no goroutine of its own; those handlers run where the
// API runs them (the caller's goroutine with the local engine, the
// connection's with mediaclient and media/workerproc), and Mafalda.Close
// waits for the closes they have under way (Mafalda.closing).
package mafalda
