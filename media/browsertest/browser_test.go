// Package browsertest runs the unmodified mediasoup-client in headless
// Chromium against the engine, signalled over ROPE (see README.md).
package browsertest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/mediaserver"
	"github.com/ropehq/rope/media/mediatest"
	"github.com/ropehq/rope/ropeserver"
)

// requireBrowser skips where Chromium, node or the bundle is missing, except
// under ROPE_REQUIRE_BROWSER=1 (make test sets it) or CI=true, where a
// missing piece is a failure: there a skip would report ok for a test that
// never ran.
func requireBrowser(t *testing.T) {
	t.Helper()
	var missing []string
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		missing = append(missing, "/usr/bin/chromium")
	}
	if _, err := os.Stat("dist/app.js"); err != nil {
		missing = append(missing, "dist/app.js (npm ci && npm run build)")
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node")
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("ROPE_REQUIRE_BROWSER") == "1" || os.Getenv("CI") == "true" {
		t.Fatalf("missing %s (ROPE_REQUIRE_BROWSER=1 or CI=true: a browser test may not skip)", strings.Join(missing, ", "))
	}
	t.Skipf("missing %s", strings.Join(missing, ", "))
}

// TestChromiumSendsAndReceives: tab A produces the fake camera and
// microphone and a data channel; tab B consumes them and decodes frames,
// hears audio and gets the message (run.mjs asserts it).
func TestChromiumSendsAndReceives(t *testing.T) { runBrowsers(t, nil) }

// TestChromiumThroughWebRtcServer: as TestChromiumSendsAndReceives, with
// both tabs' transports on one WebRtcServer, so that both browsers'
// ICE, DTLS, SRTP and SCTP share its single UDP port on 127.0.0.1.
func TestChromiumThroughWebRtcServer(t *testing.T) {
	var server media.WebRtcServer
	runBrowsers(t, &hooks{
		setup: func(ctx context.Context, t *testing.T, w media.Worker, ms *mediaserver.Server) []string {
			s, err := w.CreateWebRtcServer(ctx, &media.WebRtcServerOptions{
				ListenInfos: []media.TransportListenInfo{{Protocol: media.ProtocolUDP, IP: "127.0.0.1"}}})
			if err != nil {
				t.Fatal(err)
			}
			server = s
			id, ok := ms.ObjectID(s)
			if !ok {
				t.Fatal("WebRtcServer not served over ROPE")
			}
			return []string{id}
		},
		check: func(ctx context.Context, t *testing.T) {
			// Both transports were on the server, each with the tuple
			// its browser's checks validated.
			d, err := server.Dump(ctx)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, th := range d.TupleHashes {
				seen[th.WebRtcTransportID] = true
			}
			if len(d.WebRtcTransportIDs) != 2 || !seen[d.WebRtcTransportIDs[0]] || !seen[d.WebRtcTransportIDs[1]] {
				t.Errorf("server dump %+v: want two transports, each with a tuple", d)
			}
		},
	})
}

// hooks adapt runBrowsers: router sees the router once created, setup
// runs once the worker is served and returns extra driver arguments;
// check runs after the driver passed; output, if set, gets the driver's
// JSON line first.
type hooks struct {
	router func(r media.Router)
	setup  func(ctx context.Context, t *testing.T, w media.Worker, ms *mediaserver.Server) []string
	check  func(ctx context.Context, t *testing.T)
	output func(out []byte)
	// codecs, if set, are the router's (else mediatest.MediaCodecs).
	codecs []media.RtpCodecCapability
}

// runBrowsers starts the engine behind a ROPE server with a router and
// runs the driver against it; h may be nil.
func runBrowsers(t *testing.T, h *hooks) {
	if testing.Short() {
		t.Skip("browser test")
	}
	requireBrowser(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var onRouter func(media.Router)
	var codecs []media.RtpCodecCapability
	if h != nil {
		onRouter, codecs = h.router, h.codecs
	}
	srv := startServerCodecs(ctx, t, onRouter, codecs)
	args := []string{"run.mjs", srv.base, srv.ws, srv.router.ID()}
	if h != nil && h.setup != nil {
		args = append(args, h.setup(ctx, t, srv.worker, srv.ms)...)
	}
	cmd := exec.CommandContext(ctx, "node", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	t.Logf("driver: %s", out)
	if err != nil {
		t.Fatalf("browser test failed: %v\n%s", err, stderr.String())
	}
	if h != nil && h.output != nil {
		h.output(out)
	}
	if h != nil && h.check != nil {
		h.check(ctx, t)
	}
}

// testServer is the engine behind a ROPE server (mediaserver) with one
// worker and router, and this directory under /static/ on an HTTP server
// on 127.0.0.1.
type testServer struct {
	worker  media.Worker
	router  media.Router
	ms      *mediaserver.Server
	handler http.Handler
	// base is the HTTP server's URL, ws its ROPE URL.
	base, ws string
}

// startServer starts a testServer that t's cleanup stops; onRouter, if
// set, sees the router once created.
func startServer(ctx context.Context, t *testing.T, onRouter func(media.Router)) *testServer {
	t.Helper()
	return startServerCodecs(ctx, t, onRouter, nil)
}

// startServerCodecs is startServer with the router's codecs (nil:
// mediatest.MediaCodecs).
func startServerCodecs(ctx context.Context, t *testing.T, onRouter func(media.Router), codecs []media.RtpCodecCapability) *testServer {
	t.Helper()
	if codecs == nil {
		codecs = mediatest.MediaCodecs()
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rs := ropeserver.New(&ropeserver.Options{Logger: log})
	api := engine.New(nil)
	ms, err := mediaserver.Register(rs, api, &mediaserver.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	w, err := api.CreateWorker(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(context.Background()) })
	if _, err := ms.AddWorker(w); err != nil {
		t.Fatal(err)
	}
	router, err := w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: codecs})
	if err != nil {
		t.Fatal(err)
	}
	if onRouter != nil {
		onRouter(router)
	}
	dir, _ := filepath.Abs(".")
	mux := http.NewServeMux()
	mux.Handle("/{$}", rs)
	mux.Handle("/static/", http.StripPrefix("/static/", http.FileServer(http.Dir(dir))))
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		ms.Close(context.Background())
		rs.Close()
		hs.Close()
	})
	return &testServer{worker: w, router: router, ms: ms, handler: mux, base: hs.URL,
		ws: "ws" + strings.TrimPrefix(hs.URL, "http") + "/"}
}
