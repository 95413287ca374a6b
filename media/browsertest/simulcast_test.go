package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
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

// TestChromiumSimulcastSwitches: while tab B decodes tab A's simulcast,
// the test switches tab B's consumer between layers 0 and 1 every two
// seconds; after every switch tab B's decoder goes on (frames decoded
// rise within the two seconds; a switch waits for, and asks for, a key
// frame of the new layer, and the VP8 picture IDs go on across it), and
// both layers' sizes are decoded.
func TestChromiumSimulcastSwitches(t *testing.T) {
	const (
		watch = 24 * time.Second
		every = 2 * time.Second
	)
	var (
		mu       sync.Mutex
		switches []int64 // epoch ms
		timeline [][3]int64
		stop     = make(chan struct{})
		done     sync.WaitGroup
	)
	defer func() { close(stop); done.Wait() }()
	runBrowsers(t, &hooks{
		router: func(r media.Router) {
			r.OnNewTransport(func(tr media.Transport) {
				tr.OnNewConsumer(func(c media.Consumer) {
					if c.Type() != media.ConsumerSimulcast {
						return
					}
					c.OnLayersChange(func(l *media.ConsumerLayers) { t.Logf("%d layers %+v", time.Now().UnixMilli(), l) })
					tr.OnTrace(func(e media.TransportTraceEventData) {
						st, _ := tr.GetStats(context.Background())
						t.Logf("%d bwe %+v probation %d recv %d", time.Now().UnixMilli(), e.Info, st[0].ProbationBytesSent, st[0].BytesReceived)
					})
					_ = tr.EnableTraceEvent(context.Background(), []media.TransportTraceEventType{"bwe"})
					done.Add(1)
					go func() {
						defer done.Done()
						tick := time.NewTicker(every)
						defer tick.Stop()
						for layer := 0; ; layer = 1 - layer {
							select {
							case <-stop:
								return
							case <-tick.C:
							}
							if c.CurrentLayers() == nil || c.Closed() {
								continue // not decoding yet
							}
							if err := c.SetPreferredLayers(context.Background(), media.ConsumerLayers{SpatialLayer: layer}); err != nil {
								t.Logf("setPreferredLayers: %v", err)
								return
							}
							mu.Lock()
							switches = append(switches, time.Now().UnixMilli())
							mu.Unlock()
						}
					}()
				})
			})
		},
		setup: func(context.Context, *testing.T, media.Worker, *mediaserver.Server) []string {
			return []string{"simulcast", fmt.Sprintf("watch=%d", int(watch/time.Second))}
		},
		output: func(out []byte) {
			var r struct{ Timeline [][3]int64 }
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
			if len(timeline) == 0 {
				t.Fatal("no timeline")
			}
			end := timeline[len(timeline)-1][0]
			checked, widths := 0, map[int64]bool{}
			for _, s := range timeline {
				widths[s[2]] = true
			}
			for _, at := range switches {
				if at < timeline[0][0] || at+every.Milliseconds() > end {
					continue
				}
				checked++
				var before, after int64 = -1, -1
				for _, s := range timeline {
					if s[0] <= at {
						before = s[1]
					} else if s[0] <= at+every.Milliseconds() {
						after = s[1]
					}
				}
				if after <= before {
					t.Errorf("switch at %d: frames decoded %d before, %d within %s after: the decoder stalled", at, before, after, every)
				}
			}
			t.Logf("%d switches checked of %d (%v), timeline %d..%d, widths decoded %v", checked, len(switches), switches, timeline[0][0], end, widths)
			if checked < 5 {
				t.Errorf("only %d switches while tab B decoded", checked)
			}
			if len(widths) < 2 {
				t.Errorf("decoded widths %v, want both layers'", widths)
			}
		},
	})
}
