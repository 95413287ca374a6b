package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/mafalda/mafaldaclient"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediaclient"
	"github.com/ropehq/rope/media/mediatest"
	"github.com/ropehq/rope/ropeclient"
)

// browserTestDir is media/browsertest: its bundled page, its driver and
// the node_modules the driver imports.
const browserTestDir = "../../media/browsertest"

// requireBrowser returns media/browsertest's absolute path, or skips
// where Chromium, node or the bundle is missing, except under
// ROPE_REQUIRE_BROWSER=1 (make test sets it) or CI=true, where a missing
// piece fails the test (media/browsertest's convention).
func requireBrowser(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(browserTestDir)
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		missing = append(missing, "/usr/bin/chromium")
	}
	for _, f := range []string{"dist/app.js", "node_modules/playwright-core"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			missing = append(missing, "media/browsertest/"+f+" (npm ci && npm run build there)")
		}
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node")
	}
	if len(missing) == 0 {
		return dir
	}
	if os.Getenv("ROPE_REQUIRE_BROWSER") == "1" || os.Getenv("CI") == "true" {
		t.Fatalf("missing %s (ROPE_REQUIRE_BROWSER=1 or CI=true: a browser test may not skip)", strings.Join(missing, ", "))
	}
	t.Skipf("missing %s", strings.Join(missing, ", "))
	return ""
}

// driverLine is what media/browsertest/cluster.mjs prints: first what tab
// A produced, then what tab B received.
type driverLine struct {
	Produced        struct{ Video, Audio string }
	SendTransportID string `json:"sendTransportId"`
	RecvTransportID string `json:"recvTransportId"`
	OK              bool
	Error           string
	Last            json.RawMessage
}

// TestClusterBrowsers: two Chromium tabs (mediasoup-client, signalled
// over ROPE through a cluster endpoint with -media-mode=mafalda) meet in
// one Mafalda room whose workers live on two server processes, 127.0.0.2
// and 127.0.0.3. Tab A produces; a Go viewer consumes its video on the
// same worker, which then carries -max-consumers-per-worker=1 consumer
// and takes no more transports, so tab B's transport goes to a new
// worker, placed on the server without one. Tab B decodes tab A's video
// and hears its audio, piped between the servers. Each tab's ICE
// candidate is its own server's address (the endpoint leaves the listen
// address to the server), and Chromium's checks reach 127.0.0.2 and .3.
func TestClusterBrowsers(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	dir := requireBrowser(t)
	bin := buildServer(t)
	common := []string{"-port", "0", "-cluster", "-cluster-heartbeat", testHeartbeat, "-workers", "in-process"}
	a := startProcess(t, bin, append([]string{"-listen", "127.0.0.2", "-nats-listen", "127.0.0.2:0"}, common...)...)
	natsURL := a.loggedValue(t, `msg="ropeserver: embedded NATS listening"`, "url=")
	b := startProcess(t, bin, append([]string{"-listen", "127.0.0.3", "-nats", natsURL}, common...)...)
	e := startProcess(t, bin, append([]string{"-listen", "127.0.0.4", "-nats", natsURL, "-cluster-endpoint",
		"-media-mode", "mafalda", "-max-consumers-per-worker", "1", "-static", dir}, common...)...)
	idA := defaultServerID(a.stdoutValue(t, "ropeserver: listening on "))
	idB := defaultServerID(b.stdoutValue(t, "ropeserver: listening on "))
	urlE := e.stdoutValue(t, "ropeserver: listening on ") // the URL the browsers must use
	wait.Until(t, "the endpoint sees both servers", func() bool {
		return e.logged(`msg="registry: server joined"`, "peer="+idA) && e.logged(`msg="registry: server joined"`, "peer="+idB)
	})
	view := observe(t, natsURL)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	mc, err := mafaldaclient.Dial(ctx, urlE, &mafaldaclient.Options{Media: &mediaclient.Options{Logger: quiet,
		ROPE: &ropeclient.Options{Logger: quiet, Dedicated: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	room := must[mafalda.Router](t)(mc.CreateRouter(ctx, &mafalda.MafaldaRouterOptions{MaxWorkers: mafalda.Int(2),
		RouterOptions: media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()}}))

	base := "http" + strings.TrimSuffix(strings.TrimPrefix(urlE, "ws"), "/")
	d := startDriver(ctx, t, dir, base, urlE, room.ID())
	produced := d.next(t)
	// Fill tab A's worker: one consumer, the most it takes.
	viewer := mediatest.NewEndpoint(t)
	c := must[media.Consumer](t)(plainTo(t, room, viewer).Consume(ctx, &media.ConsumerOptions{
		ProducerID: produced.Produced.Video, RtpCapabilities: mediatest.EndpointCaps()}))
	wait.Until(t, "tab A's RTP at the Go viewer", func() bool { return len(viewer.RTP(c.RtpParameters().Encodings[0].SSRC)) > 0 })
	d.goAhead(t)
	got := d.next(t)
	if !got.OK {
		t.Fatalf("tab B did not decode tab A's media: %s %s", got.Error, got.Last)
	}
	t.Logf("tab B: %s", got.Last)

	dump := must[*mafalda.Dump](t)(mc.Dump(ctx))
	servers := map[string]bool{}
	wait.Until(t, "the room's workers in the servers' records", func() bool {
		clear(servers)
		for _, w := range dump.Workers {
			servers[serverOf(view, w.PID)] = true
		}
		return !servers[""]
	})
	if !servers[idA] || !servers[idB] {
		t.Fatalf("the room's workers are on %v, want both %s and %s", servers, idA, idB)
	}
	sendAt := transportAt(ctx, t, urlE, produced.SendTransportID)
	recvAt := transportAt(ctx, t, urlE, got.RecvTransportID)
	if sendAt == recvAt || !strings.HasPrefix(sendAt, "127.0.0.") || !strings.HasPrefix(recvAt, "127.0.0.") ||
		sendAt == "127.0.0.4" || recvAt == "127.0.0.4" {
		t.Fatalf("tab A's transport listens on %s, tab B's on %s: want each on its own server's address", sendAt, recvAt)
	}
	if err := d.wait(); err != nil {
		t.Fatalf("driver: %v\n%s", err, d.stderr.String())
	}
}

// driver is media/browsertest/cluster.mjs running.
type driver struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *bufio.Scanner
	stderr strings.Builder
}

func startDriver(ctx context.Context, t *testing.T, dir string, args ...string) *driver {
	t.Helper()
	d := &driver{cmd: exec.CommandContext(ctx, "node", append([]string{filepath.Join(dir, "cluster.mjs")}, args...)...)}
	d.cmd.Stderr = &d.stderr
	var err error
	if d.stdin, err = d.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.out = bufio.NewScanner(stdout)
	t.Cleanup(func() {
		_ = d.stdin.Close()
		_ = d.cmd.Process.Kill()
		_ = d.cmd.Wait()
		if t.Failed() {
			t.Logf("driver stderr:\n%s", d.stderr.String())
		}
	})
	return d
}

// next reads the driver's next JSON line.
func (d *driver) next(t *testing.T) driverLine {
	t.Helper()
	if !d.out.Scan() {
		t.Fatalf("the driver ended early: %v\n%s", d.out.Err(), d.stderr.String())
	}
	var l driverLine
	if err := json.Unmarshal(d.out.Bytes(), &l); err != nil {
		t.Fatalf("driver line %q: %v", d.out.Text(), err)
	}
	return l
}

func (d *driver) goAhead(t *testing.T) {
	t.Helper()
	if _, err := fmt.Fprintln(d.stdin, "consume"); err != nil {
		t.Fatal(err)
	}
}

// wait waits for the driver to exit.
func (d *driver) wait() error {
	_ = d.stdin.Close()
	return d.cmd.Wait()
}

// transportAt returns the address a WebRtcTransport of the endpoint
// announces as its ICE candidate, and logs the tuple its browser's
// checks were answered on.
func transportAt(ctx context.Context, t *testing.T, url, id string) string {
	t.Helper()
	rc, err := ropeclient.Dial(ctx, url, &ropeclient.Options{Logger: quiet, NoReconnect: true, Dedicated: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	o, ok := rc.Object(id)
	if !ok {
		t.Fatalf("transport %s not on the endpoint", id)
	}
	var cands []media.IceCandidate
	var tuple *media.TransportTuple
	if err := o.DecodeProp("iceCandidates", &cands); err != nil || len(cands) == 0 {
		t.Fatalf("transport %s candidates %v: %v", id, cands, err)
	}
	if err := o.DecodeProp("iceSelectedTuple", &tuple); err != nil {
		t.Fatal(err)
	}
	at := cands[0].Address
	if at == "" {
		at = cands[0].IP
	}
	if tuple != nil {
		t.Logf("transport %s: candidate %s:%d, checks from %s:%d", id, at, cands[0].Port, tuple.RemoteIP, tuple.RemotePort)
	}
	return at
}
