package monitor_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/monitor"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeclient"
	"github.com/ropehq/rope/ropeserver"
)

// get fetches url with the bearer token (none when token is "").
func get(t testing.TB, method, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestRoutesFollowTheToken: the page and /metrics answer 401 without the
// server's token or with a wrong one, 200 with it (bearer or
// access_token), and only to GET and HEAD.
func TestRoutesFollowTheToken(t *testing.T) {
	s := newServer(t, nil)
	for _, tc := range []struct {
		method, path, token string
		status              int
		has                 string
	}{
		{"GET", "/monitor/", "", 401, ""},
		{"GET", "/monitor/", "wrong", 401, ""},
		{"GET", "/monitor/", testToken, 200, `<script type="module">`},
		{"GET", "/monitor/?access_token=" + testToken, "", 200, "ROPE monitor"},
		{"GET", "/monitor/index.html?access_token=" + testToken, "", 200, "ROPE monitor"},
		{"GET", "/monitor/monitor.js?access_token=" + testToken, "", 404, ""},
		{"HEAD", "/monitor/", testToken, 200, ""},
		{"POST", "/monitor/", testToken, 405, ""},
		{"GET", "/metrics", "", 401, ""},
		{"GET", "/metrics?access_token=wrong", "", 401, ""},
		{"GET", "/metrics", testToken, 200, "rope_connections "},
		{"GET", "/metrics?access_token=" + testToken, "", 200, "rope_replay_ring_bytes "},
		{"POST", "/metrics", testToken, 405, ""},
	} {
		status, body := get(t, tc.method, s.http+tc.path, tc.token)
		if status != tc.status || !strings.Contains(body, tc.has) {
			t.Errorf("%s %s (token %q): %d, want %d with %q", tc.method, tc.path, tc.token, status, tc.status, tc.has)
		}
	}
}

// scrape reads /metrics into name{labels} → value.
func scrape(t testing.TB, s *server) map[string]float64 {
	t.Helper()
	status, body := get(t, "GET", s.http+"/metrics", testToken)
	if status != 200 {
		t.Fatalf("/metrics: %d", status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// TestMetricsMoveWithTraffic scrapes /metrics while a producer sends to
// two consumers: the object gauges count them, the packet and byte
// counters grow between scrapes, calls are counted by method and code,
// and no label carries an object id.
func TestMetricsMoveWithTraffic(t *testing.T) {
	s := newServer(t, nil)
	before := scrape(t, s)
	if before[`rope_media_packets_total{direction="out"}`] != 0 || before["rope_connections"] < 1 {
		t.Fatalf("before any room: %v", before)
	}
	r := newRoom(t, s)
	p := r.produce("alice", 3333)
	r.consume("bob", p, 1)
	r.consume("carol", p, 1)
	var m map[string]float64
	wait.Until(t, "forwarded packets in /metrics", func() bool {
		m = scrape(t, s)
		return m[`rope_media_packets_total{direction="out"}`] > 0 && m[`rope_media_bytes_total{direction="in"}`] > 0
	})
	for name, want := range map[string]float64{
		`rope_media_objects{type="worker"}`: 1, `rope_media_objects{type="router"}`: 1,
		`rope_media_objects{type="transport"}`: 3, `rope_media_objects{type="producer"}`: 1,
		`rope_media_objects{type="consumer"}`: 2,
	} {
		if m[name] != want {
			t.Errorf("%s = %v, want %v", name, m[name], want)
		}
	}
	for _, name := range []string{`rope_calls_total{code="0",method="PlainTransport.produce"}`,
		`rope_calls_total{code="0",method="PlainTransport.consume"}`, `rope_calls_total{code="0",method="Router.createPlainTransport"}`} {
		if m[name] < 1 {
			t.Errorf("%s = %v, want at least 1", name, m[name])
		}
	}
	first := m[`rope_media_packets_total{direction="out"}`]
	wait.Until(t, "the forwarded packets counter to grow", func() bool {
		m = scrape(t, s)
		return m[`rope_media_packets_total{direction="out"}`] > first && m[`rope_media_bytes_total{direction="out"}`] > 0 &&
			m[`rope_media_keyframes_total{direction="in"}`] > 0 && m[`rope_media_keyframes_total{direction="out"}`] > 0
	})
	if in, out := m[`rope_media_packets_total{direction="in"}`], m[`rope_media_packets_total{direction="out"}`]; out < in {
		t.Errorf("forwarded %v packets to two consumers of %v received", out, in)
	}
	// A call that fails is counted under its code; one to an unknown
	// object under rope.call.
	if err := s.dial(t).Call(ctxFor(t), "no-such-object", "close", nil, nil); err == nil {
		t.Fatal("a call to no object succeeded")
	}
	m = scrape(t, s)
	if m[`rope_calls_total{code="-32001",method="rope.call"}`] != 1 {
		t.Errorf("the failed call is not counted: %v", m)
	}
	ids := []string{p.producer.ID(), p.transport.ID()}
	for name := range m {
		for _, id := range ids {
			if strings.Contains(name, id) {
				t.Fatalf("metric %s carries an object id", name)
			}
		}
	}
}

// TestBundleMatchesSources rebuilds the page with the pinned esbuild and
// compares it with the committed dist/monitor.js, which the Go package
// embeds: after a change to page/ or ropeclient/js/src, run `make
// monitor` and commit dist/monitor.js.
func TestBundleMatchesSources(t *testing.T) {
	requireTools(t, false)
	out := filepath.Join(t.TempDir(), "monitor.js")
	if b, err := exec.Command("node", "build.mjs", out).CombinedOutput(); err != nil {
		t.Fatalf("node build.mjs: %v\n%s", err, b)
	}
	fresh, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("dist/monitor.js")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh, committed) {
		t.Fatalf("dist/monitor.js (%d bytes) is not what its sources build (%d bytes): run `make monitor` and commit it", len(committed), len(fresh))
	}
}

// TestGrantsThatHideObjectsGetNoFigures: on a server whose tokens carry
// grants (spec §18), a token that sees every object reads the page,
// /metrics and the figures; one whose grant hides objects gets 403 and
// -32004, since the figures name and measure them all.
func TestGrantsThatHideObjectsGetNoFigures(t *testing.T) {
	viewer := &ropeserver.Grant{Subject: "viewer", Hide: map[string]ropeserver.Hide{"Worker": ropeserver.HideAll}}
	rs := ropeserver.New(&ropeserver.Options{Logger: slog.New(slog.DiscardHandler),
		Authorize: func(_ *http.Request, token string) (*ropeserver.Grant, error) {
			switch token {
			case "operator":
				return nil, nil
			case "viewer":
				return viewer, nil
			}
			return nil, errors.New("unknown token")
		}})
	defer rs.Close()
	mon, err := monitor.Register(rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer mon.Close()
	mux := http.NewServeMux()
	mux.Handle("/{$}", rs)
	mux.Handle("/monitor/", http.StripPrefix("/monitor", monitor.Handler(rs)))
	mux.Handle("/metrics", monitor.MetricsHandler(rs, monitor.NewMetrics()))
	hs := httptest.NewServer(mux)
	defer hs.Close()
	for _, tc := range []struct {
		path, token string
		status      int
	}{
		{"/monitor/", "operator", 200}, {"/metrics", "operator", 200},
		{"/monitor/", "viewer", 403}, {"/metrics", "viewer", 403},
		{"/monitor/", "nobody", 401}, {"/metrics", "", 401},
	} {
		if status, _ := get(t, "GET", hs.URL+tc.path, tc.token); status != tc.status {
			t.Errorf("GET %s as %q: %d, want %d", tc.path, tc.token, status, tc.status)
		}
	}
	ws := "ws" + strings.TrimPrefix(hs.URL, "http") + "/"
	for token, want := range map[string]rope.Code{"operator": 0, "viewer": rope.CodeUnauthorized} {
		c, err := ropeclient.Dial(ctxFor(t), ws, &ropeclient.Options{Token: token, Dedicated: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, method := range []string{"subscribe", "snapshot"} {
			err := c.Call(ctxFor(t), monitor.RootID, method, nil, nil)
			var re *rope.Error
			if (want == 0 && err != nil) || (want != 0 && (!errors.As(err, &re) || re.Code != want)) {
				t.Errorf("%s as %s: %v, want code %d", method, token, err, want)
			}
		}
		c.Close()
	}
}
