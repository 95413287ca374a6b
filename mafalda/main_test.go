package mafalda_test

import (
	"context"
	"testing"

	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/mediatest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestAPI runs the shared media API suite against Mafalda over the local
// engine: its workers are views and its routers MafaldaRouters.
func TestAPI(t *testing.T) {
	mediatest.Run(t, func(t *testing.T) media.API {
		m := mafalda.New(engine.New(nil), &mafalda.Options{CPUs: 2})
		t.Cleanup(func() {
			if err := m.Close(context.Background()); err != nil {
				t.Error(err)
			}
			if n := len(m.Workers()); n != 0 {
				t.Errorf("%d workers left", n)
			}
		})
		return m.API()
	})
}
