package conformance_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ropehq/rope/conformance"
)

// TestBinary builds cmd/ropeserver, starts it on a free port (with and
// without a token), runs the whole suite against it and checks that it
// exits 0 on SIGINT.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs cmd/ropeserver")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "ropeserver")
	build := exec.Command("go", "build", "-o", bin, "github.com/ropehq/rope/cmd/ropeserver")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, token := range []string{"", "s3cret+token"} {
		t.Run(fmt.Sprintf("token=%q", token), func(t *testing.T) {
			url, stop := startBinary(t, bin, token)
			rep := run(t, &conformance.Target{URL: url, Token: token}, &conformance.Options{Exclude: knownServerBugs})
			requirePass(t, rep)
			if err := stop(); err != nil {
				t.Errorf("ropeserver after SIGINT: %v", err)
			}
		})
	}
}

// startBinary starts the server with -port 0 and reads its URL from
// stdout. stop interrupts it and returns its exit error.
func startBinary(t *testing.T, bin, token string) (string, func() error) {
	t.Helper()
	args := []string{"-port", "0", "-max-session-objects", "200"} // keeps rope/17.4.1/1 quick
	if token != "" {
		args = append(args, "-token", token)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stderr = io.Discard
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = pw
	err = cmd.Start()
	pw.Close()
	if err != nil {
		pr.Close()
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	drained := make(chan struct{})
	go func() { // reads stdout until the process exits
		defer close(drained)
		defer pr.Close()
		lines <- firstURL(pr)
		_, _ = io.Copy(io.Discard, pr)
	}()
	waited := false
	wait := func() error {
		if waited {
			return nil
		}
		waited = true
		timer := time.AfterFunc(15*time.Second, func() { _ = cmd.Process.Kill() })
		defer timer.Stop()
		err := cmd.Wait()
		<-drained
		return err
	}
	stop := func() error {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			return fmt.Errorf("signal: %w", err)
		}
		return wait()
	}
	t.Cleanup(func() {
		if !waited {
			_ = cmd.Process.Kill()
			_ = wait()
		}
	})
	url := <-lines
	if url == "" {
		t.Fatal("ropeserver printed no URL")
	}
	return url, stop
}

// firstURL returns the URL of the "listening on" line, "" if none comes.
func firstURL(r io.Reader) string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "ropeserver: listening on "); ok {
			return strings.TrimSpace(u)
		}
	}
	return ""
}
