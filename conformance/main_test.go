package conformance_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ropehq/rope/conformance"
	"github.com/ropehq/rope/ropeserver"
	"github.com/ropehq/rope/ropeserver/fixture"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// startServer serves ropeserver with the fixture on loopback and returns
// its ws:// URL.
func startServer(t *testing.T, opts *ropeserver.Options) string {
	t.Helper()
	if opts == nil {
		opts = &ropeserver.Options{}
	}
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	if opts.ReplayWindow == 0 {
		opts.ReplayWindow = 512 // keeps rope/7.2.1/1 quick
	}
	if opts.MaxSessionObjects == 0 {
		opts.MaxSessionObjects = 200 // keeps rope/17.4.1/1 quick
	}
	srv := ropeserver.New(opts)
	if _, err := fixture.Register(srv); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/"
}

// run runs the suite and reports every failed or warned case as a test
// error, with the case's expectation and the frames exchanged.
func run(t *testing.T, target *conformance.Target, opts *conformance.Options) *conformance.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if opts == nil {
		opts = &conformance.Options{}
	}
	if opts.Timeout == 0 {
		opts.Timeout = 20 * time.Second
	}
	watchdog := time.AfterFunc(90*time.Second, func() {
		buf := make([]byte, 1<<20)
		fmt.Fprintf(os.Stderr, "conformance run still going after 90 s; goroutines:\n%s\n", buf[:runtime.Stack(buf, true)])
	})
	defer watchdog.Stop()
	rep, err := conformance.Run(ctx, target, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// requirePass fails t for every case of rep that did not pass or skip.
func requirePass(t *testing.T, rep *conformance.Report) {
	t.Helper()
	for _, c := range rep.Cases {
		if c.Result == conformance.Fail || c.Result == conformance.Warn {
			t.Errorf("%s %s %s: %s\n  expected: %s\n  actual:   %s", c.Result, c.ID, c.Level, c.Title, c.Expected, c.Actual)
		}
	}
}
