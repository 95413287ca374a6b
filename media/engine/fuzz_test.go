package engine

import (
	"context"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/ropehq/rope/media"
)

// fuzzTarget is a producer on one direct transport and an RTX-enabled
// consumer on another, so ingress reaches forwarding, RTX unwrapping,
// NACK retransmission and key frame requests; beside it a RID-only
// simulcast producer with a simulcast consumer, so ingress also reaches
// the listener's MID/RID path (learning SSRCs).
type fuzzTarget struct {
	worker     media.Worker
	in, out    *transport
	outSSRC    uint32
	producerID string
}

func newFuzzTarget(tb testing.TB) *fuzzTarget {
	ctx := context.Background()
	w, err := New(nil).CreateWorker(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	r, err := w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: []media.RtpCodecCapability{
		{Kind: media.KindVideo, MimeType: "video/VP8", ClockRate: 90000},
		{Kind: media.KindVideo, MimeType: "video/AV1", ClockRate: 90000}}})
	if err != nil {
		tb.Fatal(err)
	}
	in, _ := r.CreateDirectTransport(ctx, nil)
	out, _ := r.CreateDirectTransport(ctx, nil)
	fb := []media.RtcpFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}
	p, err := in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: media.RtpParameters{
		Codecs: []media.RtpCodecParameters{
			{MimeType: "video/VP8", PayloadType: 96, ClockRate: 90000, RtcpFeedback: fb},
			{MimeType: "video/rtx", PayloadType: 97, ClockRate: 90000, Parameters: media.Parameters{"apt": 96}},
		},
		Encodings: []media.RtpEncodingParameters{{SSRC: 1000, RTX: &media.RtxParameters{SSRC: 2000}}},
	}})
	if err != nil {
		tb.Fatal(err)
	}
	c, err := out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{
		{Kind: media.KindVideo, MimeType: "video/VP8", ClockRate: 90000, RtcpFeedback: fb},
		{Kind: media.KindVideo, MimeType: "video/rtx", ClockRate: 90000},
	}}})
	if err != nil {
		tb.Fatal(err)
	}
	if err := addRidFuzzTarget(ctx, in, out); err != nil {
		tb.Fatal(err)
	}
	if err := addAV1FuzzTarget(ctx, in, out); err != nil {
		tb.Fatal(err)
	}
	return &fuzzTarget{worker: w, in: in.(*directTransport).transport, out: out.(*directTransport).transport,
		outSSRC: c.RtpParameters().Encodings[0].SSRC, producerID: p.ID()}
}

// Header extension ids and MID of the fuzz target's RID producer.
const (
	fuzzMidID, fuzzRidID, fuzzRridID = 1, 2, 3
	fuzzMid                          = "m"
)

func addRidFuzzTarget(ctx context.Context, in, out media.Transport) error {
	fb := []media.RtcpFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	p, err := in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: media.RtpParameters{
		Mid: fuzzMid,
		Codecs: []media.RtpCodecParameters{
			{MimeType: "video/VP8", PayloadType: 100, ClockRate: 90000, RtcpFeedback: fb},
			{MimeType: "video/rtx", PayloadType: 101, ClockRate: 90000, Parameters: media.Parameters{"apt": 100}},
		},
		HeaderExtensions: []media.RtpHeaderExtensionParameters{
			{URI: media.ExtMid, ID: fuzzMidID}, {URI: media.ExtRtpStreamID, ID: fuzzRidID}, {URI: media.ExtRepairedRtpStreamID, ID: fuzzRridID},
		},
		Encodings: []media.RtpEncodingParameters{{RID: "a"}, {RID: "b"}},
	}})
	if err != nil {
		return err
	}
	_, err = out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{
		{Kind: media.KindVideo, MimeType: "video/VP8", ClockRate: 90000, RtcpFeedback: fb},
		{Kind: media.KindVideo, MimeType: "video/rtx", ClockRate: 90000},
	}}})
	return err
}

// ridPacket is an RTP packet with MID and RID (or repaired RID) header
// extensions.
func ridPacket(ssrc uint32, pt uint8, seq uint16, ridID uint8, mid, rid string, payload []byte) []byte {
	p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, SSRC: ssrc}, Payload: payload}
	if mid != "" {
		_ = p.SetExtension(fuzzMidID, []byte(mid))
	}
	if rid != "" {
		_ = p.SetExtension(ridID, []byte(rid))
	}
	b, _ := p.Marshal()
	return b
}

func (f *fuzzTarget) close() { f.worker.Close(context.Background()) }

func fuzzSeeds(f *testing.F, outSSRC uint32) {
	pkt := func(ssrc uint32, pt uint8, seq uint16, payload []byte) []byte {
		b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, SSRC: ssrc}, Payload: payload}).Marshal()
		return b
	}
	nack, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: outSSRC, Nacks: []rtcp.NackPair{{PacketID: 1, LostPackets: 0xffff}}}})
	pli, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: outSSRC}, &rtcp.ReceiverReport{SSRC: 5, Reports: []rtcp.ReceptionReport{{SSRC: outSSRC, FractionLost: 10, LastSenderReport: 77}}}})
	sr, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.SenderReport{SSRC: 1000, NTPTime: 1 << 40}})
	f.Add(pkt(1000, 96, 1, []byte{0x10, 0x00, 1, 2, 3}), nack)
	f.Add(pkt(2000, 97, 9, []byte{0, 1, 0x10, 0x00, 1}), pli)
	f.Add(pkt(1000, 96, 2, []byte{0x90, 0x80, 0x05, 0x00}), sr)
	f.Add([]byte{0x80}, []byte{0x80, 0xcd, 0x00, 0x01})
	// MID/RID: a media packet learns its SSRC, then RTX with a repaired
	// RID (split in two pieces by the first byte); RID alone; MID alone.
	media := ridPacket(7000, 100, 1, fuzzRidID, fuzzMid, "a", []byte{0x10, 0x00, 1, 2})
	rtx := ridPacket(7001, 101, 1, fuzzRridID, fuzzMid, "a", []byte{0, 1, 0x10, 0x00, 1})
	f.Add(append(append([]byte{byte(len(media))}, media...), rtx...), nack)
	f.Add(ridPacket(7002, 100, 5, fuzzRidID, "", "b", []byte{0x10, 0x01, 3}), pli)
	f.Add(ridPacket(7003, 100, 5, fuzzRidID, fuzzMid, "", []byte{0x10, 0x01, 3}), sr)
	av1Seeds(f, nack)
}

// FuzzIngress feeds arbitrary datagrams to the receive path of the
// producer's transport (first argument, split into pieces by its length
// bytes) and of the consumer's transport (second argument, as RTCP).
func FuzzIngress(f *testing.F) {
	target := newFuzzTarget(f)
	defer target.close()
	fuzzSeeds(f, target.outSSRC)
	f.Fuzz(func(t *testing.T, toProducer, toConsumer []byte) {
		now := nanotime()
		feed := func(t *transport, b []byte) {
			if p := t.receive(b, now); p != nil {
				p.flush()
			}
		}
		feed(target.in, toProducer)
		for rest := toProducer; len(rest) > 1; {
			n := min(int(rest[0]), len(rest)-1)
			piece := append([]byte(nil), rest[1:1+n]...)
			feed(target.in, piece)
			rest = rest[1+n:]
		}
		feed(target.out, toConsumer)
		feed(target.in, toConsumer)
	})
}
