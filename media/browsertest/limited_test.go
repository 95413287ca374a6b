package browsertest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ropehq/rope/media"
)

// TestChromiumLimitedViewer: a producer tab sends the fake camera at
// 1280x720 in three simulcast layers; two viewer tabs consume it. The
// limited viewer's Chromium runs in a network namespace the test made,
// reaching the server (signalling and media) over a veth pair; the other
// viewer's runs on this machine's loopback. Once both decode the top layer
// the test limits what the server sends into the namespace to 350 kbit/s
// (a tc tbf qdisc on the host's end of the veth): the limited viewer's
// consumer steps down (its transport's send-side estimate, from the tab's
// transport-cc feedback, falls) and goes on decoding layers whose bitrate
// fits the limit, while the unlimited viewer has the top layer (on a
// loaded machine its estimate dips on loopback too: the test then waits,
// within a deadline, for it to probe its way back while the limited one
// stays below). Removing the limit brings the top layer back to the
// limited viewer (after the distribution's 10 s hold following a
// downgrade, and probing). The deadlines are generous: at load 13-20 on
// 2 cores both viewers took up to a minute to reach the top layer first.
// Each second the log has both estimates, both consumers' layers, and
// the producer's bitrate per layer.
func TestChromiumLimitedViewer(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	requireBrowser(t)
	link := newNetLink(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	t.Cleanup(cancel) // after the driver's cleanup, which closes its stdin

	t0 := time.Now()
	var (
		mu sync.Mutex
		// viewers[true] is the limited viewer's video consumer.
		viewers = map[bool]media.Consumer{}
		// drops counts the unlimited viewer's steps below the top layer.
		drops int
		// trs[true] is the limited viewer's transport.
		trs = map[bool]media.Transport{}
		// video is the producer of the camera.
		video media.Producer
	)
	srv := startServer(ctx, t, func(r media.Router) {
		r.OnNewTransport(func(tr media.Transport) {
			tr.OnNewProducer(func(p media.Producer) {
				if p.Kind() == media.KindVideo {
					mu.Lock()
					video = p
					mu.Unlock()
				}
			})
			limited := false
			if wt, ok := tr.(media.WebRtcTransport); ok {
				for _, c := range wt.IceCandidates() {
					limited = limited || c.Address == link.hostIP.String()
				}
			}
			tr.OnNewConsumer(func(c media.Consumer) {
				if c.Type() != media.ConsumerSimulcast {
					return
				}
				mu.Lock()
				viewers[limited] = c
				trs[limited] = tr
				mu.Unlock()
				c.OnLayersChange(func(l *media.ConsumerLayers) {
					t.Logf("%5.1fs limited=%v layerschange %s", time.Since(t0).Seconds(), limited, layersString(l))
					if !limited && (l == nil || l.SpatialLayer < 2) {
						mu.Lock()
						drops++
						mu.Unlock()
					}
				})
			})
		})
	})
	inside := serveOn(t, link.hostIP.String(), srv.handler)
	d := startLimitedDriver(ctx, t, "limited.mjs", srv.base, srv.ws, srv.router.ID(),
		"http://"+inside, "ws://"+inside+"/", link.hostIP.String(), link.chromiumInside)
	if err := d.waitReady(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	limitedC, freeC := viewers[true], viewers[false]
	limitedTr, freeTr := trs[true], trs[false]
	producer := video
	mu.Unlock()
	if limitedC == nil || freeC == nil {
		t.Fatalf("viewers' consumers: limited %v, unlimited %v", limitedC, freeC)
	}
	stopLog := logEstimates(t, t0, d, producer, map[string]media.Transport{"unlimited": freeTr, "limited": limitedTr},
		map[string]media.Consumer{"unlimited": freeC, "limited": limitedC})
	defer stopLog()
	spatial := func(c media.Consumer) int {
		if l := c.CurrentLayers(); l != nil {
			return l.SpatialLayer
		}
		return -1
	}
	// atTop: the consumer forwards the top temporal layer of the top
	// stream (the producer's L1T3 encodings).
	atTop := func(c media.Consumer) bool {
		l := c.CurrentLayers()
		return l != nil && l.SpatialLayer == 2 && l.TemporalLayer != nil && *l.TemporalLayer == 2
	}

	// Both viewers take the top layer (1280 wide) while nothing limits them.
	until(t, 2*time.Minute, "both viewers decode the top layer", func() bool {
		s := d.last()
		return spatial(limitedC) == 2 && spatial(freeC) == 2 && s.V1.FrameWidth == 1280 && s.V2.FrameWidth == 1280
	})
	mu.Lock()
	drops = 0
	mu.Unlock()

	const limit = 350_000
	link.limit(t, "350kbit")
	limitedAt := time.Now()
	until(t, 30*time.Second, "the limited viewer steps down", func() bool { return !atTop(limitedC) })
	t.Logf("limited to 350 kbit/s: the consumer stepped down in %s to %s",
		time.Since(limitedAt).Round(100*time.Millisecond), layersString(limitedC.CurrentLayers()))
	// The unlimited viewer has the top layer while the limited one is
	// below it (its estimate may dip too on a loaded machine: it then
	// probes its way back, under the same deadline).
	until(t, 45*time.Second, "the unlimited viewer at the top layer while the limited one is below it", func() bool {
		return atTop(freeC) && d.last().V1.FrameWidth == 1280 && !atTop(limitedC)
	})
	// Under the limit the limited viewer goes on decoding what fits the
	// limit: which layer that is depends on what the producer's encoder
	// makes of the fake camera (its top stream's lowest temporal layer
	// has measured 176 kbit/s here, which fits; as in mediasoup, a
	// consumer may take it once its 10 s hold after a downgrade ends).
	before := d.last().V2.FramesDecoded
	var rate int
	until(t, 45*time.Second, "the limited viewer decodes a layer that fits the limit", func() bool {
		var ok bool
		rate, ok = layerRate(producer, limitedC.CurrentLayers())
		return d.last().V2.FramesDecoded > before+30 && ok && rate <= limit
	})
	t.Logf("under the limit the limited viewer decodes %d wide, layers %s of %d kbit/s",
		d.last().V2.FrameWidth, layersString(limitedC.CurrentLayers()), rate/1000)

	link.unlimit(t)
	freedAt := time.Now()
	until(t, 90*time.Second, "the limited viewer's top layer comes back once the limit is gone", func() bool {
		return spatial(limitedC) == 2 && d.last().V2.FrameWidth == 1280
	})
	t.Logf("limit removed: the limited viewer decodes the top layer again after %s", time.Since(freedAt).Round(100*time.Millisecond))
	mu.Lock()
	t.Logf("the unlimited viewer stepped below the top layer %d times meanwhile", drops)
	mu.Unlock()
}

// logEstimates logs, every second until the returned stop, each
// transport's estimate (availableOutgoingBitrate) and each consumer's
// layers with what its tab decodes, and the bitrate of each temporal
// layer of the producer's streams, which decide what fits an estimate
// (t0: the time the log counts from).
func logEstimates(t *testing.T, t0 time.Time, d *limitedDriver, p media.Producer, trs map[string]media.Transport, cs map[string]media.Consumer) (stop func()) {
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			s := d.last()
			widths := map[string]int{"unlimited": s.V1.FrameWidth, "limited": s.V2.FrameWidth}
			var line strings.Builder
			for _, name := range []string{"unlimited", "limited"} {
				aob := uint64(0)
				if st, err := trs[name].GetStats(context.Background()); err == nil && len(st) > 0 && st[0].AvailableOutgoingBitrate != nil {
					aob = *st[0].AvailableOutgoingBitrate
				}
				fmt.Fprintf(&line, " %s: estimate %4d kbit/s layers %-34s decodes %4d wide;", name, aob/1000, layersString(cs[name].CurrentLayers()), widths[name])
			}
			if p != nil {
				line.WriteString(" producer kbit/s:")
				st, _ := p.GetStats(context.Background())
				for _, s := range st {
					fmt.Fprintf(&line, " %s %s", s.RID, layerRates(s.BitrateByLayer))
				}
			}
			t.Logf("%5.1fs%s", time.Since(t0).Seconds(), line.String())
		}
	}()
	return func() { close(done); <-stopped }
}

// layerRate is the bitrate (bit/s) of the producer's layers that l
// forwards (its stream's temporal layers up to l's; 0 for none), and
// false when the producer has no figure for them.
func layerRate(p media.Producer, l *media.ConsumerLayers) (int, bool) {
	if l == nil {
		return 0, true
	}
	encs := p.RtpParameters().Encodings
	if l.SpatialLayer < 0 || l.SpatialLayer >= len(encs) {
		return 0, false
	}
	st, err := p.GetStats(context.Background())
	if err != nil {
		return 0, false
	}
	for _, s := range st {
		if s.RID == encs[l.SpatialLayer].RID {
			temporal := 0
			if l.TemporalLayer != nil {
				temporal = *l.TemporalLayer
			}
			r, ok := s.BitrateByLayer[fmt.Sprintf("0.%d", temporal)]
			return r, ok
		}
	}
	return 0, false
}

// layerRates formats a stream's bitrate by layer ("0.0": bit/s, …) in
// kbit/s, in order of the layers.
func layerRates(by map[string]int) string {
	keys := slices.Sorted(maps.Keys(by))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, by[k]/1000)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// layersString formats consumer layers for the log.
func layersString(l *media.ConsumerLayers) string {
	if l == nil {
		return "none"
	}
	b, _ := json.Marshal(l)
	return string(b)
}

// until polls cond every 100 ms until it holds, failing t after within.
func until(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// serveOn serves h on a free port of ip until t's cleanup and returns
// the address.
func serveOn(t *testing.T, ip string, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h}
	done := make(chan struct{})
	go func() { defer close(done); _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close(); <-done })
	return ln.Addr().String()
}

// viewerSample is what a viewer tab decodes.
type viewerSample struct {
	FramesDecoded int64 `json:"framesDecoded"`
	FrameWidth    int   `json:"frameWidth"`
}

// limitedDriver runs limited.mjs and keeps its latest sample.
type limitedDriver struct {
	ready chan error // gets one value: nil once both viewers decode
	mu    sync.Mutex
	// latest is the driver's newest sample line.
	latest struct{ V1, V2 viewerSample }
}

// startLimitedDriver starts node with args; t's cleanup closes its stdin
// (the driver closes its browsers and exits) and waits for it.
func startLimitedDriver(ctx context.Context, t *testing.T, args ...string) *limitedDriver {
	t.Helper()
	cmd := exec.CommandContext(ctx, "node", args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &limitedDriver{ready: make(chan error, 1)}
	read := make(chan struct{})
	go func() {
		defer close(read)
		d.read(stdout)
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		<-read
		if err := cmd.Wait(); err != nil || t.Failed() {
			t.Logf("driver: %v\n%s", err, stderr.String())
		}
	})
	return d
}

// read follows the driver's output lines.
func (d *limitedDriver) read(stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	readySent := false
	for sc.Scan() {
		var line struct {
			Ready  bool
			Error  string
			V1, V2 *viewerSample
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			continue
		}
		switch {
		case line.Error != "" && !readySent:
			d.ready <- errors.New("driver: " + line.Error)
			readySent = true
		case line.Ready && !readySent:
			d.ready <- nil
			readySent = true
		case line.V1 != nil && line.V2 != nil:
			d.mu.Lock()
			d.latest.V1, d.latest.V2 = *line.V1, *line.V2
			d.mu.Unlock()
		}
	}
	if !readySent {
		d.ready <- errors.New("driver exited before both viewers decoded")
	}
}

// waitReady waits until both viewers decode.
func (d *limitedDriver) waitReady(ctx context.Context) error {
	select {
	case err := <-d.ready:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// last is the latest sample.
func (d *limitedDriver) last() struct{ V1, V2 viewerSample } {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.latest
}
