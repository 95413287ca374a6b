package demo_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// driverResult is what test/run.mjs prints.
type driverResult struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
	Rooms map[string]struct {
		OK   bool `json:"ok"`
		Tabs []struct {
			Peers []struct {
				Name          string `json:"name"`
				Width         int    `json:"width"`
				FramesDecoded int    `json:"framesDecoded"`
				AudioPackets  int    `json:"audioPackets"`
			} `json:"peers"`
			Chat []string `json:"chat"`
		} `json:"tabs"`
		Speakers []int `json:"speakers"`
	} `json:"rooms"`
	Screenshot *struct {
		Path  string `json:"path"`
		Tiles []struct {
			X, Y, Width, Height float64
		} `json:"tiles"`
		FramesDecoded []int `json:"framesDecoded"`
	} `json:"screenshot"`
}

// TestChromiumDemoRoom runs `ropeserver` as built from cmd/ropeserver and
// drives the demo page it serves at the URL it logs in headless Chromium:
// two tabs, then four, each sending its fake camera (simulcast) and
// microphone; every tab decodes every other tab's video, receives its
// audio and its chat line over the data channels, and the room's
// ActiveSpeakerObserver names a speaker. A screenshot of one tab of four
// must show three video tiles with a picture (pixel variance), not black.
// The same two-tab room then runs on a server with -media-mode=mafalda.
// ROPE_DEMO_SCREENSHOT=path keeps the screenshot.
func TestChromiumDemoRoom(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	requireTools(t, true)
	bin := filepath.Join(t.TempDir(), "ropeserver")
	if b, err := exec.Command("go", "build", "-o", bin, "github.com/ropehq/rope/cmd/ropeserver").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	shot := os.Getenv("ROPE_DEMO_SCREENSHOT")
	if shot == "" {
		shot = filepath.Join(t.TempDir(), "room.png")
	}

	t.Run("media", func(t *testing.T) {
		page := startRopeserver(t, bin)
		res := drive(t, page, shot, "two", "four")
		checkRoom(t, res, "two", 2)
		checkRoom(t, res, "four", 4)
		checkScreenshot(t, res)
	})
	t.Run("mafalda", func(t *testing.T) {
		page := startRopeserver(t, bin, "-media-mode=mafalda")
		res := drive(t, page, "", "two")
		checkRoom(t, res, "two", 2)
	})
}

var demoURL = regexp.MustCompile(`msg="ropeserver: demo[^"]*" url=(http://\S+/demo/)`)

// startRopeserver runs the server on a free port and returns the demo
// page's URL, as it logs it; the server stops (SIGTERM) after the test.
func startRopeserver(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-port", "0", "-rtc-ip", "127.0.0.1"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	logDone := make(chan struct{})
	var log strings.Builder
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			log.WriteString(line + "\n")
			if m := demoURL.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	t.Cleanup(func() {
		// Ctrl-C: the server closes the demo's rooms, then everything else.
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
			t.Errorf("ropeserver %v did not stop on SIGINT", args)
		}
		if err != nil || strings.Contains(log.String(), "level=ERROR") {
			t.Errorf("ropeserver %v: %v", args, err)
		}
		if t.Failed() {
			t.Logf("ropeserver %v log:\n%s", args, log.String())
		}
	})
	select {
	case u := <-found:
		return u
	case <-time.After(30 * time.Second):
		t.Fatal("ropeserver logged no demo URL")
		return ""
	}
}

// drive runs test/run.mjs against the page for the rooms.
func drive(t *testing.T, page, shot string, rooms ...string) driverResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := append([]string{"test/run.mjs", page, shot}, rooms...)
	cmd := exec.CommandContext(ctx, "node", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var res driverResult
	if jerr := json.Unmarshal(out, &res); jerr != nil || err != nil || !res.OK {
		t.Fatalf("driver: %v %v\n%s\nstderr:\n%s", err, jerr, out, stderr.String())
	}
	return res
}

// checkRoom: every tab decoded every other's video and audio and got its chat line.
func checkRoom(t *testing.T, res driverResult, name string, n int) {
	t.Helper()
	room, ok := res.Rooms[name]
	if !ok || !room.OK || len(room.Tabs) != n {
		t.Fatalf("room %s: %+v", name, room)
	}
	for i, tab := range room.Tabs {
		if len(tab.Peers) != n-1 {
			t.Errorf("room %s tab %d sees %d peers, want %d", name, i, len(tab.Peers), n-1)
		}
		for _, p := range tab.Peers {
			if p.Width == 0 || p.FramesDecoded == 0 || p.AudioPackets == 0 {
				t.Errorf("room %s tab %d: peer %s %+v", name, i, p.Name, p)
			}
		}
		for j := range n {
			want := "hello from " + name + "-" + strconv.Itoa(j)
			if !slices.Contains(tab.Chat, want) {
				t.Errorf("room %s tab %d: chat %q lacks %q", name, i, tab.Chat, want)
			}
		}
	}
}

// checkScreenshot: each remote tile of the screenshot shows a picture.
func checkScreenshot(t *testing.T, res driverResult) {
	t.Helper()
	s := res.Screenshot
	if s == nil || len(s.Tiles) != 3 {
		t.Fatalf("screenshot %+v, want three remote tiles", s)
	}
	f, err := os.Open(s.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s: %v, tiles %+v", s.Path, img.Bounds(), s.Tiles)
	for i, tile := range s.Tiles {
		// The picture without the tile's border and its name label.
		r := image.Rect(int(tile.X+tile.Width*0.1), int(tile.Y+tile.Height*0.1),
			int(tile.X+tile.Width*0.9), int(tile.Y+tile.Height*0.7))
		mean, stddev := luma(img, r)
		t.Logf("tile %d %v: luma mean %.1f, stddev %.1f", i, r, mean, stddev)
		if stddev < 5 || mean < 10 {
			t.Errorf("tile %d shows no picture: luma mean %.1f, stddev %.1f", i, mean, stddev)
		}
	}
}

// luma returns the mean and standard deviation of the luminance in r.
func luma(img image.Image, r image.Rectangle) (mean, stddev float64) {
	r = r.Intersect(img.Bounds())
	var sum, sq, n float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			l := (0.299*float64(cr) + 0.587*float64(cg) + 0.114*float64(cb)) / 257
			sum += l
			sq += l * l
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	mean = sum / n
	v := sq/n - mean*mean
	if v < 0 {
		v = 0
	}
	return mean, math.Sqrt(v)
}

// tokensResult is what test/tokens.mjs prints.
type tokensResult struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
	Rooms map[string]struct {
		OK bool `json:"ok"`
	} `json:"rooms"`
	Tabs []struct {
		Room     string `json:"room"`
		PeerID   string `json:"peerId"`
		Status   string `json:"status"`
		RouterID string `json:"routerId"`
		Peers    []struct {
			Name          string `json:"name"`
			FramesDecoded int    `json:"framesDecoded"`
			AudioPackets  int    `json:"audioPackets"`
		} `json:"peers"`
		Objects []struct {
			ID     string  `json:"id"`
			Type   string  `json:"type"`
			Parent *string `json:"parent"`
			PeerID *string `json:"peerId"`
		} `json:"objects"`
	} `json:"tabs"`
}

// TestChromiumParticipantTokens runs the demo on a server that verifies
// signed tokens (-token-secret): two rooms, four tabs, each tab with a
// participant token for its room from the demo's join endpoint, talking
// to the media server directly. Each tab decodes the video and hears the
// audio of the other tab of its room, and its mirror holds its room's
// router and what is under it only: no object of the other room (router,
// transports, producers), no other tab's transport, no worker, no root.
func TestChromiumParticipantTokens(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	requireTools(t, true)
	bin := filepath.Join(t.TempDir(), "ropeserver")
	if b, err := exec.Command("go", "build", "-o", bin, "github.com/ropehq/rope/cmd/ropeserver").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	page := startRopeserver(t, bin, "-token-secret", hex.EncodeToString(secret))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "test/tokens.mjs", page, "alpha", "beta")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var res tokensResult
	if jerr := json.Unmarshal(out, &res); jerr != nil || err != nil || !res.OK || len(res.Tabs) != 4 {
		t.Fatalf("driver: %v %v\n%s\nstderr:\n%s", err, jerr, out, stderr.String())
	}
	// What each room's tabs own: their peer ids and their objects' ids.
	peersOf := map[string][]string{}
	idsOf := map[string][]string{}
	routerOf := map[string]string{}
	for _, tab := range res.Tabs {
		peersOf[tab.Room] = append(peersOf[tab.Room], tab.PeerID)
		routerOf[tab.Room] = tab.RouterID
		for _, o := range tab.Objects {
			if o.PeerID != nil && *o.PeerID == tab.PeerID {
				idsOf[tab.Room] = append(idsOf[tab.Room], o.ID)
			}
		}
	}
	if routerOf["alpha"] == "" || routerOf["alpha"] == routerOf["beta"] {
		t.Fatalf("routers %v", routerOf)
	}
	for i, tab := range res.Tabs {
		other := "beta"
		if tab.Room == "beta" {
			other = "alpha"
		}
		if tab.Status != "joined" || len(tab.Peers) != 1 || tab.Peers[0].FramesDecoded == 0 || tab.Peers[0].AudioPackets == 0 {
			t.Errorf("tab %d (%s): %s, peers %+v", i, tab.Room, tab.Status, tab.Peers)
		}
		routers := 0
		for _, o := range tab.Objects {
			switch {
			case o.Type == "Router":
				routers++
				if o.ID != tab.RouterID {
					t.Errorf("tab %d (%s) holds router %s, not its room's %s", i, tab.Room, o.ID, tab.RouterID)
				}
			case o.Parent == nil:
				t.Errorf("tab %d (%s) holds the root %s (%s)", i, tab.Room, o.ID, o.Type)
			case o.Type == "Worker" || o.Type == "DemoRooms":
				t.Errorf("tab %d (%s) holds %s %s", i, tab.Room, o.Type, o.ID)
			case o.Type == "WebRtcTransport" && (o.PeerID == nil || *o.PeerID != tab.PeerID):
				t.Errorf("tab %d (%s) holds another's transport %s", i, tab.Room, o.ID)
			}
			if o.PeerID != nil && slices.Contains(peersOf[other], *o.PeerID) {
				t.Errorf("tab %d (%s) holds %s %s of room %s", i, tab.Room, o.Type, o.ID, other)
			}
			if slices.Contains(idsOf[other], o.ID) || o.ID == routerOf[other] {
				t.Errorf("tab %d (%s) holds %s %s of room %s", i, tab.Room, o.Type, o.ID, other)
			}
		}
		if routers != 1 {
			t.Errorf("tab %d (%s) holds %d routers, want its room's", i, tab.Room, routers)
		}
		t.Logf("tab %d (%s): %d objects, peer decoded %d frames", i, tab.Room, len(tab.Objects), tab.Peers[0].FramesDecoded)
	}
}
