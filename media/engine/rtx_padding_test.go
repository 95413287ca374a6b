package engine_test

import (
	"encoding/binary"
	"testing"

	"github.com/pion/rtp"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
)

// TestProducerDropsUnaskedRtx: libwebrtc pads on the RTX stream with
// copies of packets it already sent (while it probes its estimate up,
// Chromium sent more such padding than media on its lowest simulcast
// layer). Those are not retransmissions the SFU asked for: as in
// mediasoup, the producer drops them, so they count into no stream
// bitrate (from which the send-side distribution picks a viewer's
// layers: counted, the lowest layer seemed to need 1 Mbit/s) and reach
// no consumer. A retransmission the SFU asked for still passes (see
// TestRidSimulcastLearnsAndSwitches).
func TestProducerDropsUnaskedRtx(t *testing.T) {
	f := newFixture(t)
	src, dst := newEndpoint(t), newEndpoint(t)
	in := f.plain(f.router, src)
	params := vp8Params(1111)
	params.Codecs = append(params.Codecs, media.RtpCodecParameters{MimeType: "video/rtx", PayloadType: 102, ClockRate: 90000,
		Parameters: media.Parameters{"apt": 101}})
	params.Encodings[0].RTX = &media.RtxParameters{SSRC: 2222}
	p := must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))
	c := must[media.Consumer](t)(f.plain(f.router, dst).Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: consumerCaps(false)}))
	ssrc := c.RtpParameters().Encodings[0].SSRC

	snd := &sender{ssrc: 1111, pt: 101, seq: 500}
	var sent [][]byte
	for i := range 5 {
		b := snd.packet(t, i == 0, 1000)
		sent = append(sent, b)
		src.send(in.Tuple(), b)
	}
	wait.Until(t, "five packets at the consumer", func() bool { return len(receivedFrom(dst, ssrc)) == 5 })
	// Padding: 20 RTX copies of packets that were never lost.
	for i := range 20 {
		orig := sent[1+i%3]
		var h rtp.Header
		n, err := h.Unmarshal(orig)
		mustOK(t, err)
		payload := binary.BigEndian.AppendUint16(nil, h.SequenceNumber)
		payload = append(payload, orig[n:]...)
		b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 102, SequenceNumber: uint16(9000 + i),
			Timestamp: h.Timestamp, SSRC: 2222}, Payload: payload}).Marshal()
		mustOK(t, err)
		src.send(in.Tuple(), b)
	}
	src.send(in.Tuple(), snd.packet(t, false, 1000))
	wait.Until(t, "the sixth packet at the consumer", func() bool { return len(receivedFrom(dst, ssrc)) >= 6 })
	if got := receivedFrom(dst, ssrc); len(got) != 6 {
		t.Errorf("consumer forwarded %d packets, want the 6 media packets", len(got))
	}
	st := must[[]media.RtpStreamStats](t)(p.GetStats(f.ctx))
	if st[0].PacketCount != 6 || st[0].PacketsRetransmitted != 0 || st[0].ByteCount > 6*1100 {
		t.Errorf("producer stream counted padding: packets %d, bytes %d, retransmitted %d", st[0].PacketCount, st[0].ByteCount, st[0].PacketsRetransmitted)
	}
}
