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
	"github.com/ropehq/rope/media/mediatest"
)

// TestChromiumSVC: tab A sends its 1280x720 camera in VP9 with
// scalabilityMode L3T3_KEY (one stream, three spatial and three temporal
// layers, K-SVC); tabs B and C consume it through SVC consumers. Tab B's
// consumer prefers spatial layer 0: it decodes the lowest resolution and
// its frames keep being decoded. Tab C's consumer switches spatial
// layers every few seconds, up and down: after every switch its frames
// decoded rise, and it decodes more than one resolution, the top one
// wider than tab B's. (A switch during which tab A encoded next to
// nothing, as happens on a loaded machine, is not checked.)
func TestChromiumSVC(t *testing.T) {
	testChromiumSVC(t, append(mediatest.MediaCodecs(), media.RtpCodecCapability{Kind: media.KindVideo, MimeType: "video/VP9", ClockRate: 90000, Parameters: media.Parameters{"profile-id": 0}}), "L3T3_KEY")
}

// testChromiumSVC is TestChromiumSVC with the router's codecs (tab A
// sends VP9 if they have it, else the first video codec) and tab A's
// scalabilityMode.
func testChromiumSVC(t *testing.T, codecs []media.RtpCodecCapability, mode string) {
	const (
		watch = 36 * time.Second
		every = 3 * time.Second
	)
	plan := []int{0, 2, 1, 2, 0, 1, 2, 0, 2}
	var (
		mu        sync.Mutex
		consumers []media.Consumer
		producer  media.Producer
		switches  []int64 // epoch ms
		timeline  [][6]int64
		sender    json.RawMessage
		stop      = make(chan struct{})
		done      sync.WaitGroup
	)
	defer func() { close(stop); done.Wait() }()
	runBrowsers(t, &hooks{
		codecs: codecs,
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
					first := len(consumers) == 1
					mu.Unlock()
					name := map[bool]string{true: "B", false: "C"}[first]
					c.OnLayersChange(func(l *media.ConsumerLayers) {
						if l != nil {
							t.Logf("%d tab %s layers %d %d", time.Now().UnixMilli(), name, l.SpatialLayer, *l.TemporalLayer)
						} else {
							t.Logf("%d tab %s layers none", time.Now().UnixMilli(), name)
						}
					})
					if first {
						// Tab B: the lowest spatial layer.
						go func() { _ = c.SetPreferredLayers(context.Background(), media.ConsumerLayers{SpatialLayer: 0}) }()
						return
					}
					done.Add(1)
					go func() {
						defer done.Done()
						tick := time.NewTicker(every)
						defer tick.Stop()
						for i := 0; ; {
							select {
							case <-stop:
								return
							case <-tick.C:
							}
							if c.CurrentLayers() == nil || c.Closed() {
								continue // not decoding yet
							}
							if err := c.SetPreferredLayers(context.Background(), media.ConsumerLayers{SpatialLayer: plan[i%len(plan)]}); err != nil {
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
			return []string{"svc=" + mode, fmt.Sprintf("watch=%d", int(watch/time.Second))}
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
			if producer == nil || producer.Type() != media.ProducerSVC {
				t.Fatalf("video producer %v, want type svc", producer)
			}
			t.Logf("producer encodings %+v", producer.RtpParameters().Encodings)
			if len(consumers) != 2 || consumers[0].Type() != media.ConsumerSVC || consumers[1].Type() != media.ConsumerSVC {
				t.Fatalf("%d video consumers, want two svc ones", len(consumers))
			}
			if len(timeline) < 2 {
				t.Fatal("no timeline")
			}
			first, last := timeline[0], timeline[len(timeline)-1]
			for _, s := range timeline {
				t.Logf("%d B %d frames %d wide, C %d frames %d wide, A encoded %d", s[0], s[1], s[2], s[3], s[4], s[5])
			}
			// Tab B: spatial layer 0 all along, decoding.
			widthsB, widthsC := map[int64]bool{}, map[int64]bool{}
			for _, s := range timeline {
				widthsB[s[2]] = true
				widthsC[s[4]] = true
			}
			t.Logf("tab B decoded %d frames in the watch, widths %v; tab C %d frames, widths %v", last[1]-first[1], widthsB, last[3]-first[3], widthsC)
			if last[1] <= first[1] {
				t.Error("tab B decoded no frames during the watch")
			}
			maxB, maxC := int64(0), int64(0)
			for w := range widthsB {
				maxB = max(maxB, w)
			}
			for w := range widthsC {
				maxC = max(maxC, w)
			}
			if maxB == 0 || maxB >= maxC || maxB > 400 {
				t.Errorf("tab B decoded widths %v, tab C %v: want tab B at the lowest layer (320) only", widthsB, widthsC)
			}
			if len(widthsC) < 2 {
				t.Errorf("tab C decoded widths %v, want several layers'", widthsC)
			}
			checked := 0
			end := last[0]
			for _, at := range switches {
				if at < first[0] || at+every.Milliseconds() > end {
					continue
				}
				checked++
				var before, after, encBefore, encAfter int64 = -1, -1, -1, -1
				for _, s := range timeline {
					if s[0] <= at {
						before, encBefore = s[3], s[5]
					} else if s[0] <= at+every.Milliseconds() {
						after, encAfter = s[3], s[5]
					}
				}
				if encAfter-encBefore < 5 {
					// Tab A's encoder stalled (the machine is shared and
					// loaded): nothing to forward.
					t.Logf("switch at %d: tab A encoded %d frames within %s, not checked", at, encAfter-encBefore, every)
					checked--
					continue
				}
				if after <= before {
					t.Errorf("switch at %d: tab C decoded %d frames before, %d within %s after: the decoder stalled", at, before, after, every)
				}
			}
			t.Logf("%d of %d switches checked", checked, len(switches))
			// Switches wait while tab C's consumer forwards nothing (its
			// estimate may give it no layer for a while, or tab A's
			// encoder stalls on a loaded machine).
			if checked < 3 {
				t.Errorf("only %d switches while tab C decoded", checked)
			}
		},
	})
}
