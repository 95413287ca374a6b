package browsertest

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediaserver"
)

// TestChromiumSimulcast: tab A produces its camera in three RID encodings
// (mediasoup-client's simulcast: rids, no SSRCs; MID and RID header
// extensions on the packets); tab B consumes it and decodes frames. The
// engine's producer must have learned at least two streams by RID (the
// transport-cc feedback lets Chromium's estimate rise above its start
// rate, so it sends more than its lowest layer), tab B's consumer is a
// simulcast consumer, and tab B's transport-cc feedback gives its
// transport a send-side estimate (availableOutgoingBitrate).
func TestChromiumSimulcast(t *testing.T) {
	var (
		mu        sync.Mutex
		video     media.Producer
		consumers []media.Consumer
		// viewer is tab B's transport (the one with consumers).
		viewer media.Transport
	)
	runBrowsers(t, &hooks{
		router: func(r media.Router) {
			r.OnNewTransport(func(tr media.Transport) {
				tr.OnNewProducer(func(p media.Producer) {
					if p.Kind() != media.KindVideo {
						return
					}
					mu.Lock()
					video = p
					mu.Unlock()
				})
				tr.OnNewConsumer(func(c media.Consumer) {
					mu.Lock()
					consumers = append(consumers, c)
					viewer = tr
					mu.Unlock()
				})
			})
		},
		setup: func(context.Context, *testing.T, media.Worker, *mediaserver.Server) []string {
			return []string{"simulcast"}
		},
		check: func(ctx context.Context, t *testing.T) {
			mu.Lock()
			defer mu.Unlock()
			if video == nil {
				t.Fatal("no video producer")
			}
			params := video.RtpParameters()
			if video.Type() != media.ProducerSimulcast || len(params.Encodings) != 3 || params.Mid == "" {
				t.Fatalf("video producer type %s, mid %q, encodings %+v", video.Type(), params.Mid, params.Encodings)
			}
			for i, e := range params.Encodings {
				if e.SSRC != 0 || e.RID == "" {
					t.Errorf("encoding %d: %+v, want a rid and no ssrc (as mediasoup-client sends)", i, e)
				}
			}
			stats, err := video.GetStats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// Chromium turns on as many layers as its bandwidth estimate
			// allows; without feedback it stays at its start bitrate and
			// sends r0 only. With the engine's transport-cc feedback the
			// estimate rises and Chromium sends r1 too (r2 stays off: for
			// a 640x480 source Chromium's simulcast table allows two
			// layers). Every stream the producer has was learned by RID.
			if len(stats) < 2 {
				t.Errorf("producer learned %d streams, want at least 2 (Chromium sends more than one layer)", len(stats))
			}
			for _, st := range stats {
				if st.SSRC == 0 || st.RID == "" || st.PacketCount == 0 {
					t.Errorf("producer stream %+v", st)
				}
				t.Logf("learned stream rid %s ssrc %d packets %d rtx ssrc %d", st.RID, st.SSRC, st.PacketCount, st.RtxSSRC)
			}
			var simulcast bool
			for _, c := range consumers {
				simulcast = simulcast || (c.ProducerID() == video.ID() && c.Type() == media.ConsumerSimulcast)
			}
			if !simulcast {
				t.Error("tab B's video consumer is not a simulcast consumer")
			}
			// Tab B's transport-cc feedback drives the engine's send-side
			// estimate of its transport.
			st, err := viewer.GetStats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if a := st[0].AvailableOutgoingBitrate; a == nil || *a < 30_000 {
				t.Errorf("tab B's transport: availableOutgoingBitrate %v", a)
			} else {
				t.Logf("tab B's transport: availableOutgoingBitrate %d, sendBitrate %d", *a, st[0].SendBitrate)
			}
		},
	})
}

// TestChromiumSimulcastSwitches: tab A sends its fake camera at 1280x720
// in three simulcast layers (320x180, 640x360, 1280x720), each with
// scalabilityMode L1T3 (three temporal layers); the test switches tab B's
// consumer 55 times (at least 50 while the driver samples), one a second,
// across spatial layers 0-2 and temporal layers 0-2, up and down, by one
// layer and by two. After every switch
// tab B's decoder goes on: frames decoded rise within the second (a
// spatial switch waits for, and asks for, a key frame of the new layer, a
// temporal one for a layer sync frame, and the VP8 picture IDs and
// TL0PICIDX go on across both), and all three sizes are decoded. Tab B
// consumes without transport-cc and REMB (run.mjs nobwe), so that no
// send-side estimate (a loaded machine makes it dip on loopback too)
// holds its consumer below the layers the test asks for:
// TestChromiumLimitedViewer is the test of the estimate.
func TestChromiumSimulcastSwitches(t *testing.T) {
	const (
		n     = 50
		every = time.Second
	)
	plan := [][2]int{{2, 2}, {0, 0}, {1, 2}, {2, 0}, {1, 1}, {0, 2}, {2, 1}, {0, 1}, {1, 0}, {2, 2}, {1, 2}, {0, 0}}
	var (
		mu       sync.Mutex
		switches []layerSwitch
		reached  = map[[2]int]int{}
		timeline [][4]int64
		viewer   media.Consumer
		video    media.Producer
		stop     = make(chan struct{})
		done     sync.WaitGroup
	)
	defer func() { close(stop); done.Wait() }()
	runBrowsers(t, &hooks{
		router: func(r media.Router) {
			r.OnNewTransport(func(tr media.Transport) {
				tr.OnNewProducer(func(p media.Producer) {
					if p.Kind() == media.KindVideo {
						mu.Lock()
						video = p
						mu.Unlock()
					}
				})
				tr.OnNewConsumer(func(c media.Consumer) {
					if c.Type() != media.ConsumerSimulcast {
						return
					}
					mu.Lock()
					viewer = c
					mu.Unlock()
					c.OnLayersChange(func(l *media.ConsumerLayers) {
						if l != nil && l.TemporalLayer != nil {
							mu.Lock()
							reached[[2]int{l.SpatialLayer, *l.TemporalLayer}]++
							mu.Unlock()
						}
					})
					done.Add(1)
					go func() {
						defer done.Done()
						// As the driver, which then starts its timeline:
						// wait for tab A to send all three layers.
						mu.Lock()
						p := video
						mu.Unlock()
						if !waitLayers(p, 3, stop) {
							return
						}
						// Switches start from the steady state: the
						// consumer on the top layer (its default
						// preference) that tab A now sends.
						for l := c.CurrentLayers(); l == nil || l.SpatialLayer < 2; l = c.CurrentLayers() {
							select {
							case <-stop:
								return
							case <-time.After(100 * time.Millisecond):
							}
						}
						switchLayers(t, c, plan, n+5, every, stop, func(s layerSwitch) {
							mu.Lock()
							switches = append(switches, s)
							mu.Unlock()
						})
					}()
				})
			})
		},
		setup: func(context.Context, *testing.T, media.Worker, *mediaserver.Server) []string {
			return []string{"simulcast", "l1t3", "hd", "nobwe", "watch=72"}
		},
		output: func(out []byte) {
			var r struct{ Timeline [][4]int64 }
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatalf("driver output: %v", err)
			}
			mu.Lock()
			timeline = r.Timeline
			mu.Unlock()
		},
		check: func(ctx context.Context, t *testing.T) {
			mu.Lock()
			defer mu.Unlock()
			checked, widths := checkSwitches(t, timeline, switches, every)
			if viewer != nil {
				if st, err := viewer.GetStats(ctx); err == nil && len(st) > 0 {
					t.Logf("tab B asked for %d key frames (PLI %d, FIR %d) and %d retransmissions", st[0].PliCount+st[0].FirCount, st[0].PliCount, st[0].FirCount, st[0].NackPacketCount)
				}
			}
			t.Logf("%d of %d switches checked; layers reached (spatial, temporal): %v; widths decoded %v", checked, len(switches), reached, widths)
			if checked < n {
				t.Errorf("only %d switches while tab B decoded, want %d", checked, n)
			}
			if len(widths) < 3 {
				t.Errorf("decoded widths %v, want the three layers' sizes", widths)
			}
		},
	})
}

// waitLayers waits until p (nil: none) receives n streams, or stop; it
// reports whether they came.
func waitLayers(p media.Producer, n int, stop <-chan struct{}) bool {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return false
		case <-tick.C:
		}
		if p == nil {
			continue
		}
		st, err := p.GetStats(context.Background())
		if err != nil {
			return false
		}
		active := 0
		for _, s := range st {
			if s.Bitrate > 0 {
				active++
			}
		}
		if active >= n {
			return true
		}
	}
}

// layerSwitch is one switch: when (epoch ms) and to which (spatial,
// temporal) layers.
type layerSwitch struct {
	at int64
	to [2]int
}

// switchLayers sets c's preferred layers to plan's (spatial, temporal)
// pairs in turn, one every interval, count times or until stop; it skips
// a tick while c forwards nothing (not yet decoding). switched gets each
// switch.
func switchLayers(t *testing.T, c media.Consumer, plan [][2]int, count int, every time.Duration, stop <-chan struct{}, switched func(layerSwitch)) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for i := 0; i < count; {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		if c.CurrentLayers() == nil || c.Closed() {
			continue
		}
		l := plan[i%len(plan)]
		tl := l[1]
		if err := c.SetPreferredLayers(context.Background(), media.ConsumerLayers{SpatialLayer: l[0], TemporalLayer: &tl}); err != nil {
			t.Logf("setPreferredLayers: %v", err)
			return
		}
		switched(layerSwitch{at: time.Now().UnixMilli(), to: l})
		i++
	}
}

// checkSwitches fails t for every switch after which tab B's frames
// decoded did not rise within every: from the last sample of the
// timeline ([epoch ms, frames decoded, width, video packets received])
// before the switch to the first one every or more after it (later when
// a loaded machine held the driver back). It checks the switches the
// timeline covers and returns how many, and the widths decoded.
func checkSwitches(t *testing.T, timeline [][4]int64, switches []layerSwitch, every time.Duration) (int, map[int64]bool) {
	t.Helper()
	if len(timeline) == 0 {
		t.Fatal("no timeline")
	}
	checked, widths := 0, map[int64]bool{}
	for _, s := range timeline {
		if s[2] > 0 {
			widths[s[2]] = true
		}
	}
	for _, sw := range switches {
		at := sw.at
		i := sort.Search(len(timeline), func(i int) bool { return timeline[i][0] > at })
		j := sort.Search(len(timeline), func(j int) bool { return timeline[j][0] >= at+every.Milliseconds() })
		if i == 0 || j == len(timeline) {
			continue // before the timeline or too near its end
		}
		checked++
		before, after := timeline[i-1], timeline[j]
		if after[1] <= before[1] {
			t.Errorf("switch at %d to (spatial, temporal) %v: frames decoded %d before, %d %d ms after (video packets received %d, then %d): the decoder stalled",
				at, sw.to, before[1], after[1], after[0]-at, before[3], after[3])
		}
	}
	return checked, widths
}
