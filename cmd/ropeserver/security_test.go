package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ropehq/rope/internal/wait"
)

func noEnv(string) string { return "" }

func TestHelpExitsZero(t *testing.T) {
	var out bytes.Buffer
	if code := mainCode(context.Background(), []string{"-h"}, noEnv, &out); code != 0 {
		t.Errorf("-h: exit %d, want 0", code)
	}
	if s := out.String(); !strings.Contains(s, "Usage: ropeserver") || !strings.Contains(s, "-allowed-hosts") || strings.Contains(s, "help requested") {
		t.Errorf("-h printed %q", s)
	}
	out.Reset()
	if code := mainCode(context.Background(), []string{"-no-such-flag"}, noEnv, &out); code != 2 || !strings.Contains(out.String(), "no-such-flag") {
		t.Errorf("bad flag: exit %d, output %q; want 2 naming the flag", code, out.String())
	}
}

// A listen address others can reach needs a token, or an explicit
// -insecure-no-token.
func TestPublicListenNeedsToken(t *testing.T) {
	for _, listen := range []string{"0.0.0.0", "::", "", "192.0.2.1", "server.example"} {
		_, err := parseConfig([]string{"-listen", listen}, noEnv)
		if err == nil || !strings.Contains(err.Error(), "-token") || !strings.Contains(err.Error(), "-insecure-no-token") {
			t.Errorf("-listen %q without a token: %v, want a refusal naming -token and -insecure-no-token", listen, err)
		}
	}
	var out bytes.Buffer
	if code := mainCode(context.Background(), []string{"-listen", "0.0.0.0", "-port", "0"}, noEnv, &out); code != 2 ||
		!strings.Contains(out.String(), "refusing to listen on 0.0.0.0 without a token") {
		t.Errorf("exit %d, output %q: want 2 and the reason", code, out.String())
	}
	env := map[string]string{"ROPE_INSECURE_NO_TOKEN": "true"}
	for _, c := range []struct {
		args []string
		env  func(string) string
	}{
		{[]string{"-listen", "0.0.0.0", "-token", "t"}, noEnv},
		{[]string{"-listen", "0.0.0.0", "-insecure-no-token"}, noEnv},
		{[]string{"-listen", "0.0.0.0"}, func(k string) string { return env[k] }},
		{[]string{"-listen", "127.0.0.3"}, noEnv},
		{[]string{"-listen", "::1"}, noEnv},
		{[]string{"-listen", "localhost"}, noEnv},
	} {
		if _, err := parseConfig(c.args, c.env); err != nil {
			t.Errorf("%v: %v", c.args, err)
		}
	}
}

func TestSecurityConfigFromFlagsAndEnvironment(t *testing.T) {
	def, err := parseConfig(nil, noEnv)
	if err != nil || def.allowedHosts != nil || def.maxConnections != 10000 || def.insecureNoToken || def.logLevel.String() != "INFO" {
		t.Fatalf("defaults %+v %v", def, err)
	}
	env := map[string]string{"ROPE_ALLOWED_HOSTS": "a.example, *.b.example", "ROPE_MAX_CONNECTIONS": "7", "ROPE_LOG_LEVEL": "debug"}
	getenv := func(k string) string { return env[k] }
	cfg, err := parseConfig(nil, getenv)
	if err != nil || strings.Join(cfg.allowedHosts, "|") != "a.example|*.b.example" || cfg.maxConnections != 7 || cfg.logLevel.String() != "DEBUG" {
		t.Fatalf("from env %+v %v", cfg, err)
	}
	cfg, err = parseConfig([]string{"-allowed-hosts", "c.example", "-max-connections", "-1", "-log-level", "warn"}, getenv)
	if err != nil || strings.Join(cfg.allowedHosts, "|") != "c.example" || cfg.maxConnections != -1 || cfg.logLevel.String() != "WARN" {
		t.Fatalf("flags over env %+v %v", cfg, err)
	}
	for _, args := range [][]string{{"-allowed-hosts", "[x"}, {"-max-connections", "0"}, {"-log-level", "loud"}} {
		if _, err := parseConfigTo(io.Discard, args, noEnv); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

// client returns an HTTP client that reaches the server of wsURL whatever
// name it dials (as DNS does for a rebinding page), and the server's port.
func client(t *testing.T, wsURL string) (*http.Client, string) {
	t.Helper()
	u, err := url.Parse(wsURL)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", u.Port())
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, u.Port()
}

// get fetches path from the server with Host host; it returns the status
// and the body.
func get(t *testing.T, c *http.Client, port, host, path string) (int, string) {
	t.Helper()
	resp, err := c.Get("http://" + net.JoinHostPort(host, port) + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// staticDir makes a -static directory with what may be served and what
// may not, and a file outside it.
func staticDir(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	dir := filepath.Join(base, "public")
	files := map[string]string{
		"public/a.txt": "a", "public/.secret": "secret", "public/.git/config": "secret",
		"public/sub/b.txt": "b", "public/site/index.html": "site", "outside/x.txt": "secret", "outside.txt": "secret",
	}
	for name, body := range files {
		p := filepath.Join(base, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"link-in": "a.txt", "link-out": "../outside.txt", "dir-out": "../outside", "abs-out": filepath.Join(base, "outside.txt"),
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestStaticServesOnlyPublicFiles(t *testing.T) {
	_, wsURL := startRun(t, "-media=false", "-static", staticDir(t), "-token", "s3cret")
	c, port := client(t, wsURL)
	for path, want := range map[string]string{
		"/static/a.txt": "a", "/static/sub/b.txt": "b", "/static/site/": "site", "/static/link-in": "a",
	} {
		// No token: -static is public (the token guards the WebSocket).
		if code, body := get(t, c, port, "127.0.0.1", path); code != http.StatusOK || body != want {
			t.Errorf("%s: HTTP %d %q, want 200 %q", path, code, body, want)
		}
	}
	for _, path := range []string{
		"/static/", "/static/sub/", "/static/sub", "/static/.secret", "/static/.git/config", "/static/.git/",
		"/static/link-out", "/static/dir-out/x.txt", "/static/abs-out", "/static/%2e%2e/outside.txt",
	} {
		if code, body := get(t, c, port, "127.0.0.1", path); code != http.StatusNotFound {
			t.Errorf("%s: HTTP %d %q, want 404", path, code, body)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, resp, err := websocket.Dial(ctx, wsURL, nil); err == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("WebSocket without a token: %v, want HTTP 401", err)
	}
}

// Every route checks Host: a DNS-rebinding page gets neither the static
// files nor the WebSocket; the server's own names do.
func TestHostCheckedOnEveryRoute(t *testing.T) {
	_, wsURL := startRun(t, "-media=false", "-static", staticDir(t), "-allowed-hosts", "app.example",
		"-announced-ip", "203.0.113.7")
	c, port := client(t, wsURL)
	for _, path := range []string{"/", "/static/a.txt", "/nothing"} {
		if code, _ := get(t, c, port, "evil.example", path); code != http.StatusForbidden {
			t.Errorf("Host evil.example %s: HTTP %d, want 403", path, code)
		}
	}
	for _, host := range []string{"127.0.0.1", "localhost", "app.example", "203.0.113.7"} {
		if code, _ := get(t, c, port, host, "/static/a.txt"); code != http.StatusOK {
			t.Errorf("Host %s: HTTP %d, want 200", host, code)
		}
		if code, body := get(t, c, port, host, "/"); code != http.StatusUpgradeRequired || !strings.Contains(body, "WebSocket") {
			t.Errorf("Host %s, plain GET /: HTTP %d %q, want 426 with advice", host, code, body)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for host, want := range map[string]int{"evil.example": http.StatusForbidden, "app.example": http.StatusSwitchingProtocols} {
		origin := "http://" + net.JoinHostPort(host, port)
		ws, resp, err := websocket.Dial(ctx, "ws://"+net.JoinHostPort(host, port)+"/",
			&websocket.DialOptions{HTTPClient: c, HTTPHeader: http.Header{"Origin": {origin}}})
		code := http.StatusSwitchingProtocols
		if err != nil {
			code = resp.StatusCode
		} else {
			ws.CloseNow()
		}
		if code != want {
			t.Errorf("WebSocket with Host and Origin %s: HTTP %d, want %d", host, code, want)
		}
	}
}

func TestMaxConnections(t *testing.T) {
	_, wsURL := startRun(t, "-media=false", "-max-connections", "1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	_, resp, err := websocket.Dial(ctx, wsURL, nil)
	if err == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("second connection: %v, want HTTP 503", err)
	}
}

// lockedBuffer is stderr shared by the server's goroutines and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The log is one format from start to exit, and a plain GET of the server's
// URL does not appear in it at the default level.
func TestLogIsOneFormat(t *testing.T) {
	var stderr lockedBuffer
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- mainCode(ctx, []string{"-port", "0", "-media=false"}, noEnv, &stderr) }()
	urlAttr := regexp.MustCompile(`url=(ws://\S+)`)
	var wsURL string
	wait.Until(t, "the listening line in the log", func() bool {
		m := urlAttr.FindStringSubmatch(stderr.String())
		if m != nil {
			wsURL = m[1]
		}
		return m != nil
	})
	c, port := client(t, wsURL)
	if code, _ := get(t, c, port, "127.0.0.1", "/"); code != http.StatusUpgradeRequired {
		t.Errorf("plain GET: HTTP %d, want 426", code)
	}
	stop()
	if code := <-done; code != 0 {
		t.Errorf("exit %d after Ctrl-C, want 0", code)
	}
	sc := bufio.NewScanner(strings.NewReader(stderr.String()))
	lines := 0
	for sc.Scan() {
		lines++
		if !strings.HasPrefix(sc.Text(), "time=") {
			t.Errorf("log line not in slog's text format: %q", sc.Text())
		}
		if strings.Contains(sc.Text(), "handshake") || strings.Contains(sc.Text(), "WebSocket") {
			t.Errorf("plain GET logged at the default level: %q", sc.Text())
		}
	}
	if lines < 2 {
		t.Errorf("log %q: want the listening and shutting-down lines", stderr.String())
	}
}
