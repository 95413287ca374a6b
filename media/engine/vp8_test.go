package engine_test

import (
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
)

// vp8Packet is a one-packet VP8 picture with the extended descriptor:
// a 15-bit picture ID and TL0PICIDX.
func vp8Packet(t *testing.T, s *sender, key bool, pic uint16, tl0 uint8) []byte {
	t.Helper()
	payload := make([]byte, 100)
	payload[0] = 0x90 // X, S, PID 0
	payload[1] = 0xc0 // I, L
	payload[2], payload[3] = 0x80|byte(pic>>8), byte(pic)
	payload[4] = tl0
	payload[5] = 0x01 // inter frame
	if key {
		payload[5] = 0x00
	}
	p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: s.pt, SequenceNumber: s.seq, Timestamp: s.ts, SSRC: s.ssrc, Marker: true}, Payload: payload}
	s.seq++
	s.ts += 3000
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSimulcastVP8PictureIDs: across a simulcast consumer's layer switch
// the VP8 picture ID and TL0PICIDX it sends go on by one, although the
// layers number their pictures apart (mediasoup's VP8 EncodingContext),
// and a retransmission carries the values first sent.
func TestSimulcastVP8PictureIDs(t *testing.T) {
	f := newFixture(t)
	src, dst := newEndpoint(t), newEndpoint(t)
	in, out := f.plain(f.router, src), f.plain(f.router, dst)
	params := vp8Params(100)
	params.Encodings = []media.RtpEncodingParameters{{SSRC: 100}, {SSRC: 200}}
	p := must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))
	c := must[media.Consumer](t)(out.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: consumerCaps(false)}))
	low, high := &sender{ssrc: 100, pt: 101, seq: 10}, &sender{ssrc: 200, pt: 101, seq: 5000}
	lowPic, highPic := uint16(0x7ffe), uint16(300) // the low layer's wraps
	lowTL0, highTL0 := uint8(250), uint8(7)
	round := func(key bool) {
		src.send(in.Tuple(), vp8Packet(t, low, key, lowPic, lowTL0))
		src.send(in.Tuple(), vp8Packet(t, high, key, highPic, highTL0))
		lowPic, highPic = (lowPic+1)&0x7fff, (highPic+1)&0x7fff
		lowTL0, highTL0 = lowTL0+1, highTL0+1
	}
	for i := 0; i < 5; i++ {
		round(i == 0)
	}
	wait.Until(t, "5 packets of the high layer", func() bool { return len(dst.packets()) >= 5 })
	if err := c.SetPreferredLayers(f.ctx, media.ConsumerLayers{SpatialLayer: 0}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		round(i == 0)
	}
	wait.Until(t, "10 packets", func() bool { return len(dst.packets()) >= 10 })
	pkts := dst.packets()
	pic := func(p *rtp.Packet) uint16 { return (uint16(p.Payload[2])<<8 | uint16(p.Payload[3])) & 0x7fff }
	for i := 1; i < 10; i++ {
		if got, want := pic(pkts[i]), (pic(pkts[i-1])+1)&0x7fff; got != want || pkts[i].Payload[2]&0x80 == 0 {
			t.Fatalf("packet %d: picture ID %d after %d", i, got, pic(pkts[i-1]))
		}
		if got, want := pkts[i].Payload[4], pkts[i-1].Payload[4]+1; got != want {
			t.Fatalf("packet %d: TL0PICIDX %d after %d", i, got, pkts[i-1].Payload[4])
		}
	}
	if pic(pkts[0]) != 300 || pkts[0].Payload[4] != 7 {
		t.Fatalf("first packet: picture ID %d TL0PICIDX %d, want the layer's own", pic(pkts[0]), pkts[0].Payload[4])
	}
	// A retransmission of a packet sent after the switch.
	lost := pkts[7]
	dst.sendRTCP(out.Tuple(), &rtcp.TransportLayerNack{SenderSSRC: 1, MediaSSRC: lost.SSRC, Nacks: []rtcp.NackPair{{PacketID: lost.SequenceNumber}}})
	wait.Until(t, "the retransmission", func() bool { return len(dst.packets()) >= 11 })
	if rtx := dst.packets()[10]; rtx.SequenceNumber != lost.SequenceNumber || pic(rtx) != pic(lost) || rtx.Payload[4] != lost.Payload[4] {
		t.Fatalf("retransmission seq %d picture ID %d TL0PICIDX %d, first sent as %d %d %d",
			rtx.SequenceNumber, pic(rtx), rtx.Payload[4], lost.SequenceNumber, pic(lost), lost.Payload[4])
	}
}
