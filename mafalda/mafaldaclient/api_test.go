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
	}, mediatest.As("mafaldaclient"), noWebRtcServer("webrtc-server"), noWebRtcServer("webrtc-server-worker-close"),
		noWebRtcServer("webrtc-server-invalid"))
}

// noWebRtcServer skips a step that needs a WebRtcServer on a worker:
// Mafalda's worker views have none.
func noWebRtcServer(step string) mediatest.Option {
	return mediatest.Skip(step, "a MafaldaRouter's worker view spans several real workers, a WebRtcServer's sockets belong to one: "+
		"WebRtcServers come from MafaldaRouterOptions.WebRtcServerOptions instead")
}
