package engine_test

import (
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
)

// TestConsumerMid checks consumers' MIDs as mediasoup's Transport.consume
// gives them (a counter per transport unless given; none for pipe
// consumers) and that every packet a consumer sends, retransmissions
// included, carries its MID in the MID header extension, in place of the
// producer's.
func TestConsumerMid(t *testing.T) {
	f := newFixture(t)
	opts := &media.PlainTransportOptions{ListenInfo: &media.TransportListenInfo{IP: lo}}
	src, dst := newEndpoint(t), newEndpoint(t)
	in := must[media.PlainTransport](t)(f.router.CreatePlainTransport(f.ctx, opts))
	out := must[media.PlainTransport](t)(f.router.CreatePlainTransport(f.ctx, opts))
	if err := in.Connect(f.ctx, &media.PlainTransportConnectOptions{IP: lo, Port: src.port()}); err != nil {
		t.Fatal(err)
	}
	if err := out.Connect(f.ctx, &media.PlainTransportConnectOptions{IP: lo, Port: dst.port()}); err != nil {
		t.Fatal(err)
	}
	const producerMidID, absSendTimeID = 9, 3
	params := vp8Params(77)
	params.Mid = "producer-mid"
	params.HeaderExtensions = []media.RtpHeaderExtensionParameters{
		{URI: media.ExtMid, ID: producerMidID}, {URI: media.ExtAbsSendTime, ID: absSendTimeID}}
	p := must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))

	caps := consumerCaps(false)
	var midID, routerAbsSendTimeID uint8
	for _, e := range f.router.RtpCapabilities().HeaderExtensions {
		if e.Kind == media.KindVideo && (e.URI == media.ExtMid || e.URI == media.ExtAbsSendTime) {
			caps.HeaderExtensions = append(caps.HeaderExtensions, e)
			if e.URI == media.ExtMid {
				midID = uint8(e.PreferredID)
			} else {
				routerAbsSendTimeID = uint8(e.PreferredID)
			}
		}
	}
	consume := func(o *media.ConsumerOptions) media.Consumer {
		o.ProducerID, o.RtpCapabilities = p.ID(), caps
		return must[media.Consumer](t)(out.Consume(f.ctx, o))
	}
	first, named, second := consume(&media.ConsumerOptions{}), consume(&media.ConsumerOptions{Mid: "video-b"}), consume(&media.ConsumerOptions{})
	pipe := consume(&media.ConsumerOptions{Pipe: true})
	for c, want := range map[media.Consumer]string{first: "0", named: "video-b", second: "1", pipe: ""} {
		if got := c.RtpParameters().Mid; got != want {
			t.Fatalf("consumer mid %q, want %q", got, want)
		}
	}
	wantMid := map[uint32]string{}
	for _, c := range []media.Consumer{first, named, second} {
		wantMid[c.RtpParameters().Encodings[0].SSRC] = c.RtpParameters().Mid
	}

	snd := &sender{ssrc: 77, pt: 101}
	for i := range 5 {
		pk := &rtp.Packet{}
		mustOK(t, pk.Unmarshal(snd.packet(t, i == 0, 300)))
		mustOK(t, pk.SetExtension(producerMidID, []byte(params.Mid)))
		mustOK(t, pk.SetExtension(absSendTimeID, []byte{1, 2, 3}))
		b, err := pk.Marshal()
		mustOK(t, err)
		src.send(in.Tuple(), b)
	}
	check := func(what string, n int) {
		t.Helper()
		got := map[uint32]int{}
		wait.Until(t, what, func() bool {
			clear(got)
			for _, pk := range dst.packets() {
				got[pk.SSRC]++
			}
			for ssrc := range wantMid {
				if got[ssrc] < n {
					return false
				}
			}
			return true
		})
		for _, pk := range dst.packets() {
			want, ok := wantMid[pk.SSRC]
			if !ok {
				continue // the pipe consumer
			}
			if mid := string(pk.GetExtension(midID)); mid != want {
				t.Fatalf("%s: ssrc %d seq %d: MID extension %q, want %q", what, pk.SSRC, pk.SequenceNumber, mid, want)
			}
			if len(pk.GetExtension(routerAbsSendTimeID)) != 3 || len(pk.Payload) != 300 {
				t.Fatalf("%s: packet damaged: extensions %v payload %d bytes", what, pk.GetExtensionIDs(), len(pk.Payload))
			}
		}
	}
	check("forwarded packets", 5)

	// A retransmission carries the MID too.
	firstSeq := map[uint32]uint16{}
	for _, pk := range dst.packets() {
		if _, ok := firstSeq[pk.SSRC]; !ok {
			firstSeq[pk.SSRC] = pk.SequenceNumber
		}
	}
	for ssrc := range wantMid {
		seq := firstSeq[ssrc]
		dst.sendRTCP(out.Tuple(), &rtcp.TransportLayerNack{SenderSSRC: 9, MediaSSRC: ssrc, Nacks: []rtcp.NackPair{{PacketID: seq}}})
	}
	check("retransmissions", 6)
}
