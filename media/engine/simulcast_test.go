package engine_test

import (
	"bytes"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
)

func TestSimulcastConsumer(t *testing.T) {
	f := newFixture(t)
	src, dst := newEndpoint(t), newEndpoint(t)
	in, out := f.plain(f.router, src), f.plain(f.router, dst)
	params := vp8Params(100)
	params.Encodings = []media.RtpEncodingParameters{{SSRC: 100}, {SSRC: 200}}
	p := must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))
	c := must[media.Consumer](t)(out.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: consumerCaps(false)}))
	if c.Type() != media.ConsumerSimulcast || c.PreferredLayers().SpatialLayer != 1 {
		t.Fatalf("type %s preferred %+v", c.Type(), c.PreferredLayers())
	}
	layers := make(chan *media.ConsumerLayers, 8)
	c.OnLayersChange(func(l *media.ConsumerLayers) { trySend(layers, l) })
	low, high := &sender{ssrc: 100, pt: 101, seq: 10}, &sender{ssrc: 200, pt: 101, seq: 5000, ts: 777777}
	var sentHigh, sentLow [][]byte
	round := func(key bool) {
		l, h := low.packet(t, key, 200), high.packet(t, key, 400)
		sentLow, sentHigh = append(sentLow, l), append(sentHigh, h)
		src.send(in.Tuple(), l)
		src.send(in.Tuple(), h)
	}
	for i := 0; i < 10; i++ {
		round(i == 0)
	}
	ssrc := c.RtpParameters().Encodings[0].SSRC
	wait.Until(t, "high layer", func() bool { return len(receivedFrom(dst, ssrc)) >= 10 })
	recvUntil(t, "layerschange to 1", layers, func(l *media.ConsumerLayers) bool { return l != nil && l.SpatialLayer == 1 })

	// Switch down: the low layer's next key frame takes over.
	if err := c.SetPreferredLayers(f.ctx, media.ConsumerLayers{SpatialLayer: 0}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetPreferredLayers(f.ctx, media.ConsumerLayers{SpatialLayer: 2}); !isErr(err, media.ErrInvalidParams) {
		t.Fatalf("bad layer: %v", err)
	}
	round(false) // no key frame yet: still the high layer
	for i := 0; i < 5; i++ {
		round(i == 0)
	}
	got := func() []*rtp.Packet { return receivedFrom(dst, ssrc) }
	wait.Until(t, "low layer", func() bool { return len(got()) >= 16 })
	pkts := got()
	checkContinuous(t, pkts)
	for i := 0; i < 11; i++ {
		if !bytes.Equal(pkts[i].Payload, sentHigh[i][12:]) {
			t.Fatalf("packet %d is not from the high layer", i)
		}
	}
	for i := 11; i < 16; i++ {
		if !bytes.Equal(pkts[i].Payload, sentLow[i][12:]) {
			t.Fatalf("packet %d is not from the low layer", i)
		}
		if pkts[i].Timestamp-pkts[i-1].Timestamp > 1<<31 || pkts[i].Timestamp == pkts[i-1].Timestamp && i == 11 {
			t.Fatalf("timestamp went back at the switch: %d then %d", pkts[i-1].Timestamp, pkts[i].Timestamp)
		}
	}
	recvUntil(t, "layerschange to 0", layers, func(l *media.ConsumerLayers) bool { return l != nil && l.SpatialLayer == 0 })
	if cl := c.CurrentLayers(); cl == nil || cl.SpatialLayer != 0 {
		t.Fatalf("current layers %+v", cl)
	}
}

// TestSimulcastConsumerAsksAgainForALostKeyFrame: a simulcast consumer
// waiting for a key frame of its target asks again once the producer's
// pending window has passed, so a PLI that brought no key frame (lost, or
// ignored by an encoder that had just sent one, as browsers may at the
// start of a stream) does not leave it forwarding nothing for good.
// Browsers joining a room hit this: every consumer of a new producer
// retargeted once, the first request went out and got no answer, the
// others fell in its pending window.
func TestSimulcastConsumerAsksAgainForALostKeyFrame(t *testing.T) {
	f := newFixture(t)
	src, dst := newEndpoint(t), newEndpoint(t)
	in, out := f.plain(f.router, src), f.plain(f.router, dst)
	params := vp8Params(100)
	params.Encodings = []media.RtpEncodingParameters{{SSRC: 100}, {SSRC: 200}} // only the low one is sent
	p := must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))
	c := must[media.Consumer](t)(out.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: consumerCaps(false)}))
	ssrc := c.RtpParameters().Encodings[0].SSRC
	low := &sender{ssrc: 100, pt: 101, seq: 10}
	// The sender sends inter frames and answers each PLI after the first
	// with a key frame.
	plis := 0
	wait.Until(t, "the consumer forwards", func() bool {
		n := 0
		for _, pk := range src.rtcpPackets() {
			if pli, ok := pk.(*rtcp.PictureLossIndication); ok && pli.MediaSSRC == 100 {
				n++
			}
		}
		src.send(in.Tuple(), low.packet(t, n > plis && n > 1, 200))
		plis = n
		return len(receivedFrom(dst, ssrc)) > 0
	})
	if cl := c.CurrentLayers(); cl == nil || cl.SpatialLayer != 0 {
		t.Fatalf("current layers %+v, want the low layer", cl)
	}
}
