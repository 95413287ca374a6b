// Package mafaldaserver serves a Mafalda (package mafalda) as ROPE
// objects (spec/mafalda-v1.md), so mafalda/mafaldaclient, or any ROPE
// client following the spec, drives it from another process.
//
// It reuses media/mediaserver rather than duplicating it: Register serves
// Mafalda.API() through mediaserver (the MediaService root "media" of
// spec/media-v1.md, whose workers are Mafalda's worker views and whose
// routers are MafaldaRouters), and beside it the root "mafalda" of type
// Mafalda, whose createMafaldaRouter makes MafaldaRouters with all of
// MafaldaRouterOptions. Those are served as type MafaldaRouter, a
// mediaserver.Extension of Router: every Router method, property and
// event, plus the property "options" and the events "newrouter",
// "workerdied" and "error". Their transports, observers, producers and
// consumers are mediaserver's own types, so a media client that knows
// only spec/media-v1.md can use them once it treats MafaldaRouter as a
// Router.
//
// Errors go out as mediaserver sends media errors (ApplicationError named
// after mediasoup's error class, data.detail.code the media code), and
// mafalda.ErrNoWorker adds data.detail.reason "no_worker", so a client
// can rebuild both sentinels.
package mafaldaserver
