package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ropehq/rope/conformance"
	"github.com/ropehq/rope/ropeserver"
	"github.com/ropehq/rope/ropeserver/fixture"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func startServer(t *testing.T, opts *ropeserver.Options) string {
	t.Helper()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
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

func TestReportAndExitCodes(t *testing.T) {
	t.Parallel()
	url := startServer(t, &ropeserver.Options{})
	report := filepath.Join(t.TempDir(), "report.json")
	var out bytes.Buffer
	code := run(context.Background(), []string{"--url", url, "--cases", "rope/6.*,rope/9.3.3/1", "--exclude", "rope/6.6.*", "--json", report}, &out, io.Discard)
	if code != 0 {
		t.Fatalf("exit %d, want 0:\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "fail (MUST)") {
		t.Errorf("no summary line in:\n%s", out.String())
	}
	raw, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var rep conformance.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Tool != "rope-conformance" || rep.Spec != "rope.v1" || rep.Target != url || rep.Summary.Total != len(rep.Cases) {
		t.Errorf("report header %+v", rep)
	}
	skipped, ok := rep.Result("rope/6.6.1/1")
	if !ok || skipped.Result != conformance.Skip {
		t.Errorf("excluded case: %+v", skipped)
	}
	c, ok := rep.Result("rope/9.3.3/1")
	if !ok || c.Result != conformance.Pass || c.Section != "9.3.3" || c.Level != conformance.MUST || len(c.Frames) == 0 || c.Expected == "" {
		t.Errorf("case result %+v", c)
	}
}

func TestMustFailureExitsOne(t *testing.T) {
	t.Parallel()
	url := startServer(t, &ropeserver.Options{SendFullErrors: true})
	var out bytes.Buffer
	if code := run(context.Background(), []string{"--url", url, "--cases", "rope/9.*"}, &out, io.Discard); code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "FAIL rope/9.3.3/1") {
		t.Errorf("summary does not name the failed case:\n%s", out.String())
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	if code := run(context.Background(), nil, io.Discard, io.Discard); code != 2 {
		t.Errorf("no --url: exit %d, want 2", code)
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"--list"}, &out, io.Discard); code != 0 || !strings.Contains(out.String(), "rope/6.7.1/1") {
		t.Errorf("--list: exit %d\n%s", code, out.String())
	}
}
