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
	})
}
