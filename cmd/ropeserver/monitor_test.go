package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ropehq/rope/cluster/natsutil"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/monitor"
	"github.com/ropehq/rope/ropeclient"
)

// monitorGet fetches a path of the server at ws url, with a bearer token
// unless it is "".
func monitorGet(t *testing.T, url, path, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", "http"+strings.TrimPrefix(url, "ws")+strings.TrimPrefix(path, "/"), nil)
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

// TestServesTheMonitor: with -token, /monitor/ and /metrics answer 401
// without it and 200 with it; the Monitor object is there, read-only;
// calls are counted in /metrics. -monitor=false -metrics=false serves
// neither.
func TestServesTheMonitor(t *testing.T) {
	_, url := startRun(t, "-workers", "in-process", "-token", "s3cr3t")
	for _, path := range []string{"/monitor/", "/metrics"} {
		if code, _ := monitorGet(t, url, path, ""); code != http.StatusUnauthorized {
			t.Errorf("GET %s without the token: %d, want 401", path, code)
		}
	}
	if code, body := monitorGet(t, url, "/monitor/?access_token=s3cr3t", ""); code != 200 || !strings.Contains(body, "ROPE monitor") {
		t.Errorf("GET /monitor/ with the token: %d %.80q", code, body)
	}
	rc, err := ropeclient.Dial(ctxT(t), url, &ropeclient.Options{Logger: quiet, NoReconnect: true, Token: "s3cr3t"})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	o, ok := rc.Object(monitor.RootID)
	var info monitor.ServerInfo
	if !ok || o.DecodeProp("server", &info) != nil || "ws://"+info.ID+"/" != url {
		t.Fatalf("the Monitor's server %+v, want %s's host and port", info, url)
	}
	var f monitor.Figures
	if err := rc.Call(ctxT(t), monitor.RootID, "subscribe", nil, &f); err != nil || f.Server.Conns < 1 {
		t.Fatalf("subscribe: %v %+v", err, f)
	}
	code, body := monitorGet(t, url, "/metrics", "s3cr3t")
	if code != 200 || !strings.Contains(body, `rope_calls_total{code="0",method="Monitor.subscribe"} 1`) ||
		!strings.Contains(body, "rope_monitor_subscribers 1") {
		t.Fatalf("GET /metrics: %d\n%s", code, body)
	}

	_, off := startRun(t, "-workers", "in-process", "-monitor=false", "-metrics=false")
	for _, path := range []string{"/monitor/", "/metrics"} {
		if code, _ := monitorGet(t, off, path, ""); code != http.StatusNotFound {
			t.Errorf("GET %s with -monitor=false -metrics=false: %d, want 404", path, code)
		}
	}
}

// TestLogFormatJSON: -log-format json writes every line as one JSON
// object with slog's keys, the monitor's URL among them; another format
// is refused.
func TestLogFormatJSON(t *testing.T) {
	var stderr lockedBuffer
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- mainCode(ctx, []string{"-port", "0", "-workers", "in-process", "-log-format", "json"}, noEnv, &stderr)
	}()
	wait.Until(t, "the monitor's line in the log", func() bool { return strings.Contains(stderr.String(), "/monitor/") })
	stop()
	if code := <-done; code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	sc := bufio.NewScanner(strings.NewReader(stderr.String()))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil || line["time"] == nil || line["level"] == nil || line["msg"] == nil {
			t.Errorf("log line not slog JSON: %q (%v)", sc.Text(), err)
		}
	}
	var out bytes.Buffer
	if code := mainCode(context.Background(), []string{"-log-format", "xml"}, noEnv, &out); code != 2 || !strings.Contains(out.String(), "log-format") {
		t.Errorf("-log-format xml: exit %d, %q", code, out.String())
	}
}

// TestMonitorListsTheCluster: two servers and an endpoint on one NATS
// server; each one's figures list every server of the cluster (itself
// marked), with its ROPE URL, so the page links to each one's monitor.
func TestMonitorListsTheCluster(t *testing.T) {
	ns, err := natsutil.StartServer(context.Background(), &natsutil.ServerOptions{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Close)
	hb := []string{"-cluster-heartbeat", "100ms", "-nats", ns.ClientURL(), "-workers", "in-process"}
	_, a := startRun(t, append([]string{"-listen", "127.0.0.2", "-cluster", "-server-id", "a"}, hb...)...)
	_, b := startRun(t, append([]string{"-listen", "127.0.0.3", "-cluster", "-server-id", "b"}, hb...)...)
	_, ep := startRun(t, append([]string{"-listen", "127.0.0.4", "-cluster-endpoint", "-server-id", "ep"}, hb...)...)
	for _, url := range []string{a, ep} {
		rc, err := ropeclient.Dial(ctxT(t), url, &ropeclient.Options{Logger: quiet, NoReconnect: true})
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		var f monitor.Figures
		wait.Until(t, "both servers in "+url+"'s figures", func() bool {
			f = monitor.Figures{}
			if err := rc.Call(ctxT(t), monitor.RootID, "snapshot", nil, &f); err != nil {
				t.Fatal(err)
			}
			urls := map[string]bool{}
			for _, s := range f.Servers {
				urls[s.URL] = true
			}
			return urls[a] && urls[b]
		})
		self := 0
		for _, s := range f.Servers {
			if s.Self {
				self++
			}
		}
		if self != 1 {
			t.Fatalf("%s: servers %+v, want one marked self", url, f.Servers)
		}
	}
}
