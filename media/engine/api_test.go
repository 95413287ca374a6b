package engine_test

import (
	"testing"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/mediatest"
)

// TestAPI runs the shared media API suite against the local engine.
func TestAPI(t *testing.T) {
	mediatest.Run(t, func(t *testing.T) media.API { return engine.New(nil) }, mediatest.As("engine"))
}
