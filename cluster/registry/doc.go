// Package registry owns the registry of servers of a ROPE cluster: each
// server publishes a record of itself (id, ROPE URL, announced media
// addresses, workers and their loads, version) on NATS as a heartbeat,
// learns the others' records, and keeps a live view of who is there. The
// subjects and messages are spec/cluster-v1.md:
//
//	rope.cluster.v1.hb.<id>    Record, every interval and on change
//	rope.cluster.v1.bye.<id>   Goodbye, when a server leaves cleanly
//	rope.cluster.v1.who        Record of a joining server, a request:
//	                           every member replies with its Record
//
// A server not heard from for Options.Misses of its intervals is lost:
// the view drops it and watchers get EventLost. NATS carries discovery,
// load and liveness only; media control between servers stays on ROPE
// (a server dials another's RopeURL with media/mediaclient).
//
// Layers: cluster/natsutil connects to NATS or runs a NATS server in the
// process; this package speaks the registry protocol over a connection it
// is given and does not close. What builds on the view (a media API whose
// workers live on many servers, a producer index) lives in packages of
// its own and shares the connection: a producer index would publish on
// its own subjects under SubjectPrefix (e.g. rope.cluster.v1.idx.<id>)
// and drop a server's entries when Watch reports it left or lost, so the
// heartbeats stay small.
//
// Locks: Registry.mu before watcher.mu; nothing else nests.
package registry
