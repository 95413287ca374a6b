package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ropehq/rope/demo"
	"github.com/ropehq/rope/ropeauth"
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

// demoJoin posts to the demo's join endpoint, with a bearer token when
// given.
func demoJoin(t *testing.T, url, room, bearer string) (int, demo.JoinResult) {
	t.Helper()
	req, err := http.NewRequest("POST", "http"+strings.TrimPrefix(url, "ws")+"demo/join", strings.NewReader(`{"room":"`+room+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res demo.JoinResult
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, res
}

// TestDemoJoinEndpoint: on a server that verifies signed tokens the
// demo's join endpoint gives anyone a participant token for the room,
// with which a connection sees that room's router only (a Router, or a
// MafaldaRouter); two joins get different subjects. A server whose only
// credential is -token asks for it and gives no token; an open server
// gives no token.
func TestDemoJoinEndpoint(t *testing.T) {
	for _, mode := range []string{"media", "mafalda"} {
		t.Run(mode, func(t *testing.T) {
			ctx := ctxT(t)
			_, url := startRun(t, "-workers", "in-process", "-media-mode", mode, "-token-secret", testSecret)
			code, res := demoJoin(t, url, "lobby", "")
			if code != http.StatusOK || res.Token == "" || res.RouterID == "" {
				t.Fatalf("join: %d %+v", code, res)
			}
			c, status, err := dialRaw(ctx, t, url, res.Token)
			if err != nil {
				t.Fatalf("handshake %d: %v", status, err)
			}
			init := c.init(t)
			if !init.View || init.Objects[0].ID != res.RouterID {
				t.Fatalf("view of the room: %+v", init.Objects)
			}
			for _, o := range init.Objects {
				if o.ID != res.RouterID && (o.Parent == nil || *o.Parent != res.RouterID) {
					t.Errorf("the participant sees %s %s outside the room", o.Type, o.ID)
				}
			}
			c.create(ctx, t, res.RouterID, "createWebRtcTransport", nil)
			v, err := ropeauth.NewVerifier(ropeauth.VerifierOptions{Secrets: [][]byte{[]byte(testSecret)}})
			if err != nil {
				t.Fatal(err)
			}
			_, again := demoJoin(t, url, "lobby", "")
			c1, err1 := v.Verify(res.Token)
			c2, err2 := v.Verify(again.Token)
			if err1 != nil || err2 != nil || c1.Subject == c2.Subject || c1.Subject == "" {
				t.Fatalf("subjects %v %v (%v %v): want two different", c1, c2, err1, err2)
			}
		})
	}
	t.Run("shared token", func(t *testing.T) {
		_, url := startRun(t, "-workers", "in-process", "-token", testOperator)
		if code, _ := demoJoin(t, url, "lobby", ""); code != http.StatusUnauthorized {
			t.Fatalf("join without the token: %d, want 401", code)
		}
		if code, res := demoJoin(t, url, "lobby", testOperator); code != http.StatusOK || res.Token != "" || res.RouterID == "" {
			t.Fatalf("join with the token: %d %+v", code, res)
		}
	})
	t.Run("open", func(t *testing.T) {
		_, url := startRun(t, "-workers", "in-process")
		if code, res := demoJoin(t, url, "lobby", ""); code != http.StatusOK || res.Token != "" {
			t.Fatalf("join: %d %+v", code, res)
		}
		if code, _ := demoJoin(t, url, strings.Repeat("x", 100), ""); code != http.StatusBadRequest {
			t.Fatalf("join with a long name: %d, want 400", code)
		}
	})
}
