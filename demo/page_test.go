package demo_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ropehq/rope/demo"
)

func TestHandlerServesThePage(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/demo/", http.StripPrefix("/demo", demo.Handler()))
	hs := httptest.NewServer(mux)
	defer hs.Close()
	bundle, err := os.ReadFile("dist/room.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, path string
		status       int
		ctype, has   string
	}{
		{"GET", "/demo/", 200, "text/html", `data-signal="rope"`},
		{"GET", "/demo/index.html", 200, "text/html", `<script type="module" src="room.js">`},
		{"GET", "/demo/room.js", 200, "text/javascript", string(bundle[:64])},
		{"GET", "/demo/room.css", 200, "text/css", ".tile"},
		{"HEAD", "/demo/room.js", 200, "text/javascript", ""},
		{"GET", "/demo/main.js", 404, "", ""},
		{"GET", "/demo/../go.mod", 404, "", ""},
		{"POST", "/demo/", 405, "", ""},
	} {
		req, _ := http.NewRequest(tc.method, hs.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
			continue
		}
		if ct := resp.Header.Get("Content-Type"); tc.ctype != "" && !strings.HasPrefix(ct, tc.ctype) {
			t.Errorf("%s %s: Content-Type %q, want %s", tc.method, tc.path, ct, tc.ctype)
		}
		if !bytes.Contains(body, []byte(tc.has)) {
			t.Errorf("%s %s: body lacks %q", tc.method, tc.path, tc.has)
		}
	}
}

// TestBundleMatchesSources rebuilds the page with the pinned esbuild and
// compares it with the committed dist/room.js, which the Go server embeds
// (so a fresh clone serves the demo with no build step): after a change
// to page/ or ropeclient/js/src, run `make demo` and commit dist/room.js.
func TestBundleMatchesSources(t *testing.T) {
	requireTools(t, false)
	out := filepath.Join(t.TempDir(), "room.js")
	cmd := exec.Command("node", "build.mjs", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node build.mjs: %v\n%s", err, b)
	}
	fresh, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("dist/room.js")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh, committed) {
		t.Fatalf("dist/room.js (%d bytes) is not what its sources build (%d bytes): run `make demo` and commit it", len(committed), len(fresh))
	}
}
