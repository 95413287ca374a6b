package mafalda_test

import (
	"context"
	"testing"

	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediatest"
	"github.com/ropehq/rope/media/workerproc"
	"go.uber.org/goleak"
)

// TestMain runs a media worker instead of the tests when the test binary
// was started as one: the workerproc tests and benchmarks use the test
// binary itself as the worker program.
func TestMain(m *testing.M) {
	if workerproc.IsWorkerMode() {
		workerproc.Main()
	}
	goleak.VerifyTestMain(m)
}

// TestAPI runs the shared media API suite against Mafalda over the local
// engine: its workers are views and its routers MafaldaRouters.
func TestAPI(t *testing.T) {
	mediatest.Run(t, func(t *testing.T) media.API {
		return newMafalda(t, &mafalda.Options{CPUs: 2}).API()
	}, append(mafaldaSkips(), mediatest.As("mafalda"))...)
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

// TestAPIStacked runs the suite against a Mafalda over another Mafalda:
// the outer one's workers are the inner one's views, its routers spread
// over the inner MafaldaRouters.
func TestAPIStacked(t *testing.T) {
	mediatest.Run(t, func(t *testing.T) media.API {
		inner := newMafalda(t, &mafalda.Options{CPUs: 2})
		outer := mafalda.New(inner.API(), &mafalda.Options{CPUs: 2})
		t.Cleanup(func() {
			if err := outer.Close(context.Background()); err != nil {
				t.Error(err)
			}
		})
		return outer.API()
	}, append(mafaldaSkips(), mediatest.As("mafalda-stacked"))...)
}
