package mediaclient_test

import (
	"context"
	"testing"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/mediatest"
)

// appData a client sets reaches the server application's own media object.
func TestClientAppDataReachesTheServer(t *testing.T) {
	s := startServer(t, nil)
	local := serveLocalRouter(t, s)
	mc, _ := s.dial(t, nil)
	obj, ok := mc.Object(local.ID())
	if !ok {
		t.Fatalf("router %s not mirrored", local.ID())
	}
	remote, ok := obj.(media.Router)
	if !ok {
		t.Fatalf("mirror of the router is a %T", obj)
	}
	remote.SetAppData(media.AppData{"room": "blue"})
	if got := local.AppData()["room"]; got != "blue" {
		t.Errorf("server-side appData %v, want room=blue", local.AppData())
	}
}

// appData the server application sets on its own media object reaches
// every client's mirror, and the client's OnAppDataChange fires.
func TestServerAppDataReachesClients(t *testing.T) {
	ctx := ctxT(t)
	s := startServer(t, nil)
	local := serveLocalRouter(t, s)
	var remotes []media.Router
	changes := make(chan media.AppData, 4)
	for range 2 {
		mc, _ := s.dial(t, nil)
		obj, ok := mc.Object(local.ID())
		if !ok {
			t.Fatalf("router %s not mirrored", local.ID())
		}
		r := obj.(media.Router)
		remotes = append(remotes, r)
		r.(media.AppDataNotifier).OnAppDataChange(func(d media.AppData) { changes <- d })
	}
	local.SetAppData(media.AppData{"room": "green"})
	for i, r := range remotes {
		wait.Until(t, "the server's appData in client "+string(rune('A'+i)), func() bool { return r.AppData()["room"] == "green" })
	}
	for range remotes {
		select {
		case d := <-changes:
			if d["room"] != "green" {
				t.Errorf("OnAppDataChange got %v", d)
			}
		case <-ctx.Done():
			t.Fatal("OnAppDataChange did not fire")
		}
	}
}

// serveLocalRouter creates a router on a worker of the server application
// (not through a client) and serves it on s.
func serveLocalRouter(t *testing.T, s *server) media.Router {
	t.Helper()
	w, err := engine.New(nil).CreateWorker(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(context.Background()) })
	if _, err := s.media.AddWorker(w); err != nil {
		t.Fatal(err)
	}
	local, err := w.CreateRouter(ctxT(t), &media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()})
	if err != nil {
		t.Fatal(err)
	}
	return local
}
