package mediatest

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtcp"

	"github.com/ropehq/rope/media"
)

// testRtcpFeedback: RTCP both ways through a producer and its consumer.
// The consuming endpoint gets sender reports counting what it received,
// the producing one receiver reports; a PLI from the consuming endpoint
// reaches the producing one; a NACKed packet is retransmitted with its
// number and payload; the consumer's stats count them.
func testRtcpFeedback(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	p := newPair(t, api, nil)
	p.send(t, 20)
	p.waitPackets(t, 20)
	ssrc := p.consumerSSRC()
	eventually(t, "a sender report counting 20 packets", func() bool {
		for _, x := range p.dst.RTCP() {
			if sr, ok := x.(*rtcp.SenderReport); ok && sr.SSRC == ssrc && sr.PacketCount == 20 {
				return true
			}
		}
		return false
	})
	eventually(t, "a receiver report for the producer's stream", func() bool {
		for _, x := range p.src.RTCP() {
			if rr, ok := x.(*rtcp.ReceiverReport); ok && len(rr.Reports) > 0 && rr.Reports[0].SSRC == 3333 {
				return true
			}
		}
		return false
	})

	before := keyFrameRequests(p.src, 3333)
	eventually(t, "the consuming endpoint's PLI at the producing one", func() bool {
		p.dst.SendRTCP(p.out.Tuple(), &rtcp.PictureLossIndication{SenderSSRC: 9, MediaSSRC: ssrc})
		time.Sleep(20 * time.Millisecond)
		return keyFrameRequests(p.src, 3333) > before
	})

	lost := p.dst.RTP(ssrc)[7]
	n := len(p.dst.RTP(ssrc))
	p.dst.SendRTCP(p.out.Tuple(), &rtcp.TransportLayerNack{SenderSSRC: 9, MediaSSRC: ssrc, Nacks: []rtcp.NackPair{{PacketID: lost.SequenceNumber}}})
	eventually(t, "the retransmission", func() bool { return len(p.dst.RTP(ssrc)) > n })
	if again := p.dst.RTP(ssrc)[n]; again.SequenceNumber != lost.SequenceNumber || !bytes.Equal(again.Payload, lost.Payload) {
		t.Fatalf("retransmitted seq %d, want %d (payload intact %v)", again.SequenceNumber, lost.SequenceNumber, bytes.Equal(again.Payload, lost.Payload))
	}
	eventually(t, "the consumer's stats", func() bool {
		st, err := p.consumer.GetStats(ctx)
		return err == nil && st[0].PacketsRetransmitted == 1 && st[0].NackCount == 1 && st[0].PliCount >= 1
	})
}

// testProducerNack: a producer that sees a gap in sequence numbers NACKs
// the missing packet; once the endpoint resends it, the consumer forwards
// it in its place in the sequence.
func testProducerNack(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	p := newPair(t, api, nil)
	var lost []byte
	for i := range 16 {
		b := p.sender.Next(t, i == 0, 300)
		if i == 10 {
			lost = b
			continue
		}
		p.src.Send(p.in.Tuple(), b)
	}
	lostSeq := uint16(lost[2])<<8 | uint16(lost[3])
	eventually(t, "a NACK at the producing endpoint", func() bool {
		for _, x := range p.src.RTCP() {
			if n, ok := x.(*rtcp.TransportLayerNack); ok && n.MediaSSRC == 3333 && len(n.Nacks) > 0 && n.Nacks[0].PacketID == lostSeq {
				return true
			}
		}
		return false
	})
	p.src.Send(p.in.Tuple(), lost)
	p.waitPackets(t, 16)
	got := p.dst.RTP(p.consumerSSRC())
	if last := got[15]; last.SequenceNumber != got[9].SequenceNumber+1 || !bytes.Equal(last.Payload, lost[12:]) {
		t.Fatalf("recovered packet seq %d, want %d", last.SequenceNumber, got[9].SequenceNumber+1)
	}
	eventually(t, "the producer's stats", func() bool {
		st, err := p.producer.GetStats(ctx)
		return err == nil && st[0].NackCount > 0 && st[0].NackPacketCount > 0 && st[0].PacketsLost == 0
	})
}
