package horizontal_test

import (
	"context"
	"testing"

	"github.com/ropehq/rope/cluster/horizontal"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediatest"
)

// newMafalda stacks a Mafalda over the horizontal API of a cluster of n
// servers, one worker per server.
func newMafalda(t *testing.T, n int, o *mafalda.Options) (*mafalda.Mafalda, *horizontal.API) {
	t.Helper()
	_, _, view := cluster(t, n)
	api := newAPI(t, view)
	if o == nil {
		o = &mafalda.Options{}
	}
	o.CPUs = n
	m := mafalda.New(api, o)
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	return m, api
}

// TestMafaldaAPI runs the shared suite against Mafalda over the
// horizontal API: its rooms span the cluster's servers.
func TestMafaldaAPI(t *testing.T) {
	mediatest.Run(t, func(t *testing.T) media.API {
		m, _ := newMafalda(t, 2, nil)
		return m.API()
	}, append(mafaldaSkips(), mediatest.As("horizontal-mafalda"))...)
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

// TestMafaldaRoomSpansServers: one room whose workers fill up spreads
// over every server of the cluster; the producer's RTP reaches a
// consumer on each.
func TestMafaldaRoomSpansServers(t *testing.T) {
	m, _ := newMafalda(t, 3, &mafalda.Options{MaxConsumersPerWorker: 1})
	ctx := ctxT(t)
	three := 3
	room, err := m.CreateMafaldaRouter(ctx, &mafalda.MafaldaRouterOptions{MaxWorkers: &three, RouterOptions: media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()}})
	if err != nil {
		t.Fatal(err)
	}
	src := startRoom(t, room)
	var viewers []*viewer
	for range 3 {
		viewers = append(viewers, consumeOn(t, room, src.producer.ID()))
	}
	servers := map[string]bool{}
	for _, w := range m.Workers() {
		if id, ok := horizontal.ServerOf(w); ok {
			servers[id] = true
		} else {
			t.Fatalf("Mafalda's worker %T is not the cluster's", w)
		}
	}
	if len(servers) != 3 {
		t.Fatalf("the room uses servers %v, want all 3", servers)
	}
	src.send(t, 10)
	for _, v := range viewers {
		wait.Until(t, "RTP at every viewer", func() bool { return v.received() >= 10 })
	}
}
