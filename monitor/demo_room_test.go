package monitor_test

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	demoLine    = regexp.MustCompile(`msg="ropeserver: demo[^"]*" url=(http://\S+/demo/)`)
	monitorLine = regexp.MustCompile(`msg="ropeserver: monitor[^"]*" url=(http://\S+/monitor/)`)
)

// startRopeserver runs cmd/ropeserver (built into bin) on a free port and
// returns the demo's and the monitor's URLs as it logs them; it stops
// (SIGINT) after the test, which fails if it logged an error.
func startRopeserver(t *testing.T, bin string, args ...string) (demo, mon string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-port", "0", "-rtc-ip", "127.0.0.1"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan [2]string, 1)
	logDone := make(chan struct{})
	var mu sync.Mutex
	var log strings.Builder
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(stderr)
		var d string
		for sc.Scan() {
			line := sc.Text()
			mu.Lock()
			log.WriteString(line + "\n")
			mu.Unlock()
			if m := demoLine.FindStringSubmatch(line); m != nil {
				d = m[1]
			}
			if m := monitorLine.FindStringSubmatch(line); m != nil {
				urls <- [2]string{d, m[1]}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		exited := make(chan error, 1)
		go func() {
			<-logDone
			exited <- cmd.Wait()
		}()
		var err error
		select {
		case err = <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			err = <-exited
			t.Errorf("ropeserver did not stop on SIGINT")
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil || strings.Contains(log.String(), "level=ERROR") {
			t.Errorf("ropeserver: %v\n%s", err, log.String())
		}
	})
	select {
	case u := <-urls:
		return u[0], u[1]
	case <-time.After(60 * time.Second):
		t.Fatal("ropeserver logged no monitor URL")
		return "", ""
	}
}

// TestChromiumMonitorDemoRoom runs `ropeserver` as built from
// cmd/ropeserver, with a token and its default worker processes, and
// watches a room of the demo page (two Chromium tabs sending a fake camera
// in simulcast and a microphone) on the monitor page: the tree shows both
// peers' audio and video producers and each one's consumers, with
// bitrates, scores and simulcast layers; when one tab closes, its
// producers and the consumers of them leave the tree. The same runs
// under -media-mode=mafalda, where the room is a MafaldaRouter and the
// tree shows the Mafalda's workers (not ROPE objects). The monitor tab's
// screenshot goes to ROPE_MONITOR_DEMO_SCREENSHOT when set (after 40
// figures, 20 s of charts: the README's docs/monitor.png is taken so),
// else to a temporary file after 4 figures.
func TestChromiumMonitorDemoRoom(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	requireTools(t, true)
	if _, err := os.Stat("../demo/test/rooms.mjs"); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "ropeserver")
	if b, err := exec.Command("go", "build", "-o", bin, "github.com/ropehq/rope/cmd/ropeserver").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	t.Run("media", func(t *testing.T) {
		shot, figures := os.Getenv("ROPE_MONITOR_DEMO_SCREENSHOT"), 40
		if shot == "" {
			shot, figures = filepath.Join(t.TempDir(), "monitor-demo.png"), 4
		} else if shot, _ = filepath.Abs(shot); shot == "" {
			t.Fatal("bad ROPE_MONITOR_DEMO_SCREENSHOT")
		}
		j := watchDemoRoom(t, bin, shot, figures)
		if j.count("Worker") != 1 {
			t.Errorf("%d workers in the tree, want 1", j.count("Worker"))
		}
	})
	t.Run("mafalda", func(t *testing.T) {
		j := watchDemoRoom(t, bin, filepath.Join(t.TempDir(), "monitor-demo.png"), 4, "-media-mode=mafalda")
		if j.count("PoolWorker") < 1 || j.count("MafaldaRouter") != 1 {
			t.Errorf("%d pool workers and %d MafaldaRouters in the tree, want some and 1", j.count("PoolWorker"), j.count("MafaldaRouter"))
		}
	})
}

// watchDemoRoom runs the server with args and test/demo-room.mjs against
// it, checks what the monitor showed, and returns the tree of the room.
func watchDemoRoom(t *testing.T, bin, shot string, figures int, args ...string) pageState {
	t.Helper()
	demo, mon := startRopeserver(t, bin, append([]string{"-token", testToken, "-monitor-interval", "500ms"}, args...)...)
	cmd := exec.Command("node", "test/demo-room.mjs", demo+"#token="+testToken, mon+"?access_token="+testToken, shot, strconv.Itoa(figures))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	var res struct {
		OK     bool   `json:"ok"`
		Error  string `json:"error"`
		States struct {
			Joined, Left pageState
		} `json:"states"`
		Errors []string `json:"errors"`
	}
	if jerr := json.Unmarshal(out, &res); jerr != nil {
		t.Fatalf("driver: %v, %v: %s", err, jerr, out)
	}
	j := res.States.Joined
	t.Logf("joined: %d rows, %d figures, longest render %.1f ms", len(j.Rows), j.FiguresCount, j.MaxRenderMs)
	for _, r := range j.Rows {
		t.Logf("  %-16s %s", r.Type, r.Figs)
	}
	if !res.OK || err != nil {
		t.Fatalf("driver: %v %s %v", err, res.Error, res.Errors)
	}
	if j.count("Producer") != 4 || j.count("Consumer") != 4 || j.count("WebRtcTransport") != 4 {
		t.Fatalf("joined: %d producers, %d consumers, %d WebRTC transports; want 4, 4, 4",
			j.count("Producer"), j.count("Consumer"), j.count("WebRtcTransport"))
	}
	layers := false
	for _, r := range j.Rows {
		layers = layers || (r.Type == "Consumer" && strings.Contains(r.Figs, "layer"))
	}
	if !layers || len(j.Rooms) != 1 || !strings.Contains(j.Rooms[0], "lobby") {
		t.Fatalf("joined: layers shown %v, rooms %v", layers, j.Rooms)
	}
	if l := res.States.Left; l.count("Producer") != 2 || l.count("Consumer") != 0 {
		t.Fatalf("after one tab left: %d producers, %d consumers; want 2, 0", l.count("Producer"), l.count("Consumer"))
	}
	checkPNG(t, shot)
	return j
}
