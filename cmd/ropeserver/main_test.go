package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ropehq/rope/media/workerproc"
	"github.com/ropehq/rope/ropeclient"
	"github.com/ropehq/rope/ropeserver/fixture"
	"go.uber.org/goleak"
)

// TestMain runs a media worker instead of the tests when the test binary
// was started as one: the server's default worker processes are this
// binary (worker.go's init dispatches the same way for the real one).
func TestMain(m *testing.M) {
	if workerproc.IsWorkerMode() {
		workerproc.Main()
	}
	goleak.VerifyTestMain(m)
}

func TestConfigFromFlagsAndEnvironment(t *testing.T) {
	env := map[string]string{"ROPE_PORT": "9000", "ROPE_TOKEN": "env-token", "ROPE_SEND_FULL_ERRORS": "true"}
	cfg, err := parseConfig([]string{"-listen", "0.0.0.0", "-token", "flag-token"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.listen != "0.0.0.0" || cfg.port != 9000 || cfg.token != "flag-token" || !cfg.sendFullErrors {
		t.Errorf("config %+v", cfg)
	}
	def, err := parseConfig(nil, func(string) string { return "" })
	if err != nil || def.listen != "127.0.0.1" || def.port != 8444 || def.token != "" || def.sendFullErrors {
		t.Errorf("defaults %+v %v", def, err)
	}
}

// TestServesFixtureAndStopsCleanly runs the server as main would, drives
// the fixture with the Go client, and stops it as Ctrl-C does.
func TestServesFixtureAndStopsCleanly(t *testing.T) {
	cfg, _ := parseConfig([]string{"-port", "0"}, func(string) string { return "" })
	ctx, stop := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() { done <- run(ctx, cfg, log, ready) }()
	url := <-ready
	cctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := ropeclient.Dial(cctx, url, &ropeclient.Options{Logger: log, NoReconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	if err := c.Call(cctx, fixture.RootID, "echo", []int{7}, &out); err != nil || len(out) != 1 || out[0] != 7 {
		t.Fatalf("echo: %v %v", out, err)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	c.Close()
}
