// Package mafaldaclient is Mafalda over ROPE: a Client connected to a
// server that serves a Mafalda with mafalda/mafaldaserver
// (spec/mafalda-v1.md) satisfies mafalda.Service, and its MafaldaRouters
// satisfy mafalda.Router, so an application swaps one constructor to move
// its Mafalda to another machine:
//
//	var svc mafalda.Service = mafalda.New(api, nil)       // in process
//	svc, err := mafaldaclient.Dial(ctx, url, nil)         // over ROPE
//
// It is built on media/mediaclient: a MafaldaRouter is mediaclient's
// media.Router for the mirror object (type MafaldaRouter extends Router),
// so its transports, producers and consumers are mediaclient's, with the
// same rules (getters read the mirror, calls return once it is updated,
// events run on the ropeclient's callback goroutine). Client.API is the
// media API served beside it (Mafalda.API on the server).
//
// Mafaldas in one process over one media API share their workers and
// routers; processes do not. Processes on one host that should share
// them (one worker per CPU and set of settings on the host) use one
// Mafalda server there (cmd/ropeserver -media-mode=mafalda) through this
// client rather than a Mafalda each.
//
// Errors match the media sentinels as mediaclient's do, and an error the
// server sent with data.detail.reason "no_worker" also matches
// mafalda.ErrNoWorker.
package mafaldaclient
