package mediaclient_test

import (
	"testing"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediaserver"
	"github.com/ropehq/rope/media/mediatest"
)

// TestAPI runs the shared media API suite against the engine driven
// remotely: engine behind a ROPE server, mediaclient on top.
func TestAPI(t *testing.T) {
	mediatest.Run(t, func(t *testing.T) media.API {
		s := startServer(t, &mediaserver.Options{AllowWorkerClose: true})
		c, _ := s.dial(t, nil)
		return c
	}, mediatest.As("mediaclient"))
}
