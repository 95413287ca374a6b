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
// The workers and routers belong to a pool, one per media.API value in
// the process, which every open Mafalda created over that value shares:
// rooms of different Mafaldas with the same settings share workers, and
// with the same codecs routers, exactly as rooms of one Mafalda do. New
// joins the API's pool or starts it; Mafalda.Close closes that Mafalda's
// MafaldaRouters (and whatever they leave idle) and leaves the pool; the
// last Mafalda to leave closes the workers left and drops the pool. A
// worker's death reaches the MafaldaRouters of every Mafalda that used
// it. Workers, Routers, GetResourceUsages and Dump report the pool's
// workers and routers; MafaldaRouters and Dump's MafaldaRouters only the
// Mafalda's own.
//
// Options stay per Mafalda and apply to its own placements over the
// shared pool: a placement may create a worker while the pool has fewer
// workers with those settings than its Mafalda's CPUs; its LoadFunc
// measures the pool's workers and its MaxConsumersPerWorker compares with
// each worker's consumers from every Mafalda; its PipeOptions configure
// the pipes of its MafaldaRouters. Mafaldas that agree on CPUs (the
// default, runtime.NumCPU(), does) thus keep one worker per CPU and set
// of settings in the process. An API value that cannot be compared (not
// a pointer or other comparable type) gets a pool per Mafalda. Two calls
// of engine.New or workerproc.New are two APIs; a Mafalda's own API (its
// API method returns one value) is one, so Mafaldas stacked over one
// Mafalda share the pool over it.
//
// Across processes on one host the pool cannot be shared: run one Mafalda
// server (cmd/ropeserver -media-mode=mafalda, or mafalda/mafaldaserver
// in an application) and have every other process use it through Remote
// Mafalda (mafalda/mafaldaclient), whose Service and Router are those of
// an in-process Mafalda.
//
// # Placement
//
// Every new transport or observer goes to, in order:
//
//  1. a router the MafaldaRouter already uses, on the busiest worker whose
//     load is under WatermarkWorker;
//  2. a router another MafaldaRouter (of any Mafalda of the pool) created
//     with the same options, on the busiest such worker;
//  3. a new router on the busiest such worker;
//  4. a new router on a new worker, if MaxWorkers and Options.CPUs allow
//     (the pool's workers with those settings counted);
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
// Router.PipeToRouter, once per producer and destination router, and
// every consumer on that router shares the pipe. Each router receives a
// producer once, so a room of P producers on W workers has at most
// P×(W−1) pipes (pipe consumers), whatever its number of consumers.
//
// Pipes follow a tree, not a full mesh. A MafaldaRouter puts its routers
// in slots 0, 1, 2, …: a router takes the lowest free slot at the first
// pipe after the room started using it, and frees it once the room no
// longer uses it or its worker has gone. Slot i hangs on slot
// (i−1)/Options.PipeFanout (default 4; PipeStar makes slot 0 the hub of
// a star), or on its nearest ancestor in use when routers between have
// left, the root being the lowest slot in use. A producer travels from
// its origin to a destination hop by hop along the tree path, each hop
// piped from the router that has it (its origin, or a relay the hop
// before brought it to) into the next, and hops already open for other
// destinations are shared. The engine, as mediasoup, keeps one pipe
// transport pair per ordered pair of routers, so a room over n routers
// needs at most 2·(n−1) pairs, one each way per edge, where piping from
// the origin straight into every router (PipeDirect) needs up to
// n·(n−1), each pair two UDP ports. Rooms sharing routers share those
// pairs where their trees agree; each room's tree bounds its own.
//
// A pipe is counted by its users (consumers, observer entries and the
// hops piping it on) and closed after its last, then the hop before it
// drops that use in turn, back towards the origin. A hop keeps its
// router in use: a router relaying for others stays while needed, and
// closes once idle. A pipe also closes when its producer closes, or when
// the relay before it goes (its worker died), and its consumers then get
// "producerclose"; the next consume pipes along the tree as it is then.
// Pause and resume travel every hop, each pipe producer following its
// pipe consumer as PipeToRouter ties them.
//
// # WebRtcServers
//
// A MafaldaRouter with MafaldaRouterOptions.WebRtcServerOptions reaches
// browsers through fixed ports, as a mediasoup deployment with one
// WebRtcServer per worker does: at its first WebRTC transport on a worker
// (one created without ListenInfos or WebRtcServer), the worker gets a
// WebRtcServer with those listen infos, each fixed port shifted by the
// worker's slot (0 for the first worker with its settings, then the
// lowest slot free), so workers 0..N−1 listen on ports P..P+N−1. The
// server is shared by the MafaldaRouters of the pool with the same
// worker settings and listen infos, does not keep its worker open, and
// closes with it; the slot is free again once the worker has closed.
//
// # Dead workers
//
// When a worker dies (its process was killed, over media/workerproc),
// its objects close as mediasoup closes them (routers "workerclose",
// transports "routerclose", consumers "transportclose", the pipes into
// it with them), then every MafaldaRouter that used it, of any Mafalda
// of the pool, emits
// "workerdied" and forgets it; the next placements go to live workers,
// or to a new one in its place. Uses dropped in the cascade before
// "died" (Worker.Died already true) are left for that step.
//
// # Locks
//
// Lock order (outer first): workerView.mu, pool.placeMu, pool.mu.
// pool.mu, one per pool and so shared by the Mafaldas over one API,
// guards the whole placement state (workers, routers, uses, each
// Mafalda's MafaldaRouters and each MafaldaRouter's transports,
// producers and pipes); no call into the media API is made while holding
// it. placeMu serialises the placements of the pool's Mafaldas, which
// create routers and workers, and is never taken by an event handler.
// Pipe creation is serialised per pipe by its ready channel (the hops of
// a path are registered together under pool.mu, and a path waits only
// for a hop registered before it, so waits form no cycle), WebRtcServer
// creation per worker and listen infos by the serverEntry's. registry.mu
// (the pools by API) is a leaf, taken alone by New and Mafalda.Close.
// Idle routers and workers are closed from event handlers, synchronously,
// so Mafalda starts no goroutine of its own; those handlers run where the
// API runs them (the caller's goroutine with the local engine, the
// connection's with mediaclient and media/workerproc), and Mafalda.Close
// waits for the closes its MafaldaRouters' releases have under way
// (Mafalda.closing), the last Mafalda of a pool for all of the pool's
// (pool.closing).
package mafalda
