package browsertest

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediaserver"
)

// TestChromiumTemporalSwitches: tab A sends simulcast with scalabilityMode
// L1T3 (three temporal layers per stream); the test switches tab B's
// consumer 50 times, one a second, across spatial layers 0 and 1 and
// temporal layers 0 to 2. After every switch tab B's decoder goes on:
// frames decoded rise within the second (a spatial switch waits for a key
// frame, a temporal one for a layer sync frame, and the VP8 picture IDs
// and TL0PICIDX go on across both). No switch is made while the consumer
// forwards nothing (the send-side estimate may give it no layer for a
// while), so the watch is longer than the 50 seconds.
func TestChromiumTemporalSwitches(t *testing.T) {
	const (
		n     = 50
		every = time.Second
	)
	plan := []media.ConsumerLayers{{SpatialLayer: 1}, {SpatialLayer: 0}, {SpatialLayer: 1}, {SpatialLayer: 0}, {SpatialLayer: 1}, {SpatialLayer: 0}}
	temporal := []int{0, 2, 2, 0, 1, 1}
	var (
		mu       sync.Mutex
		switches []int64 // epoch ms
		reached  = map[[2]int]int{}
		timeline [][3]int64
		viewer   media.Consumer
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
						tick := time.NewTicker(every)
						defer tick.Stop()
						for i := 0; i < n; {
							select {
							case <-stop:
								return
							case <-tick.C:
							}
							if c.CurrentLayers() == nil || c.Closed() {
								continue // not decoding yet
							}
							l := plan[i%len(plan)]
							tl := temporal[i%len(temporal)]
							l.TemporalLayer = &tl
							if err := c.SetPreferredLayers(context.Background(), l); err != nil {
								t.Logf("setPreferredLayers: %v", err)
								return
							}
							mu.Lock()
							switches = append(switches, time.Now().UnixMilli())
							mu.Unlock()
							i++
						}
					}()
				})
			})
		},
		setup: func(context.Context, *testing.T, media.Worker, *mediaserver.Server) []string {
			return []string{"simulcast", "l1t3", "watch=75"}
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
			checked := 0
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
			if viewer != nil {
				if st, err := viewer.GetStats(ctx); err == nil && len(st) > 0 {
					t.Logf("tab B asked for %d key frames (PLI %d, FIR %d) and %d retransmissions", st[0].PliCount+st[0].FirCount, st[0].PliCount, st[0].FirCount, st[0].NackPacketCount)
				}
			}
			t.Logf("%d of %d switches checked; layers reached (spatial, temporal): %v", checked, len(switches), reached)
			if checked < n-3 {
				t.Errorf("only %d switches while tab B decoded", checked)
			}
		},
	})
}
