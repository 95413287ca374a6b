package mediatest

import (
	"slices"
	"sort"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/ropehq/rope/media"
)

// testOneStreamTemporal: a VP8 producer with one encoding and
// scalabilityMode L1T3 is, as in mediasoup (RtpParameters::GetType: one
// encoding with layers of a codec without SVC), a simulcast producer;
// its consumable parameters and its consumers' keep the one encoding
// with L1T3, and its consumers are simulcast consumers selecting
// temporal layers. One consumer preferring temporal layer 0 receives
// only TID 0 pictures, their sequence numbers, picture IDs and TL0PICIDX
// running on by one; another is switched 15 times across temporal layers
// 0-2 (each switch awaiting the TID it allows, its layerschange and
// currentLayers), what it receives checked as
// simulcast-temporal-switches does.
func testOneStreamTemporal(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r := newRouter(t, newWorker(t, api))
	src, dst, low := NewEndpoint(t), NewEndpoint(t), NewEndpoint(t)
	in, out, outLow := connectedPlain(t, r, src), connectedPlain(t, r, dst), connectedPlain(t, r, low)
	params := VP8Parameters(100)
	params.Encodings[0].ScalabilityMode = "L1T3"
	p := check[media.Producer](t)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))
	if p.Type() != media.ProducerSimulcast {
		t.Fatalf("producer type %s, want simulcast", p.Type())
	}
	if encs := p.ConsumableRtpParameters().Encodings; len(encs) != 1 || encs[0].ScalabilityMode != "L1T3" {
		t.Fatalf("consumable encodings %+v, want one with L1T3", encs)
	}
	c := check[media.Consumer](t)(out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: EndpointCaps()}))
	zero := 0
	cLow := check[media.Consumer](t)(outLow.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: EndpointCaps(),
		PreferredLayers: &media.ConsumerLayers{SpatialLayer: 0, TemporalLayer: &zero}}))
	for _, c := range []media.Consumer{c, cLow} {
		if encs := c.RtpParameters().Encodings; c.Type() != media.ConsumerSimulcast || len(encs) != 1 || encs[0].ScalabilityMode != "L1T3" {
			t.Fatalf("consumer type %s encodings %+v, want simulcast with one L1T3 encoding", c.Type(), encs)
		}
	}
	if pl := c.PreferredLayers(); pl == nil || pl.SpatialLayer != 0 || pl.TemporalLayer == nil || *pl.TemporalLayer != 2 {
		t.Fatalf("preferred layers %+v, want 0/2", pl)
	}
	if pl := cLow.PreferredLayers(); pl == nil || pl.SpatialLayer != 0 || pl.TemporalLayer == nil || *pl.TemporalLayer != 0 {
		t.Fatalf("preferred layers %+v, want 0/0", pl)
	}
	log := &layersLog{}
	c.OnLayersChange(log.add)
	ssrc, lowSSRC := c.RtpParameters().Encodings[0].SSRC, cLow.RtpParameters().Encodings[0].SSRC
	s := &l1t3Stream{ssrc: 100, seq: 65000, pic: 0x7f00, tl0: 200, first: true}
	var (
		epoch byte
		base  int // TID 0 pictures sent
	)
	round := func() {
		plis := 0
		for _, pk := range src.RTCP() {
			if pli, ok := pk.(*rtcp.PictureLossIndication); ok && pli.MediaSSRC == 100 {
				plis++
			}
		}
		key := plis > s.plis
		s.plis = plis
		for i, b := range s.picture(t, key, epoch) {
			if i == 0 && b[12+5]>>6 == 0 {
				base++
			}
			src.Send(in.Tuple(), b)
		}
	}
	seen := func(e byte, tid int) bool {
		for _, pk := range dst.RTP(ssrc) {
			if len(pk.Payload) > 9 && pk.Payload[7] == e && int(pk.Payload[9]) == tid {
				return true
			}
		}
		return false
	}
	eventually(t, "the top temporal layer", func() bool { round(); return seen(0, 2) })
	want := []int{2}
	for k := 1; k <= 15; k++ {
		tl := [3]int{0, 2, 1}[k%3]
		if k%5 == 0 {
			tl = (tl + 1) % 3 // also 1 after 0 and 2 after 1
		}
		if tl == want[k-1] {
			tl = (tl + 1) % 3
		}
		log.mu.Lock()
		log.events = log.events[:0]
		log.mu.Unlock()
		if err := c.SetPreferredLayers(ctxFor(t), media.ConsumerLayers{SpatialLayer: 0, TemporalLayer: &tl}); err != nil {
			t.Fatalf("switch %d: %v", k, err)
		}
		epoch = byte(k)
		want = append(want, tl)
		eventually(t, "a temporal switch's layer", func() bool { round(); return seen(epoch, tl) })
		// layerschange (and so a remote consumer's currentLayers) comes
		// when the layer changes, as in mediasoup: await it on every one.
		eventually(t, "layerschange of a temporal switch", func() bool { round(); return log.has(layers{0, tl}) })
		eventually(t, "currentLayers of a temporal switch", func() bool {
			round()
			cl := c.CurrentLayers()
			return cl != nil && cl.SpatialLayer == 0 && cl.TemporalLayer != nil && *cl.TemporalLayer == tl
		})
	}
	for range 40 {
		round()
	}
	// Switches no longer wait for a tick: send on until there is enough
	// to check.
	eventually(t, "100 packets", func() bool { round(); return len(dst.RTP(ssrc)) >= 100 })
	checkTemporalStream(t, dst.RTP(ssrc), func(e byte, stream, tid int) bool {
		for i := max(int(e)-1, 0); i <= min(int(e)+1, len(want)-1); i++ {
			if stream == 0 && tid <= want[i] {
				return true
			}
		}
		return false
	})
	// The TID 0 viewer: every TID 0 picture (two packets each), no other.
	eventually(t, "the TID 0 pictures", func() bool { return len(low.RTP(lowSSRC)) == 2*base })
	checkTemporalZero(t, low.RTP(lowSSRC))
	if cl := cLow.CurrentLayers(); cl == nil || cl.SpatialLayer != 0 || cl.TemporalLayer == nil || *cl.TemporalLayer != 0 {
		t.Fatalf("temporal layer 0 consumer: current layers %+v", cl)
	}
}

// checkTemporalZero checks what a consumer at temporal layer 0 sent (in
// order of sequence number): only TID 0 pictures, sequence numbers,
// picture IDs and TL0PICIDX each going on by one.
func checkTemporalZero(t *testing.T, pkts []*rtp.Packet) {
	t.Helper()
	ordered := slices.Clone(pkts)
	base := ordered[0].SequenceNumber - 1000
	sort.SliceStable(ordered, func(i, j int) bool { return ordered[i].SequenceNumber-base < ordered[j].SequenceNumber-base })
	pic := func(pk *rtp.Packet) uint16 { return (uint16(pk.Payload[2])<<8 | uint16(pk.Payload[3])) & 0x7fff }
	for i, pk := range ordered {
		if len(pk.Payload) < 10 || pk.Payload[5]>>6 != 0 || pk.Payload[9] != 0 {
			t.Fatalf("packet %d: payload % x, want TID 0", i, pk.Payload[:min(len(pk.Payload), 10)])
		}
		if i == 0 {
			continue
		}
		last := ordered[i-1]
		step := uint16(0)
		if pk.Payload[0]&0x10 != 0 {
			step = 1
		}
		if pk.SequenceNumber != last.SequenceNumber+1 || (pic(pk)-pic(last))&0x7fff != step || uint16(pk.Payload[4]-last.Payload[4]) != step {
			t.Fatalf("packet %d: sequence number %d picture ID %d TL0PICIDX %d after %d %d %d",
				i, pk.SequenceNumber, pic(pk), pk.Payload[4], last.SequenceNumber, pic(last), last.Payload[4])
		}
	}
}
