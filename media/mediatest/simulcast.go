package mediatest

import (
	"context"
	"testing"
	"time"

	"github.com/ropehq/rope/media"
)

// layerLog records a consumer's layerschange events.
type layerLog struct{ ch chan *media.ConsumerLayers }

func watchLayers(c media.Consumer) *layerLog {
	l := &layerLog{ch: make(chan *media.ConsumerLayers, 64)}
	c.OnLayersChange(func(x *media.ConsumerLayers) {
		select {
		case l.ch <- x:
		default:
		}
	})
	return l
}

// wait waits for a layerschange to spatial layer s.
func (l *layerLog) wait(t *testing.T, s int) {
	t.Helper()
	ctx := ctxFor(t)
	for {
		select {
		case x := <-l.ch:
			if x != nil && x.SpatialLayer == s {
				return
			}
		case <-ctx.Done():
			t.Fatalf("no layerschange to spatial layer %d", s)
		}
	}
}

// simulcastSizes are the payload sizes of the three encodings: the size
// of a forwarded packet tells which one it came from.
var simulcastSizes = [3]int{200, 300, 400}

// testSimulcast: a producer with three encodings (SSRCs) makes simulcast
// consumers that forward the preferred layer (the highest by default),
// report it in currentLayers and "layerschange", switch at a key frame
// when setPreferredLayers asks, keep sequence numbers continuous across
// the switch, and refuse a layer the producer lacks.
func testSimulcast(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r := newRouter(t, newWorker(t, api))
	src, dst, dst1 := NewEndpoint(t), NewEndpoint(t), NewEndpoint(t)
	in := connectedPlain(t, r, src)
	params := VP8Parameters(100)
	params.Encodings = []media.RtpEncodingParameters{{SSRC: 100}, {SSRC: 200}, {SSRC: 300}}
	p := check[media.Producer](t)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))
	if p.Type() != media.ProducerSimulcast {
		t.Fatalf("producer type %q", p.Type())
	}
	c := check[media.Consumer](t)(connectedPlain(t, r, dst).Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: EndpointCaps()}))
	c1 := check[media.Consumer](t)(connectedPlain(t, r, dst1).Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: EndpointCaps(),
		PreferredLayers: &media.ConsumerLayers{SpatialLayer: 1}}))
	if c.Type() != media.ConsumerSimulcast || c.PreferredLayers() == nil || c.PreferredLayers().SpatialLayer != 2 {
		t.Fatalf("consumer type %q preferredLayers %+v", c.Type(), c.PreferredLayers())
	}
	if len(c.RtpParameters().Encodings) != 1 {
		t.Fatalf("consumer encodings %+v", c.RtpParameters().Encodings)
	}
	if pl := c1.PreferredLayers(); pl == nil || pl.SpatialLayer != 1 {
		t.Fatalf("preferredLayers %+v, asked 1", pl)
	}
	layers := watchLayers(c)
	senders := [3]*VP8Sender{{SSRC: 100, PT: 101}, {SSRC: 200, PT: 101, seq: 5000}, {SSRC: 300, PT: 101, seq: 9000}}
	// round sends a key frame on each encoding.
	round := func() {
		for i, s := range senders {
			src.Send(in.Tuple(), s.Next(t, true, simulcastSizes[i]))
		}
		time.Sleep(2 * time.Millisecond)
	}
	ssrc, ssrc1 := c.RtpParameters().Encodings[0].SSRC, c1.RtpParameters().Encodings[0].SSRC
	fromLayer := func(e *Endpoint, ssrc uint32, layer int) func() bool {
		return func() bool {
			round()
			got := e.RTP(ssrc)
			return len(got) >= 3 && len(got[len(got)-1].Payload) == simulcastSizes[layer]
		}
	}
	eventually(t, "the highest layer at the default consumer", fromLayer(dst, ssrc, 2))
	eventually(t, "layer 1 at the consumer preferring it", fromLayer(dst1, ssrc1, 1))
	layers.wait(t, 2)
	eventually(t, "currentLayers 2", func() bool { l := c.CurrentLayers(); return l != nil && l.SpatialLayer == 2 })

	if err := c.SetPreferredLayers(ctx, media.ConsumerLayers{SpatialLayer: 0}); err != nil {
		t.Fatal(err)
	}
	returned(t, "preferredLayers 0", c.PreferredLayers() != nil && c.PreferredLayers().SpatialLayer == 0)
	eventually(t, "the lowest layer after setPreferredLayers", fromLayer(dst, ssrc, 0))
	layers.wait(t, 0)
	eventually(t, "currentLayers 0", func() bool { l := c.CurrentLayers(); return l != nil && l.SpatialLayer == 0 })
	eventually(t, "preferredLayers 0", func() bool { l := c.PreferredLayers(); return l != nil && l.SpatialLayer == 0 })
	got := dst.RTP(ssrc)
	for i := 1; i < len(got); i++ {
		if got[i].SequenceNumber != got[i-1].SequenceNumber+1 {
			t.Fatalf("sequence gap across the layer switch: %d then %d", got[i-1].SequenceNumber, got[i].SequenceNumber)
		}
	}
	wantErr(t, "setPreferredLayers beyond the producer's", c.SetPreferredLayers(ctx, media.ConsumerLayers{SpatialLayer: 3}), media.ErrInvalidParams)

	// The dump has the layers and the stream as mediasoup's does.
	d := check[*media.ConsumerDump](t)(c.Dump(ctx))
	for _, l := range []struct {
		name string
		v    *int
	}{{"preferredSpatialLayer", d.PreferredSpatialLayer}, {"targetSpatialLayer", d.TargetSpatialLayer}, {"currentSpatialLayer", d.CurrentSpatialLayer},
		{"preferredTemporalLayer", d.PreferredTemporalLayer}, {"targetTemporalLayer", d.TargetTemporalLayer}, {"currentTemporalLayer", d.CurrentTemporalLayer}} {
		if l.v == nil || *l.v != 0 {
			t.Fatalf("dump's %s %v, want 0 (the preferred layer forwarded)", l.name, l.v)
		}
	}
	if d.RtpStream == nil || d.RtpStream.Params.SSRC != ssrc {
		t.Fatalf("dump's rtpStream %+v, want the consumer's stream %d", d.RtpStream, ssrc)
	}
	st := check[[]media.RtpStreamStats](t)(p.GetStats(ctx))
	if len(st) != 3 {
		t.Fatalf("producer stats: %d streams, want 3: %+v", len(st), st)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}
