package browsertest

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/depdesc"
	"github.com/ropehq/rope/media/internal/rtppkt"
	"github.com/ropehq/rope/media/mediaserver"
)

// TestChromiumAV1Temporal: the router offers AV1 as its only video codec,
// so tab A sends the fake camera in AV1 (libaom), simulcast with
// scalabilityMode L1T3, each stream with its own dependency descriptor.
// The test steps tab B's consumer (spatial layer 0) through temporal
// layers 2, 0, 1, 2, … four seconds each (phases in which the send-side
// estimate left the consumer without a layer for a while do not count,
// as in TestChromiumTemporalSwitches), and asks for key frames at the
// end. Tab B's decoder (dav1d) goes on in every phase (frames decoded
// rise), decodes about a quarter of the full frame rate on temporal
// layer 0 and about half on layer 1; the consumer reports the temporal
// layer; each key frame request brings an AV1 key frame the engine
// detects (consumer stats and the "keyframe" trace event). A direct
// consumer of the same producer captures the descriptors Chromium sent:
// all parse, with a three-decode-target structure on key frames.
func TestChromiumAV1Temporal(t *testing.T) {
	const phaseLen = 4 * time.Second
	type phase struct {
		at, end  int64 // epoch ms
		temporal int
	}
	var (
		mu          sync.Mutex
		phases      []phase
		keyRequests []int64
		timeline    [][3]int64
		viewer      media.Consumer
		producer    media.Producer
		kfTraced    int
		reported    = map[int]bool{}
		// gaps are the spans (epoch ms) the consumer forwarded nothing:
		// the send-side estimate may give it no layer for a while.
		gaps     [][2]int64
		gapStart int64
		dds      = map[uint32][][]byte{} // per SSRC
		ddID     uint8
		stop     = make(chan struct{})
		done     sync.WaitGroup
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
	drive := func(c media.Consumer) {
		defer done.Done()
		for c.CurrentLayers() == nil { // not forwarding yet
			if !sleep(200 * time.Millisecond) {
				return
			}
		}
		if !sleep(3 * time.Second) { // tab B's timeline starts
			return
		}
		// Phases of temporal layers 2, 0, 1, … until each layer has two
		// in which the consumer forwarded throughout (at most 9).
		valid := map[int]int{}
		for i := 0; i < 9 && (valid[0] < 2 || valid[1] < 2 || valid[2] < 2); i++ {
			tl := [3]int{2, 0, 1}[i%3]
			for c.CurrentLayers() == nil {
				if !sleep(200 * time.Millisecond) {
					return
				}
			}
			if err := c.SetPreferredLayers(context.Background(), media.ConsumerLayers{SpatialLayer: 0, TemporalLayer: &tl}); err != nil {
				t.Errorf("setPreferredLayers: %v", err)
				return
			}
			start := time.Now().UnixMilli()
			if !sleep(phaseLen) {
				return
			}
			mu.Lock()
			p := phase{start, time.Now().UnixMilli(), tl}
			if !overlaps(gaps, gapStart, p.at, p.end) {
				phases = append(phases, p)
				valid[tl]++
			}
			mu.Unlock()
		}
		for range 3 {
			if err := c.RequestKeyFrame(context.Background()); err != nil {
				t.Errorf("requestKeyFrame: %v", err)
				return
			}
			mu.Lock()
			keyRequests = append(keyRequests, time.Now().UnixMilli())
			mu.Unlock()
			if !sleep(1500 * time.Millisecond) {
				return
			}
		}
	}
	runBrowsers(t, &hooks{
		codecs: []media.RtpCodecCapability{
			{Kind: media.KindAudio, MimeType: "audio/opus", ClockRate: 48000, Channels: 2},
			{Kind: media.KindVideo, MimeType: "video/AV1", ClockRate: 90000},
		},
		router: func(r media.Router) {
			ctx := context.Background()
			for _, e := range r.RtpCapabilities().HeaderExtensions {
				if e.URI == media.ExtDependencyDescriptor {
					ddID = uint8(e.PreferredID)
				}
			}
			capture, err := r.CreateDirectTransport(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			r.OnNewTransport(func(tr media.Transport) {
				tr.OnNewProducer(func(p media.Producer) {
					if p.Kind() != media.KindVideo {
						return
					}
					mu.Lock()
					producer = p
					mu.Unlock()
					done.Add(1)
					go func() {
						defer done.Done()
						caps := r.RtpCapabilities()
						// A pipe consumer: every stream, with the descriptor
						// (endpoints' consumers drop it, as mediasoup's).
						c, err := capture.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: &caps, Pipe: true})
						if err != nil {
							t.Errorf("capture consume: %v", err)
							return
						}
						c.OnRtp(func(b []byte) {
							h, ok := rtppkt.Parse(b)
							if !ok {
								return
							}
							v, ok := rtppkt.Extension(b, h, ddID)
							mu.Lock()
							if ok && len(dds[h.SSRC]) < 3000 {
								dds[h.SSRC] = append(dds[h.SSRC], slices.Clone(v))
							}
							mu.Unlock()
						})
					}()
				})
				tr.OnNewConsumer(func(c media.Consumer) {
					if c.Type() != media.ConsumerSimulcast || tr.ID() == capture.ID() {
						return
					}
					mu.Lock()
					viewer = c
					mu.Unlock()
					if err := c.EnableTraceEvent(ctx, []media.ProducerTraceEventType{"keyframe"}); err != nil {
						t.Errorf("enableTraceEvent: %v", err)
					}
					c.OnTrace(func(e media.ProducerTraceEventData) {
						if e.Type == "keyframe" {
							mu.Lock()
							kfTraced++
							mu.Unlock()
						}
					})
					c.OnLayersChange(func(l *media.ConsumerLayers) {
						now := time.Now().UnixMilli()
						mu.Lock()
						defer mu.Unlock()
						switch {
						case l == nil && gapStart == 0:
							gapStart = now
						case l != nil && gapStart != 0:
							gaps = append(gaps, [2]int64{gapStart, now})
							gapStart = 0
						}
						if l != nil && l.TemporalLayer != nil {
							reported[*l.TemporalLayer] = true
						}
					})
					done.Add(1)
					go drive(c)
				})
			})
		},
		setup: func(context.Context, *testing.T, media.Worker, *mediaserver.Server) []string {
			return []string{"simulcast", "l1t3", "nowait", "watch=50"}
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
			if len(dds) == 0 {
				t.Error("no dependency descriptor captured")
			}
			for ssrc, d := range dds {
				checkAV1Descriptors(t, ssrc, d)
			}
			t.Logf("spans without a layer (the send-side estimate's): %v", gaps)
			if len(timeline) == 0 || len(phases) < 3 {
				t.Fatalf("timeline of %d samples, %d phases with the consumer forwarding throughout", len(timeline), len(phases))
			}
			// frames decoded at or just before epoch ms at.
			framesAt := func(at int64) int64 {
				f := int64(-1)
				for _, s := range timeline {
					if s[0] <= at {
						f = s[1]
					}
				}
				return f
			}
			fps := map[int][]float64{}
			for _, p := range phases {
				from, to := p.at+1000, p.end
				a, b := framesAt(from), framesAt(to)
				if a < 0 || to > timeline[len(timeline)-1][0] {
					continue // before or after tab B's timeline
				}
				if b <= a {
					t.Errorf("temporal layer %d: frames decoded %d then %d: the decoder stalled", p.temporal, a, b)
				}
				fps[p.temporal] = append(fps[p.temporal], float64(b-a)*1000/float64(to-from))
			}
			mean := func(v []float64) float64 {
				s := 0.0
				for _, x := range v {
					s += x
				}
				return s / float64(max(len(v), 1))
			}
			if len(fps[0]) == 0 || len(fps[1]) == 0 || len(fps[2]) == 0 {
				t.Fatalf("frame rates measured %v: a temporal layer without a phase", fps)
			}
			full, half, quarter := mean(fps[2]), mean(fps[1]), mean(fps[0])
			t.Logf("frames decoded per second: temporal 2 %.1f %v, 1 %.1f %v, 0 %.1f %v", full, fps[2], half, fps[1], quarter, fps[0])
			if !(quarter < 0.6*full && half < 0.85*full && quarter < half) {
				t.Errorf("frame rates %.1f / %.1f / %.1f for temporal layers 2 / 1 / 0: want about a half on 1, a quarter on 0", full, half, quarter)
			}
			for _, tl := range []int{0, 1, 2} {
				if !reported[tl] {
					t.Errorf("layerschange never reported temporal layer %d (reported %v)", tl, reported)
				}
			}
			st, err := viewer.GetStats(ctx)
			if err != nil || len(st) == 0 {
				t.Fatalf("viewer stats %v, %v", st, err)
			}
			var received uint64
			if ps, err := producer.GetStats(ctx); err == nil {
				for _, s := range ps {
					received += s.KeyFrames
				}
			}
			t.Logf("viewer: %d key frames sent (%d traced), %d PLIs from tab B; producer: %d key frames received; %d key frame requests",
				st[0].KeyFrames, kfTraced, st[0].PliCount, received, len(keyRequests))
			// The first key frame, and at least one of the requested ones
			// (Chromium answers at most one request per 300 ms, and may
			// fold one into a key frame it was making).
			if st[0].KeyFrames < 2 || kfTraced < 2 || received < 2 {
				t.Errorf("AV1 key frames: %d sent, %d traced, %d received: want at least 2 each", st[0].KeyFrames, kfTraced, received)
			}
		},
	})
}

// overlaps reports whether [from, to] meets a gap (or the open one
// since openSince, if not 0).
func overlaps(gaps [][2]int64, openSince, from, to int64) bool {
	if openSince != 0 && openSince <= to {
		return true
	}
	for _, g := range gaps {
		if g[0] <= to && g[1] >= from {
			return true
		}
	}
	return false
}

// checkAV1Descriptors parses the dependency descriptors Chromium sent on
// one stream: every one parses once a structure came, the structure has
// three decode targets over temporal layers 0 to 2, and all three layers
// occur. It logs a key frame's and a few frames' bytes (the depdesc
// tests keep them as real descriptors).
func checkAV1Descriptors(t *testing.T, ssrc uint32, dds [][]byte) {
	t.Helper()
	var p depdesc.Parser
	var d depdesc.Descriptor
	seen, bad, keys := map[uint8]int{}, 0, 0
	logged := 0
	for _, v := range dds {
		err := p.Parse(v, &d)
		if p.Structure() == nil {
			continue // the capture started mid-sequence
		}
		if err != nil {
			bad++
			continue
		}
		seen[d.TemporalID]++
		if d.KeyFrame() {
			keys++
			s := p.Structure()
			if s.DecodeTargets != 3 || s.MaxTemporalID != 2 || s.MaxSpatialID != 0 {
				t.Errorf("key frame structure: %d decode targets, temporal ids to %d, spatial to %d", s.DecodeTargets, s.MaxTemporalID, s.MaxSpatialID)
			}
		}
		if logged < 4 && (d.KeyFrame() || keys > 0) {
			t.Logf("descriptor %s: frame %d T%d start %v end %v key %v", hex.EncodeToString(v), d.FrameNumber, d.TemporalID, d.StartOfFrame, d.EndOfFrame, d.KeyFrame())
			logged++
		}
	}
	t.Logf("stream %d: %d descriptors captured: %d key frames, per temporal layer %v, %d refused", ssrc, len(dds), keys, seen, bad)
	if keys == 0 || bad > 0 || seen[0] == 0 || seen[1] == 0 || seen[2] == 0 {
		t.Errorf("stream %d descriptors: %d key frames, %d refused, temporal layers %v", ssrc, keys, bad, seen)
	}
}
