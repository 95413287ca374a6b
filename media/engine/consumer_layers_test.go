//go:build linux

package engine_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
)

// TestConsumerDumpLayers: a simulcast consumer's dump has mediasoup's
// per-layer fields (preferred, target and current spatial and temporal
// layers) and its stream as rtpStream; a simple consumer's has the
// stream and no layers.
func TestConsumerDumpLayers(t *testing.T) {
	f := newFixture(t)
	src, dst := newEndpoint(t), newEndpoint(t)
	in, out := f.plain(f.router, src), f.plain(f.router, dst)
	params := vp8Params(100)
	params.Encodings = []media.RtpEncodingParameters{
		{SSRC: 100, ScalabilityMode: "L1T3"}, {SSRC: 200, ScalabilityMode: "L1T3"}, {SSRC: 300, ScalabilityMode: "L1T3"}}
	p := must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))
	c := must[media.Consumer](t)(out.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: consumerCaps(false)}))
	startTemporalFeeder(t, src, in.Tuple(), temporalFeederLayers)

	type layers struct{ ps, ts, cs, pt, tt, ct int }
	dumpLayers := func() layers {
		d := must[*media.ConsumerDump](t)(c.Dump(f.ctx))
		for _, v := range []*int{d.PreferredSpatialLayer, d.TargetSpatialLayer, d.CurrentSpatialLayer,
			d.PreferredTemporalLayer, d.TargetTemporalLayer, d.CurrentTemporalLayer} {
			if v == nil {
				t.Fatalf("simulcast consumer's dump without its layers: %+v", d)
			}
		}
		if d.RtpStream == nil || d.RtpStream.Params.SSRC != c.RtpParameters().Encodings[0].SSRC {
			t.Fatalf("rtpStream %+v", d.RtpStream)
		}
		return layers{*d.PreferredSpatialLayer, *d.TargetSpatialLayer, *d.CurrentSpatialLayer,
			*d.PreferredTemporalLayer, *d.TargetTemporalLayer, *d.CurrentTemporalLayer}
	}
	var got layers
	waitFor(t, "the top layers in the dump", 10*time.Second, func() bool {
		got = dumpLayers()
		return got == layers{2, 2, 2, 2, 2, 2}
	})
	if err := c.SetPreferredLayers(f.ctx, media.ConsumerLayers{SpatialLayer: 1, TemporalLayer: new(int)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "layers 1 and 0 in the dump", 10*time.Second, func() bool {
		got = dumpLayers()
		return got == layers{1, 1, 1, 0, 0, 0}
	})

	// The wire names are mediasoup's.
	d := must[*media.ConsumerDump](t)(c.Dump(f.ctx))
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"preferredSpatialLayer", "targetSpatialLayer", "currentSpatialLayer",
		"preferredTemporalLayer", "targetTemporalLayer", "currentTemporalLayer", "rtpStream", "rtpStreams"} {
		if _, ok := m[k]; !ok {
			t.Errorf("dump without %q: %s", k, b)
		}
	}

	// A simple consumer: its stream, no layers.
	simple := must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: vp8Params(500)}))
	sc := must[media.Consumer](t)(out.Consume(f.ctx, &media.ConsumerOptions{ProducerID: simple.ID(), RtpCapabilities: consumerCaps(false)}))
	sd := must[*media.ConsumerDump](t)(sc.Dump(f.ctx))
	if sd.RtpStream == nil || sd.PreferredSpatialLayer != nil || sd.CurrentTemporalLayer != nil {
		t.Fatalf("simple consumer's dump: rtpStream %v, layers %v %v", sd.RtpStream, sd.PreferredSpatialLayer, sd.CurrentTemporalLayer)
	}
}

// TestSVCConsumerDumpLayers: an SVC consumer's dump has the same layer
// fields: an L3T3 viewer preferring S1T1 targets and forwards S1T1.
func TestSVCConsumerDumpLayers(t *testing.T) {
	f := newSVCFixture(t, "L3T3", 3)
	v := f.viewer(t, layers(1, 1))
	f.send(t, 40, true)
	wait.Until(t, "current layers S1T1", func() bool {
		c := v.c.CurrentLayers()
		return c != nil && c.SpatialLayer == 1 && *c.TemporalLayer == 1
	})
	d := must[*media.ConsumerDump](t)(v.c.Dump(context.Background()))
	got := []*int{d.PreferredSpatialLayer, d.TargetSpatialLayer, d.CurrentSpatialLayer,
		d.PreferredTemporalLayer, d.TargetTemporalLayer, d.CurrentTemporalLayer}
	for i, want := range []int{1, 1, 1, 1, 1, 1} {
		if got[i] == nil || *got[i] != want {
			t.Fatalf("SVC consumer's dump layers %v (field %d), want S1T1 throughout", derefs(got), i)
		}
	}
	if d.RtpStream == nil {
		t.Fatal("SVC consumer's dump without rtpStream")
	}
}

func derefs(ps []*int) []int {
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = -2
		if p != nil {
			out[i] = *p
		}
	}
	return out
}
