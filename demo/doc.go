// Package demo owns the video-room demo that cmd/ropeserver serves at
// /demo/: a page (page/, with mediasoup-client and the JavaScript ROPE
// client bundled by esbuild into dist/room.js, committed and embedded) and
// DemoRooms, the one ROPE object (id "demo") the page needs besides the
// media objects of spec/media-v1.md.
//
// The page is a small video room: join by name, see and hear everyone
// (simulcast video), a text chat over data channels and who is speaking.
// Its signalling is ROPE itself: it asks the join endpoint for the room's
// router and ActiveSpeakerObserver (DemoRooms.join({room}) gives the same
// over ROPE), creates its WebRTC transports on that router, produces and
// consumes with the server's media objects, and learns about the other
// peers from its mirror (their producers and data producers carry
// {peerId, name} in appData). The room adds audio producers to its
// observer itself. The same
// page runs against the Node app server of examples/node-room, which
// keeps the media server to itself and speaks JSON to the browsers
// (page/signal-ws.js).
//
// A room is a router and an ActiveSpeakerObserver made by
// Options.NewRouter, found or created by name, and closed once it has had
// no transport for Options.IdleTimeout; at most Options.MaxRooms are open.
// The page gets its room from the join endpoint (JoinHandler, POST
// {"room"}), the demo's app part: on a server that verifies signed
// tokens it answers a participant token for the room (JoinOptions.Mint),
// with which the browser sees that room only and never another tab's
// transports (spec/media-v1.md §3.1.8). Without one (an open server, or
// one with a shared -token) the page sees and may call every media
// object: trusted networks and development only;
// docs/lifetime-and-trust.md says which clients may connect directly.
//
// `make demo` rebuilds dist/room.js from page/ (npm ci && npm run build
// here); TestBundleMatchesSources checks that the committed bundle is the
// one its sources make.
package demo
