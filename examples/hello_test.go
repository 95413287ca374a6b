// Package examples_test runs the hello-world programs the README shows
// (hello-go, hello-node) against a real cmd/ropeserver, and checks that
// the README shows them as they are.
package examples_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var helloOutput = regexp.MustCompile(`^worker pid [1-9][0-9]*\nrouter [0-9a-f-]{36}\nwebrtc transport [0-9a-f-]{36} on 127\.0\.0\.1:[1-9][0-9]*\n$`)

// startRopeserver builds and runs cmd/ropeserver on a free port and
// returns its URL; it stops with the test.
func startRopeserver(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ropeserver")
	if b, err := exec.Command("go", "build", "-o", bin, "github.com/ropehq/rope/cmd/ropeserver").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	cmd := exec.Command(bin, "-port", "0", "-demo=false")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		if err := cmd.Wait(); err != nil {
			t.Errorf("ropeserver: %v\n%s", err, stderr.String())
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "ropeserver: listening on ")
	if err != nil || !ok {
		t.Fatalf("ropeserver printed %q (%v)\n%s", line, err, stderr.String())
	}
	return url
}

func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s%s", name, args, err, out, stderr.String())
	}
	return string(out)
}

func TestHelloWorlds(t *testing.T) {
	url := startRopeserver(t)
	t.Run("go", func(t *testing.T) {
		out := run(t, []string{"ROPE_URL=" + url}, "go", "run", "./hello-go")
		if !helloOutput.MatchString(out) {
			t.Fatalf("hello-go printed %q", out)
		}
	})
	t.Run("node", func(t *testing.T) {
		requireNode(t)
		// Node 20 has no global WebSocket without this flag; 22 has one.
		flags := []string{"--experimental-websocket", "--no-warnings"}
		if v, _ := exec.Command("node", "-p", "typeof WebSocket").Output(); strings.TrimSpace(string(v)) == "function" {
			flags = nil
		}
		out := run(t, []string{"ROPE_MEDIASOUP_URL=" + url}, "node", append(flags, "hello-node/hello.mjs")...)
		if !helloOutput.MatchString(out) {
			t.Fatalf("hello.mjs printed %q", out)
		}
	})
}

// requireNode skips without node or hello-node's npm packages, except
// under ROPE_REQUIRE_BROWSER=1 (make test) or CI=true, where it fails.
func requireNode(t *testing.T) {
	t.Helper()
	var missing []string
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node")
	}
	if _, err := os.Stat("hello-node/node_modules/.package-lock.json"); err != nil {
		missing = append(missing, "examples/hello-node/node_modules (npm ci there)")
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("ROPE_REQUIRE_BROWSER") == "1" || os.Getenv("CI") == "true" {
		t.Fatalf("missing %s", strings.Join(missing, ", "))
	}
	t.Skipf("missing %s", strings.Join(missing, ", "))
}

// TestReadmeShowsTheHelloWorlds: the README's hello worlds are these files.
func TestReadmeShowsTheHelloWorlds(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"hello-go/main.go", "hello-node/hello.mjs"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(readme, b) {
			t.Errorf("README.md does not show examples/%s as it is", f)
		}
	}
}
