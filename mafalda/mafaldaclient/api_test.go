package mafaldaclient_test

import (
	"testing"

	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediatest"
)

// TestAPI runs the shared media API suite against Remote Mafalda: a
// Mafalda over the engine behind a ROPE server, its media API driven with
// the client's API (worker views, MafaldaRouters as routers).
func TestAPI(t *testing.T) {
	mediatest.Run(t, func(t *testing.T) media.API {
		return startServer(t, &mafalda.Options{CPUs: 2}).dial(t).API()
	}, append(mafaldaSkips(), mediatest.As("mafaldaclient"))...)
}

// mafaldaSkips are the suite's steps Mafalda cannot do, with the reasons
// (media/mediatest/README.md lists them).
func mafaldaSkips() []mediatest.Option {
	const noServer = "a MafaldaRouter's worker view spans several real workers, a WebRtcServer's sockets belong to one: " +
		"WebRtcServers come from MafaldaRouterOptions.WebRtcServerOptions instead"
	opts := []mediatest.Option{mediatest.Skip("pipe-transport", "MafaldaRouters with the same codecs share real routers, "+
		"and a router holds one producer per id: a pipe producer keeping the piped producer's id collides with it "+
		"(PipeToRouter between MafaldaRouters handles this)")}
	for _, step := range []string{"webrtc-server", "webrtc-server-worker-close", "webrtc-server-invalid", "webrtc-server-media"} {
		opts = append(opts, mediatest.Skip(step, noServer))
	}
	return opts
}
