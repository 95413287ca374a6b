package engine_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
)

// TestLayersChangePrompt: a simulcast consumer emits "layerschange" when
// its current layers change (mediasoup emits it from the packet path),
// not on the next RTCP report tick: with reports an hour apart, the
// first layer, a switch down and a pause (no layers) each bring their
// event, in order, on the event loop and with per-socket readers.
func TestLayersChangePrompt(t *testing.T) {
	for _, perSocket := range []bool{false, true} {
		t.Run(fmt.Sprintf("PerSocketReaders=%v", perSocket), func(t *testing.T) {
			f := fixtureWith(t, &engine.Options{PerSocketReaders: perSocket, RTCPInterval: time.Hour})
			src, dst := newEndpoint(t), newEndpoint(t)
			in, out := f.plain(f.router, src), f.plain(f.router, dst)
			params := vp8Params(100)
			params.Encodings = []media.RtpEncodingParameters{{SSRC: 100}, {SSRC: 200}}
			p := must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))
			c := must[media.Consumer](t)(out.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: consumerCaps(false)}))
			layers := make(chan string, 16)
			c.OnLayersChange(func(l *media.ConsumerLayers) { trySend(layers, layersString(l)) })
			low, high := &sender{ssrc: 100, pt: 101, seq: 10}, &sender{ssrc: 200, pt: 101, seq: 5000}
			round := func(key bool) {
				src.send(in.Tuple(), low.packet(t, key, 200))
				src.send(in.Tuple(), high.packet(t, key, 400))
			}
			next := func(what string) string {
				t.Helper()
				select {
				case l := <-layers:
					return l
				case <-time.After(30 * time.Second): // the report tick is an hour away
					t.Fatalf("no layerschange for %s", what)
					return ""
				}
			}
			round(true)
			if got := next("the first layer"); got != "1" {
				t.Fatalf("first layerschange %s, want 1", got)
			}
			if err := c.SetPreferredLayers(f.ctx, media.ConsumerLayers{SpatialLayer: 0}); err != nil {
				t.Fatal(err)
			}
			round(true)
			if got := next("the switch down"); got != "0" {
				t.Fatalf("layerschange %s after the switch down, want 0", got)
			}
			if err := c.Pause(f.ctx); err != nil {
				t.Fatal(err)
			}
			if got := next("the pause"); got != "none" {
				t.Fatalf("layerschange %s after pause, want none", got)
			}
			if err := c.Resume(f.ctx); err != nil {
				t.Fatal(err)
			}
			wait.Until(t, "layer 0 again", func() bool {
				round(true)
				return c.CurrentLayers() != nil
			})
			if got := next("the resume"); got != "0" {
				t.Fatalf("layerschange %s after resume, want 0", got)
			}
			select {
			case l := <-layers:
				t.Fatalf("extra layerschange %s", l)
			default:
			}
		})
	}
}

func layersString(l *media.ConsumerLayers) string {
	if l == nil {
		return "none"
	}
	return fmt.Sprint(l.SpatialLayer)
}

// TestLayersChangePromptSVC: so does an SVC consumer: its first layers,
// a temporal switch up and down and a pause, with reports an hour apart.
func TestLayersChangePromptSVC(t *testing.T) {
	f := &svcFixture{fixture: fixtureWith(t, &engine.Options{RTCPInterval: time.Hour})}
	f.router = must[media.Router](t)(f.worker.CreateRouter(f.ctx, &media.RouterOptions{MediaCodecs: vp9Codecs()}))
	f.src = newEndpoint(t)
	f.in = f.plain(f.router, f.src)
	f.p = must[media.Producer](t)(f.in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: vp9Params(1000, "L3T3")}))
	f.s = &svcSender{spatial: 3, ssrc: 1000, seq: 65500, pic: 0x7ff0}
	v := f.viewer(t, layers(0, 2))
	changes := func() []string {
		v.mu.Lock()
		defer v.mu.Unlock()
		var out []string
		for _, l := range v.changes {
			if l == nil {
				out = append(out, "none")
			} else {
				out = append(out, fmt.Sprintf("%d/%d", l.SpatialLayer, *l.TemporalLayer))
			}
		}
		return out
	}
	// last waits until the latest event is want: with reports an hour
	// apart, only the prompt emission brings it.
	last := func(what, want string) {
		t.Helper()
		wait.Until(t, what, func() bool {
			got := changes()
			return len(got) > 0 && got[len(got)-1] == want
		})
	}
	f.send(t, 8, true)
	last("the top temporal layer", "0/2")
	if err := v.c.SetPreferredLayers(f.ctx, *layers(0, 0)); err != nil {
		t.Fatal(err)
	}
	f.send(t, 8, false)
	last("the temporal switch down", "0/0")
	if err := v.c.Pause(f.ctx); err != nil {
		t.Fatal(err)
	}
	last("the pause", "none")
}
