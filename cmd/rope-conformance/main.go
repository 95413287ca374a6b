// Command rope-conformance runs the ROPE v1 conformance suite against a
// server that exposes the standard test fixture (spec §15):
//
//	rope-conformance --url ws://127.0.0.1:8444/ [--token T] [--cases GLOBS]
//	    [--exclude GLOBS] [--timeout 30s] [--json report.json] [--list] [-v]
//
// It prints a readable summary and exits 1 when a MUST case fails (SHOULD
// and MAY failures are warnings), 2 on a usage or I/O error.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/ropehq/rope/conformance"
)

type config struct {
	url      string
	token    string
	cases    string
	exclude  string
	timeout  time.Duration
	jsonPath string
	list     bool
	verbose  bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func parse(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("rope-conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.StringVar(&c.url, "url", "", "WebSocket URL of the server under test (required)")
	fs.StringVar(&c.token, "token", "", "bearer token the server requires; without it the auth cases skip")
	fs.StringVar(&c.cases, "cases", "", "comma-separated globs of case ids to run (default all), e.g. 'rope/6.*,rope/7.*'")
	fs.StringVar(&c.exclude, "exclude", "", "comma-separated globs of case ids to skip")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "time limit of each case")
	fs.StringVar(&c.jsonPath, "json", "", "write the machine-readable report to this file")
	fs.BoolVar(&c.list, "list", false, "list the cases and the excluded requirements, run nothing")
	fs.BoolVar(&c.verbose, "v", false, "print every case as it finishes")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.url == "" && !c.list {
		return c, errors.New("rope-conformance: --url is required")
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parse(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, err)
		}
		return 2
	}
	if c.list {
		list(stdout)
		return 0
	}
	opts := &conformance.Options{Cases: splitGlobs(c.cases), Exclude: splitGlobs(c.exclude), Timeout: c.timeout}
	if c.verbose {
		opts.Progress = stdout
	}
	rep, err := conformance.Run(ctx, &conformance.Target{URL: c.url, Token: c.token}, opts)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	rep.WriteSummary(stdout)
	if c.jsonPath != "" {
		if err := writeJSON(c.jsonPath, rep); err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
	}
	if rep.Failed() {
		return 1
	}
	return 0
}

func splitGlobs(s string) []string {
	var out []string
	for g := range strings.SplitSeq(s, ",") {
		if g = strings.TrimSpace(g); g != "" {
			out = append(out, g)
		}
	}
	return out
}

func writeJSON(path string, rep *conformance.Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("rope-conformance: encode report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("rope-conformance: write report: %w", err)
	}
	return nil
}

func list(w io.Writer) {
	for _, c := range conformance.Cases() {
		fmt.Fprintf(w, "%-16s %-6s %s\n", c.ID, c.Level, c.Title)
	}
	fmt.Fprintln(w, "\nexcluded:")
	for _, e := range conformance.Excluded() {
		fmt.Fprintf(w, "§%-8s %s\n", e.Section, e.Reason)
	}
}
