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

// TestChromiumOneStreamTemporal: tab A sends its fake camera in VP8 with
// encodings [{scalabilityMode: 'L1T3'}] (one stream, three temporal
// layers: mediasoup-client's single encoding, no RIDs). As in mediasoup,
// the producer is a simulcast producer and tabs B and C consume it
// through simulcast consumers whose one encoding keeps L1T3. The test
// sets one consumer to temporal layer 0 and the other to 2, swapping
// them every five seconds: in every phase both tabs' frames decoded
// rise, and the one at temporal layer 0 decodes about a quarter of the
// frames the one at 2 does (fewer than 60% in each phase, under 45% on
// average). Both consume without transport-cc and REMB (run.mjs nobwe),
// so no send-side estimate holds a consumer below the layer asked for.
func TestChromiumOneStreamTemporal(t *testing.T) {
	const (
		watch    = 42 * time.Second
		phaseLen = 5 * time.Second
		phasesN  = 6
	)
	type phase struct {
		at, end int64 // epoch ms
		b, c    int   // temporal layers of tab B's and tab C's consumers
	}
	var (
		mu        sync.Mutex
		consumers []media.Consumer
		producer  media.Producer
		phases    []phase
		reported  = map[[2]int]bool{} // consumer index, temporal layer
		timeline  [][6]int64
		sender    json.RawMessage
		stop      = make(chan struct{})
		done      sync.WaitGroup
	)
	defer func() { close(stop); done.Wait() }()
	sleep := func(d time.Duration) bool {
		select {
		case <-stop:
			return false
		case <-time.After(d):
			return true
		}
	}
	drive := func(b, c media.Consumer) {
		defer done.Done()
		for b.CurrentLayers() == nil || c.CurrentLayers() == nil { // not forwarding yet
			if !sleep(200 * time.Millisecond) {
				return
			}
		}
		if !sleep(3 * time.Second) { // the driver's timeline starts
			return
		}
		for i := range phasesN {
			p := phase{b: [2]int{0, 2}[i%2], c: [2]int{2, 0}[i%2]}
			for _, s := range []struct {
				c  media.Consumer
				tl int
			}{{b, p.b}, {c, p.c}} {
				tl := s.tl
				if err := s.c.SetPreferredLayers(context.Background(), media.ConsumerLayers{SpatialLayer: 0, TemporalLayer: &tl}); err != nil {
					t.Errorf("setPreferredLayers: %v", err)
					return
				}
			}
			p.at = time.Now().UnixMilli()
			if !sleep(phaseLen) {
				return
			}
			p.end = time.Now().UnixMilli()
			mu.Lock()
			phases = append(phases, p)
			mu.Unlock()
		}
	}
	runBrowsers(t, &hooks{
		codecs: []media.RtpCodecCapability{
			{Kind: media.KindAudio, MimeType: "audio/opus", ClockRate: 48000, Channels: 2},
			{Kind: media.KindVideo, MimeType: "video/VP8", ClockRate: 90000},
		},
		router: func(r media.Router) {
			r.OnNewTransport(func(tr media.Transport) {
				tr.OnNewProducer(func(p media.Producer) {
					if p.Kind() == media.KindVideo {
						mu.Lock()
						producer = p
						mu.Unlock()
					}
				})
				tr.OnNewConsumer(func(c media.Consumer) {
					if c.Kind() != media.KindVideo {
						return
					}
					mu.Lock()
					consumers = append(consumers, c)
					idx := len(consumers) - 1
					both := len(consumers) == 2
					mu.Unlock()
					c.OnLayersChange(func(l *media.ConsumerLayers) {
						if l != nil && l.TemporalLayer != nil {
							mu.Lock()
							reported[[2]int{idx, *l.TemporalLayer}] = true
							mu.Unlock()
						}
					})
					if both {
						mu.Lock()
						b, c := consumers[0], consumers[1]
						mu.Unlock()
						done.Add(1)
						go drive(b, c)
					}
				})
			})
		},
		setup: func(context.Context, *testing.T, media.Worker, *mediaserver.Server) []string {
			return []string{"single=L1T3", "nobwe", fmt.Sprintf("watch=%d", int(watch/time.Second))}
		},
		output: func(out []byte) {
			var r struct {
				Timeline [][6]int64
				Sender   json.RawMessage
			}
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatalf("driver output: %v", err)
			}
			mu.Lock()
			timeline, sender = r.Timeline, r.Sender
			mu.Unlock()
		},
		check: func(ctx context.Context, t *testing.T) {
			mu.Lock()
			defer mu.Unlock()
			t.Logf("tab A sends %s", sender)
			if producer == nil {
				t.Fatal("no video producer")
			}
			if encs := producer.RtpParameters().Encodings; producer.Type() != media.ProducerSimulcast || len(encs) != 1 || encs[0].ScalabilityMode != "L1T3" || encs[0].RID != "" {
				t.Errorf("video producer type %s encodings %+v, want simulcast with one encoding (no rid) with L1T3", producer.Type(), encs)
			}
			if len(consumers) != 2 {
				t.Fatalf("%d video consumers, want 2", len(consumers))
			}
			for i, c := range consumers {
				if encs := c.RtpParameters().Encodings; c.Type() != media.ConsumerSimulcast || len(encs) != 1 || encs[0].ScalabilityMode != "L1T3" {
					t.Errorf("consumer %d: type %s encodings %+v, want simulcast with one L1T3 encoding", i, c.Type(), encs)
				}
			}
			if len(timeline) < 2 || len(phases) < 3 {
				t.Fatalf("timeline of %d samples, %d phases", len(timeline), len(phases))
			}
			// frames decoded by tab B (col 1) or C (col 3) at or just
			// before epoch ms at.
			framesAt := func(at int64, col int) int64 {
				f := int64(-1)
				for _, s := range timeline {
					if s[0] <= at {
						f = s[col]
					}
				}
				return f
			}
			var ratios []float64
			for _, p := range phases {
				from, to := p.at+1000, p.end // a second for the switch
				if framesAt(from, 1) < 0 || to > timeline[len(timeline)-1][0] {
					continue // before or after the driver's timeline
				}
				fb := framesAt(to, 1) - framesAt(from, 1)
				fc := framesAt(to, 3) - framesAt(from, 3)
				low, high := fb, fc
				if p.b != 0 {
					low, high = fc, fb
				}
				t.Logf("phase at %d: tab B (temporal %d) decoded %d frames, tab C (temporal %d) %d", p.at, p.b, fb, p.c, fc)
				if fb <= 0 || fc <= 0 {
					t.Errorf("phase at %d: frames decoded rose by %d (tab B) and %d (tab C): a decoder stalled", p.at, fb, fc)
					continue
				}
				r := float64(low) / float64(high)
				ratios = append(ratios, r)
				if r >= 0.6 {
					t.Errorf("phase at %d: temporal layer 0 decoded %d frames, temporal layer 2 %d: want about a quarter", p.at, low, high)
				}
			}
			if len(ratios) < 3 {
				t.Fatalf("only %d phases within the timeline", len(ratios))
			}
			mean := 0.0
			for _, r := range ratios {
				mean += r
			}
			mean /= float64(len(ratios))
			t.Logf("frames decoded at temporal layer 0 per frame at 2: %.2f (phases %.2f)", mean, ratios)
			if mean >= 0.45 {
				t.Errorf("temporal layer 0 decoded %.2f of temporal layer 2's frames on average, want about a quarter", mean)
			}
			for _, k := range [][2]int{{0, 0}, {0, 2}, {1, 0}, {1, 2}} {
				if !reported[k] {
					t.Errorf("layerschange never reported temporal layer %d for consumer %d (reported %v)", k[1], k[0], reported)
				}
			}
		},
	})
}
