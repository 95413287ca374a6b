// Package horizontal is the media API of a cluster (Mediasoup-horizontal):
// a media.API whose workers live on many servers, used from one place as
// if they were local.
//
// It reads the cluster's servers from a Directory (cluster/registry's
// view, fed by NATS heartbeats) and drives each server's media objects
// over ROPE with media/mediaclient, one connection per server, dialled on
// first use. CreateWorker places a new worker on the least-loaded server
// (Options.Place chooses otherwise; CreateWorkerOn names one). The
// workers, routers and everything under them are the remote client's
// objects, so the shared API suite runs against this API unchanged.
//
// Routers on different servers pipe producers to each other through a
// pair of PipeTransports (media/crosspipe) that listen on each server's
// announced media address (the first of its record's MediaAddresses),
// never on 127.0.0.1 unless that is what the server announces.
//
// A server that leaves the cluster (goodbye) or is lost (missed
// heartbeats, or a restart under a new incarnation) takes its workers
// with it: its connection is buried (mediaclient's Bury), so every object
// that lived there closes with mediasoup's events and each of its workers
// reports Died and fires "died", as a dead local worker does.
//
// Locks: API.mu, then member.mu; neither is held while calling a server
// or a listener.
package horizontal
