// Package monitor owns the live monitor of a ROPE media server: the
// read-only Monitor object (id "monitor") that publishes the server's
// figures, the page cmd/ropeserver serves at /monitor/ (page/, with the
// JavaScript ROPE client bundled by esbuild into dist/monitor.js,
// committed and embedded), and the Prometheus metrics it serves at
// /metrics.
//
// The page is a ROPE client like any other. Its tree (workers → routers →
// transports → producers and consumers) is its mirror of the media
// objects of spec/media-v1.md, which every connection receives and which
// changes by notifications. Its figures come from the Monitor object: a
// connection that calls Monitor.subscribe receives one unsequenced
// "monitor.figures" notification per interval (Options.Interval, 1 s),
// of bounded size (Options.MaxObjects entries), collected once for all
// subscribers from the media objects' getStats and getResourceUsage; no
// figures are collected while nobody subscribes or scrapes. Nothing the
// Monitor object offers changes the media: its methods are subscribe,
// unsubscribe and snapshot.
//
// Counters of forwarded packets, bytes, NACKs, PLIs, FIRs and key frames are summed
// from the consumers' and producers' stats: each collection adds what
// every live object counted since the previous one, so they work the
// same for in-process workers and for worker processes, whose engines
// are reached through the existing control API (a closing object's last
// interval is lost). Worker CPU and memory are each worker process's
// getrusage; in-process workers all report the server's process.
//
// `make monitor` rebuilds dist/monitor.js from page/ (npm ci && npm run
// build here); TestBundleMatchesSources checks the committed bundle.
package monitor
