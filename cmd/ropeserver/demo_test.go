package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ropehq/rope/demo"
	"github.com/ropehq/rope/ropeclient"
)

// demoGet fetches a path of the server at ws url over HTTP.
func demoGet(t *testing.T, url, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http" + strings.TrimPrefix(url, "ws") + strings.TrimPrefix(path, "/"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServesTheDemo: the page is at /demo/, and DemoRooms.join gives a
// room's router, which the server's own demo connection created: a Router
// on a worker of its own, or with -media-mode=mafalda a MafaldaRouter.
// With -token the page is public and the demo's own connection presents
// the token. The server then stops cleanly (startRun checks), rooms and
// connection closed.
func TestServesTheDemo(t *testing.T) {
	for _, tc := range []struct {
		name, mode, token, routerType string
	}{
		{"media", "media", "", "Router"},
		{"mafalda", "mafalda", "", "MafaldaRouter"},
		{"token", "media", "s3cr3t", "Router"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, url := startRun(t, "-workers", "in-process", "-media-mode", tc.mode, "-token", tc.token)
			if code, body := demoGet(t, url, "/demo/"); code != 200 || !strings.Contains(body, `data-signal="rope"`) {
				t.Fatalf("GET /demo/: %d %.80q", code, body)
			}
			if code, _ := demoGet(t, url, "/demo/room.js"); code != 200 {
				t.Fatalf("GET /demo/room.js: %d", code)
			}
			rc, err := ropeclient.Dial(ctxT(t), url, &ropeclient.Options{Logger: quiet, NoReconnect: true, Token: tc.token})
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			var res demo.JoinResult
			if err := rc.Call(ctxT(t), demo.RootID, "join", demo.JoinParams{Room: "lobby"}, &res); err != nil {
				t.Fatal(err)
			}
			r, ok := rc.Object(res.RouterID)
			if !ok || r.Type() != tc.routerType {
				t.Fatalf("router %q: %v", res.RouterID, r)
			}
			if tc.routerType == "Router" {
				w, ok := rc.Object(r.ParentID())
				var appData map[string]any
				if !ok || json.Unmarshal(w.AppData(), &appData) != nil || appData["demo"] != true {
					t.Fatalf("the room's worker %v, appData %s", w, w.AppData())
				}
			}
			var again demo.JoinResult
			if err := rc.Call(ctxT(t), demo.RootID, "join", demo.JoinParams{Room: "lobby"}, &again); err != nil || again != res {
				t.Fatalf("second join %+v %v, want %+v", again, err, res)
			}
		})
	}
}

// TestDemoOff: -demo=false serves neither the page nor DemoRooms.
func TestDemoOff(t *testing.T) {
	_, url := startRun(t, "-workers", "in-process", "-demo=false")
	if code, _ := demoGet(t, url, "/demo/"); code != http.StatusNotFound {
		t.Fatalf("GET /demo/: %d, want 404", code)
	}
	rc, err := ropeclient.Dial(ctxT(t), url, &ropeclient.Options{Logger: quiet, NoReconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, ok := rc.Object(demo.RootID); ok {
		t.Fatal("DemoRooms served with -demo=false")
	}
}
