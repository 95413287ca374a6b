package mediatest

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

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

// testRtx: a consumer whose endpoint supports RTX gets an RTX stream in
// its rtpParameters, and answers a NACK with an RTX packet carrying the
// original sequence number and payload.
func testRtx(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	p := newPair(t, api, nil)
	caps := EndpointCaps()
	caps.Codecs = append(caps.Codecs, media.RtpCodecCapability{Kind: media.KindVideo, MimeType: "video/rtx", ClockRate: 90000})
	c := check[media.Consumer](t)(p.out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.producer.ID(), RtpCapabilities: caps}))
	params := c.RtpParameters()
	enc := params.Encodings[0]
	var rtxPT int
	for _, codec := range params.Codecs {
		if strings.EqualFold(codec.MimeType, "video/rtx") {
			rtxPT = codec.PayloadType
		}
	}
	if enc.RTX == nil || enc.RTX.SSRC == 0 || rtxPT == 0 {
		t.Fatalf("consumer rtpParameters without RTX: %+v", params)
	}
	p.send(t, 10)
	eventually(t, "packets", func() bool { return len(p.dst.RTP(enc.SSRC)) >= 10 })
	lost := p.dst.RTP(enc.SSRC)[4]
	p.dst.SendRTCP(p.out.Tuple(), &rtcp.TransportLayerNack{SenderSSRC: 9, MediaSSRC: enc.SSRC, Nacks: []rtcp.NackPair{{PacketID: lost.SequenceNumber}}})
	eventually(t, "the RTX packet", func() bool { return len(p.dst.RTP(enc.RTX.SSRC)) > 0 })
	r := p.dst.RTP(enc.RTX.SSRC)[0]
	if int(r.PayloadType) != rtxPT || len(r.Payload) < 2 || uint16(r.Payload[0])<<8|uint16(r.Payload[1]) != lost.SequenceNumber ||
		!bytes.Equal(r.Payload[2:], lost.Payload) {
		t.Fatalf("RTX packet pt %d payload %d bytes, want pt %d with seq %d and the payload", r.PayloadType, len(r.Payload), rtxPT, lost.SequenceNumber)
	}
	if d := check[*media.ConsumerDump](t)(c.Dump(ctx)); len(d.RtpStreams) != 1 || d.RtpStreams[0].Params.RtxSSRC != enc.RTX.SSRC {
		t.Fatalf("consumer dump rtpStreams %+v", d.RtpStreams)
	}
}

// testHeaderExtensions: a producer's header extension ids are mapped to
// the router's for its consumers; each consumer carries its mid (given,
// or "0", "1", ... per transport) in the MID extension of every packet,
// retransmissions included, and, as mediasoup's transports, its own send
// time in abs-send-time (the producer's value replaced).
func testHeaderExtensions(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r := newRouter(t, newWorker(t, api))
	src, dst := NewEndpoint(t), NewEndpoint(t)
	in, out := connectedPlain(t, r, src), connectedPlain(t, r, dst)
	const producerMidID, producerAbsID = 9, 3
	params := VP8Parameters(77)
	params.Mid = "producer-mid"
	params.HeaderExtensions = []media.RtpHeaderExtensionParameters{{URI: media.ExtMid, ID: producerMidID}, {URI: media.ExtAbsSendTime, ID: producerAbsID}}
	p := check[media.Producer](t)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))
	caps := EndpointCaps()
	var midID, absID uint8
	for _, e := range r.RtpCapabilities().HeaderExtensions {
		if e.Kind == media.KindVideo && (e.URI == media.ExtMid || e.URI == media.ExtAbsSendTime) {
			caps.HeaderExtensions = append(caps.HeaderExtensions, e)
			if e.URI == media.ExtMid {
				midID = uint8(e.PreferredID)
			} else {
				absID = uint8(e.PreferredID)
			}
		}
	}
	if midID == 0 || absID == 0 || absID == producerAbsID {
		t.Fatalf("router header extensions: mid %d abs-send-time %d", midID, absID)
	}
	first := check[media.Consumer](t)(out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps}))
	named := check[media.Consumer](t)(out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps, Mid: "video-b"}))
	second := check[media.Consumer](t)(out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps}))
	want := map[uint32]string{}
	for c, mid := range map[media.Consumer]string{first: "0", named: "video-b", second: "1"} {
		if got := c.RtpParameters().Mid; got != mid {
			t.Fatalf("consumer mid %q, want %q", got, mid)
		}
		want[c.RtpParameters().Encodings[0].SSRC] = mid
	}
	snd := &VP8Sender{SSRC: 77, PT: 101}
	for i := range 5 {
		pk := &rtp.Packet{}
		if err := pk.Unmarshal(snd.Next(t, i == 0, 300)); err != nil {
			t.Fatal(err)
		}
		if err := pk.SetExtension(producerMidID, []byte(params.Mid)); err != nil {
			t.Fatal(err)
		}
		if err := pk.SetExtension(producerAbsID, []byte{1, 2, 3}); err != nil {
			t.Fatal(err)
		}
		b, err := pk.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		src.Send(in.Tuple(), b)
	}
	checkAll := func(what string, n int) {
		t.Helper()
		eventually(t, what, func() bool {
			for ssrc := range want {
				if len(dst.RTP(ssrc)) < n {
					return false
				}
			}
			return true
		})
		for ssrc, mid := range want {
			for _, pk := range dst.RTP(ssrc) {
				if got := string(pk.GetExtension(midID)); got != mid {
					t.Fatalf("%s: ssrc %d seq %d: MID %q, want %q", what, ssrc, pk.SequenceNumber, got, mid)
				}
				if abs := pk.GetExtension(absID); len(abs) != 3 || bytes.Equal(abs, []byte{1, 2, 3}) || len(pk.Payload) != 300 {
					t.Fatalf("%s: ssrc %d: extensions %v, payload %d bytes", what, ssrc, pk.GetExtensionIDs(), len(pk.Payload))
				}
			}
		}
	}
	checkAll("forwarded packets", 5)
	for ssrc := range want {
		dst.SendRTCP(out.Tuple(), &rtcp.TransportLayerNack{SenderSSRC: 9, MediaSSRC: ssrc,
			Nacks: []rtcp.NackPair{{PacketID: dst.RTP(ssrc)[0].SequenceNumber}}})
	}
	checkAll("retransmissions", 6)
}

// testAudioHeaderExtensions: as mediasoup's producer, audio goes out to
// its consumers without the sender's transport-wide sequence number and
// abs-send-time (a receiving browser that bundles audio with video would
// read the sender's numbers as the receiving transport's), with the
// audio level at the router's id.
func testAudioHeaderExtensions(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r := newRouter(t, newWorker(t, api))
	src, dst := NewEndpoint(t), NewEndpoint(t)
	in, out := connectedPlain(t, r, src), connectedPlain(t, r, dst)
	params := OpusParameters(41)
	params.HeaderExtensions = []media.RtpHeaderExtensionParameters{
		{URI: media.ExtAudioLevel, ID: 1}, {URI: media.ExtAbsSendTime, ID: 2}, {URI: media.ExtTransportWideCC01, ID: 3},
	}
	p := check[media.Producer](t)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindAudio, RtpParameters: params}))
	caps := r.RtpCapabilities()
	ids := map[media.RtpHeaderExtensionURI]uint8{}
	for _, e := range caps.HeaderExtensions {
		if e.Kind == media.KindAudio {
			ids[e.URI] = uint8(e.PreferredID)
		}
	}
	c := check[media.Consumer](t)(out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: &caps}))
	pk := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 100, SSRC: 41}, Payload: []byte{1, 2, 3}}
	for id, v := range map[uint8][]byte{1: {0x85}, 2: {1, 2, 3}, 3: {0, 77}} {
		if err := pk.SetExtension(id, v); err != nil {
			t.Fatal(err)
		}
	}
	b, err := pk.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	src.Send(in.Tuple(), b)
	ssrc := c.RtpParameters().Encodings[0].SSRC
	eventually(t, "the audio packet", func() bool { return len(dst.RTP(ssrc)) >= 1 })
	got := dst.RTP(ssrc)[0]
	if lvl := got.GetExtension(ids[media.ExtAudioLevel]); !bytes.Equal(lvl, []byte{0x85}) {
		t.Errorf("audio level %v at id %d, want [0x85] (extensions %v)", lvl, ids[media.ExtAudioLevel], got.GetExtensionIDs())
	}
	for _, uri := range []media.RtpHeaderExtensionURI{media.ExtTransportWideCC01, media.ExtAbsSendTime} {
		if v := got.GetExtension(ids[uri]); v != nil {
			t.Errorf("%s forwarded on audio: %v at id %d", uri, v, ids[uri])
		}
	}
}
