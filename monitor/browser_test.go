package monitor_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/monitor"
)

// pageState is what the page's window.monitor.state() returns.
type pageState struct {
	Status       string  `json:"status"`
	FiguresCount int     `json:"figuresCount"`
	FiguresTime  int64   `json:"figuresTime"`
	RenderMs     float64 `json:"renderMs"`
	MaxRenderMs  float64 `json:"maxRenderMs"`
	Objects      int     `json:"objects"`
	Totals       *struct {
		Consumers        int    `json:"consumers"`
		Producers        int    `json:"producers"`
		ForwardedPackets uint64 `json:"forwardedPackets"`
	} `json:"totals"`
	Rows []struct {
		ID   string `json:"id"`
		Type string `json:"type"`
		Figs string `json:"figs"`
	} `json:"rows"`
	Rooms  []string `json:"rooms"`
	Errors []string `json:"errors"`
	Error  string   `json:"error"`
}

func (s pageState) row(id string) (figs string, ok bool) {
	for _, r := range s.Rows {
		if r.ID == id {
			return r.Figs, true
		}
	}
	return "", false
}

func (s pageState) count(typ string) int {
	n := 0
	for _, r := range s.Rows {
		if r.Type == typ {
			n++
		}
	}
	return n
}

// driver is test/run.mjs driving the page in Chromium.
type driver struct {
	t   *testing.T
	in  io.WriteCloser
	out *bufio.Scanner
}

func startDriver(t *testing.T, url string) *driver {
	t.Helper()
	cmd := exec.Command("node", "test/run.mjs", url)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &driver{t: t, in: in, out: bufio.NewScanner(stdout)}
	d.out.Buffer(make([]byte, 1<<20), 16<<20)
	t.Cleanup(func() {
		_, _ = io.WriteString(in, "quit\n")
		in.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	var ready struct {
		Ready bool   `json:"ready"`
		Error string `json:"error"`
	}
	d.read(&ready)
	if !ready.Ready {
		t.Fatalf("the page did not go live: %s", ready.Error)
	}
	return d
}

func (d *driver) read(v any) {
	d.t.Helper()
	if !d.out.Scan() {
		d.t.Fatalf("driver ended: %v", d.out.Err())
	}
	if err := json.Unmarshal(d.out.Bytes(), v); err != nil {
		d.t.Fatalf("driver said %q: %v", d.out.Text(), err)
	}
}

func (d *driver) do(cmd string, v any) {
	d.t.Helper()
	if _, err := io.WriteString(d.in, cmd+"\n"); err != nil {
		d.t.Fatal(err)
	}
	d.read(v)
}

func (d *driver) state() pageState {
	d.t.Helper()
	var s pageState
	d.do("state", &s)
	if s.Error != "" || len(s.Errors) > 0 {
		d.t.Fatalf("page: %s %v", s.Error, s.Errors)
	}
	return s
}

// TestChromiumMonitor loads the monitor page in headless Chromium against
// a server with a room of plain-RTP peers and a token (the page gets it
// as ?access_token=…). The tree shows the worker, the router and the
// transports; when a producer joins, its row and its consumers' rows
// appear with bitrates and the figures keep coming (by notification);
// a screenshot is written (ROPE_MONITOR_SCREENSHOT=path keeps it; the
// README's docs/monitor.png is taken this way); when the producer leaves,
// its rows go. Then 1,000 consumers join and the page goes on updating;
// its render time is logged.
func TestChromiumMonitor(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	requireTools(t, true)
	s := newServer(t, &monitor.Options{Interval: 250 * time.Millisecond})
	r := newRoom(t, s)
	bob := r.plain("bob", 0)
	d := startDriver(t, s.http+"/monitor/?access_token="+testToken)

	var st pageState
	wait.Until(t, "the worker, router and bob's transport in the tree", func() bool {
		st = d.state()
		_, ok := st.row(bob.ID())
		return ok && st.count("Worker") == 1 && st.count("Router") == 1
	})

	alice := r.produce("alice", 4444)
	erin := r.produce("erin", 5555)
	for _, p := range []*peer{alice, erin} {
		if _, err := bob.Consume(ctxFor(t), consumerOptions(p)); err != nil {
			t.Fatal(err)
		}
	}
	carol := r.consume("carol", alice, 1)
	r.consume("dave", erin, 1)
	wait.Until(t, "alice's producer row with a bitrate, and the consumers' rows", func() bool {
		st = d.state()
		figs, ok := st.row(alice.producer.ID())
		return ok && strings.Contains(figs, "kb/s") && st.count("Consumer") == 4 && st.count("Producer") == 2
	})
	if _, ok := st.row(carol.ID()); !ok {
		t.Fatalf("carol's transport not in the tree: %+v", st.Rows)
	}
	n := st.FiguresCount
	more := 8
	if os.Getenv("ROPE_MONITOR_SCREENSHOT") != "" {
		more = 120 // half a minute of charts for the README's picture
	}
	deadline := time.Now().Add(wait.Timeout + time.Duration(more)*time.Second/2)
	for st.FiguresCount < n+more || len(st.Rooms) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %d more figures and one room: %d, %v", more, st.FiguresCount-n, st.Rooms)
		}
		time.Sleep(50 * time.Millisecond)
		st = d.state()
	}
	if !strings.Contains(st.Rooms[0], "5 people") {
		t.Errorf("rooms %v, want one of 5 people", st.Rooms)
	}
	shot := os.Getenv("ROPE_MONITOR_SCREENSHOT")
	if shot == "" {
		shot = filepath.Join(t.TempDir(), "monitor.png")
	} else if shot, _ = filepath.Abs(shot); shot == "" {
		t.Fatal("bad ROPE_MONITOR_SCREENSHOT")
	}
	var ok struct{ OK bool }
	d.do("shot "+shot, &ok)
	checkPNG(t, shot)

	alice.leave()
	wait.Until(t, "alice's producer and its consumers to leave the tree", func() bool {
		st = d.state()
		_, ok := st.row(alice.producer.ID())
		return !ok && st.count("Producer") == 1 && st.count("Consumer") == 2
	})

	// 1,000 consumers of erin, 100 per transport.
	for i := range 10 {
		r.consume(fmt.Sprintf("viewer-%d", i), erin, 100)
	}
	wait.Until(t, "the page to count 1,000 more consumers and go on updating", func() bool {
		st = d.state()
		return st.Totals != nil && st.Totals.Consumers == 1002
	})
	n = st.FiguresCount
	wait.Until(t, "figures to keep coming with 1,000 consumers", func() bool {
		st = d.state()
		return st.FiguresCount >= n+8
	})
	t.Logf("1,002 consumers, %d objects mirrored: %d rows, last render %.1f ms, longest %.1f ms",
		st.Objects, len(st.Rows), st.RenderMs, st.MaxRenderMs)
}

// checkPNG checks the screenshot decodes and is not blank.
func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	b := img.Bounds()
	colors := map[uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colors[r>>8<<16|g>>8<<8|bl>>8] = true
		}
	}
	if b.Dx() < 800 || len(colors) < 8 {
		t.Fatalf("screenshot %dx%d with %d colours: blank?", b.Dx(), b.Dy(), len(colors))
	}
}
