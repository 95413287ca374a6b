package ropeserver_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/ropeserver"
	"github.com/ropehq/rope/ropeserver/fixture"
)

// resolvingTo returns an HTTP client whose every name resolves to the
// server of wsURL, as DNS does for a rebinding page (or for the server's
// own DNS name), and wsURL with its host replaced by host.
func resolvingTo(t *testing.T, wsURL, host string) (*http.Client, string) {
	t.Helper()
	u, err := url.Parse(wsURL)
	if err != nil {
		t.Fatal(err)
	}
	addr := u.Host
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	u.Host = net.JoinHostPort(host, u.Port())
	return &http.Client{Transport: tr}, u.String()
}

// handshake dials url and returns the HTTP status of the handshake (101
// when upgraded) and the body of a refusal.
func handshake(t *testing.T, url string, opts *websocket.DialOptions) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, url, opts)
	if err == nil {
		ws.CloseNow()
		return http.StatusSwitchingProtocols, ""
	}
	if resp == nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	var body []byte
	if resp.Body != nil {
		body, _ = io.ReadAll(resp.Body)
	}
	return resp.StatusCode, string(body)
}

// dialAs performs the handshake with Host host (and, for a browser, the
// same-origin Origin it sends).
func dialAs(t *testing.T, wsURL, host string, withOrigin bool) int {
	t.Helper()
	client, u := resolvingTo(t, wsURL, host)
	opts := &websocket.DialOptions{HTTPClient: client}
	if withOrigin {
		opts.HTTPHeader = http.Header{"Origin": {"http" + strings.TrimPrefix(strings.TrimSuffix(u, "/"), "ws")}}
	}
	code, _ := handshake(t, u, opts)
	return code
}

// A page on evil.example whose name rebinds to the server sends Host and
// Origin evil.example: same-origin to the Origin check, refused by the Host
// check before it learns anything (no rope.init, no objects).
func TestHostCheckRefusesRebinding(t *testing.T) {
	_, url := startServer(t, nil)
	for _, withOrigin := range []bool{true, false} {
		if code := dialAs(t, url, "evil.example", withOrigin); code != http.StatusForbidden {
			t.Errorf("Host evil.example (Origin sent: %v): HTTP %d, want 403", withOrigin, code)
		}
	}
	// Not even a plain GET learns what the server is.
	client, u := resolvingTo(t, url, "evil.example")
	resp, err := client.Get("http" + strings.TrimPrefix(u, "ws"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("plain GET with Host evil.example: HTTP %d, want 403", resp.StatusCode)
	}
}

func TestHostCheckPassesLoopbackAndAllowedHosts(t *testing.T) {
	_, url := startServer(t, &ropeserver.Options{AllowedHosts: []string{"app.example", "*.rope.example"}})
	for _, host := range []string{"127.0.0.1", "127.0.0.2", "localhost", "LocalHost.", "::1", "::ffff:127.0.0.1",
		"app.example", "APP.example", "eu.rope.example"} {
		if code := dialAs(t, url, host, true); code != http.StatusSwitchingProtocols {
			t.Errorf("Host %s: HTTP %d, want 101", host, code)
		}
	}
	for _, host := range []string{"evil.example", "app.example.evil.example", "rope.example", "localhost.evil.example", "10.0.0.1"} {
		if code := dialAs(t, url, host, true); code != http.StatusForbidden {
			t.Errorf("Host %s: HTTP %d, want 403", host, code)
		}
	}
}

func TestAllowedHostsStarTurnsTheCheckOff(t *testing.T) {
	_, url := startServer(t, &ropeserver.Options{AllowedHosts: []string{"*"}})
	if code := dialAs(t, url, "anything.example", false); code != http.StatusSwitchingProtocols {
		t.Errorf("HTTP %d, want 101", code)
	}
}

func TestGuardHostCoversOtherRoutes(t *testing.T) {
	srv := ropeserver.New(&ropeserver.Options{Logger: quiet, AllowedHosts: []string{"app.example"}})
	defer srv.Close()
	hs := httptest.NewServer(srv.GuardHost(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "page")
	})))
	defer hs.Close()
	for host, want := range map[string]int{"evil.example": 403, "127.0.0.1": 200, "localhost": 200, "app.example": 200} {
		client, u := resolvingTo(t, "ws"+strings.TrimPrefix(hs.URL, "http")+"/index.html", host)
		resp, err := client.Get("http" + strings.TrimPrefix(u, "ws"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %s: HTTP %d, want %d", host, resp.StatusCode, want)
		}
	}
}

// Spec §4.2.1: every presented token must be valid, and a malformed
// Authorization header refuses the handshake even next to a valid token.
func TestEveryPresentedTokenIsChecked(t *testing.T) {
	_, url := startServer(t, &ropeserver.Options{Token: "s3cret"})
	bearer := func(v ...string) http.Header { return http.Header{"Authorization": v} }
	for _, c := range []struct {
		name   string
		query  string
		header http.Header
		want   int
	}{
		{"two good headers", "", bearer("Bearer s3cret", "Bearer s3cret"), 101},
		{"good header, good query", "?access_token=s3cret", bearer("Bearer s3cret"), 101},
		{"two good queries", "?access_token=s3cret&access_token=s3cret", nil, 101},
		{"scheme in any case", "", bearer("bEaReR s3cret"), 101},
		{"good then wrong header", "", bearer("Bearer s3cret", "Bearer wrong"), 401},
		{"wrong then good header", "", bearer("Bearer wrong", "Bearer s3cret"), 401},
		{"good then wrong query", "?access_token=s3cret&access_token=wrong", nil, 401},
		{"wrong then good query", "?access_token=wrong&access_token=s3cret", nil, 401},
		{"good header, wrong query", "?access_token=wrong", bearer("Bearer s3cret"), 401},
		{"good header, empty query", "?access_token=", bearer("Bearer s3cret"), 401},
		{"good query, unparsable query", "?access_token=s3cret&x=%zz", nil, 401},
		{"no token", "", nil, 401},
	} {
		if code, _ := handshake(t, url+c.query, &websocket.DialOptions{HTTPHeader: c.header}); code != c.want {
			t.Errorf("%s: HTTP %d, want %d", c.name, code, c.want)
		}
	}
	for _, h := range []string{"Bearer", "Bearer ", "Bearer  s3cret", "Bearer\ts3cret", "Bearer s3cret extra",
		"s3cret", "Basic czNjcmV0OnM=", "Token s3cret", "Bearers3cret", ""} {
		code, _ := handshake(t, url+"?access_token=s3cret", &websocket.DialOptions{HTTPHeader: bearer(h)})
		if code != http.StatusUnauthorized {
			t.Errorf("Authorization %q next to a good access_token: HTTP %d, want 401", h, code)
		}
	}
}

// A server that requires no token ignores presented ones (spec §4.2.2),
// malformed or not.
func TestTokensIgnoredWithoutRequirement(t *testing.T) {
	_, url := startServer(t, nil)
	h := http.Header{"Authorization": {"Basic x", "Bearer"}}
	if code, _ := handshake(t, url+"?access_token=&x=%zz", &websocket.DialOptions{HTTPHeader: h}); code != 101 {
		t.Errorf("HTTP %d, want 101", code)
	}
}

func TestConnectionLimit(t *testing.T) {
	srv, url := startServer(t, &ropeserver.Options{MaxConnections: 2})
	a, b := dialPeer(t, url, nil), dialPeer(t, url, nil)
	a.init()
	b.init()
	code, body := handshake(t, url, nil)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "limit") {
		t.Fatalf("third connection: HTTP %d %q, want 503 naming the limit", code, body)
	}
	for _, p := range []*peer{a, b} {
		if resp := p.call(fixture.RootID, "echo", []int{1}); string(resp.Result) != "[1]" {
			t.Fatalf("open connection after a refusal: %+v", resp)
		}
	}
	a.ws.Close(websocket.StatusNormalClosure, "")
	wait.Until(t, "a free slot once a connection closed", func() bool {
		code, _ := handshake(t, url, nil)
		return code == http.StatusSwitchingProtocols
	})
	if n := srv.ConnCount(); n > 2 {
		t.Errorf("%d connections, limit 2", n)
	}
}

// syncBuffer collects log output written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A browser tab or curl on the server's URL gets 426 and what to do, and
// the log notes it at DEBUG only.
func TestPlainGETGetsUpgradeRequired(t *testing.T) {
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, url := startServer(t, &ropeserver.Options{Logger: log})
	resp, err := http.Get("http" + strings.TrimPrefix(url, "ws"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired || resp.Header.Get("Upgrade") != "websocket" ||
		!strings.Contains(string(body), "WebSocket client") {
		t.Errorf("HTTP %d, Upgrade %q, body %q: want 426 with advice", resp.StatusCode, resp.Header.Get("Upgrade"), body)
	}
	out := logs.String()
	if !strings.Contains(out, "level=DEBUG") || strings.Contains(out, "level=INFO") || strings.Contains(out, "level=WARN") {
		t.Errorf("log %q: want the plain GET at DEBUG only", out)
	}
}
