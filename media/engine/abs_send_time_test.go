package engine_test

import (
	"testing"

	"github.com/pion/rtp"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
)

// absSendTime reads a packet's abs-send-time (ok false: none).
func absSendTime(pk *rtp.Packet, id uint8) (uint32, bool) {
	v := pk.GetExtension(id)
	if len(v) != 3 {
		return 0, false
	}
	return uint32(v[0])<<16 | uint32(v[1])<<8 | uint32(v[2]), true
}

// TestAbsSendTime: as mediasoup's transports, a video consumer that
// negotiated abs-send-time sends every packet with its own send time
// there, whether the producer's packet had the element (its value is
// replaced) or not (it is added), alone, with the consumer's MID or with
// transport-wide numbering; a consumer that did not negotiate it gets
// none added.
func TestAbsSendTime(t *testing.T) {
	f := newFixture(t)
	src := newEndpoint(t)
	in := f.plain(f.router, src)
	var absID, twccID int
	for _, e := range f.router.RtpCapabilities().HeaderExtensions {
		if e.Kind == media.KindVideo && e.URI == media.ExtAbsSendTime {
			absID = e.PreferredID
		}
		if e.Kind == media.KindVideo && e.URI == media.ExtTransportWideCC01 {
			twccID = e.PreferredID
		}
	}
	const producerAbsID = 9
	params := vp8Params(100)
	params.HeaderExtensions = []media.RtpHeaderExtensionParameters{{URI: media.ExtAbsSendTime, ID: producerAbsID}}
	p := must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))

	absExt := media.RtpHeaderExtension{Kind: media.KindVideo, URI: media.ExtAbsSendTime, PreferredID: absID}
	plain := consumerCaps(false)
	withAbs := consumerCaps(false)
	withAbs.HeaderExtensions = []media.RtpHeaderExtension{absExt}
	withMid := consumerCaps(false)
	withMid.HeaderExtensions = []media.RtpHeaderExtension{{Kind: media.KindVideo, URI: media.ExtMid, PreferredID: 1}, absExt}
	withTwcc, _ := bweCaps(f.router)
	withTwcc.HeaderExtensions = append(withTwcc.HeaderExtensions, absExt)
	type viewer struct {
		name string
		dst  *endpoint
		abs  bool
	}
	var viewers []viewer
	for _, v := range []struct {
		name string
		caps *media.RtpCapabilities
	}{{"plain", plain}, {"abs", withAbs}, {"abs+mid", withMid}, {"abs+twcc", withTwcc}} {
		dst := newEndpoint(t)
		must[media.Consumer](t)(f.plain(f.router, dst).Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: v.caps}))
		viewers = append(viewers, viewer{v.name, dst, v.caps != plain})
	}

	s := &sender{ssrc: 100, pt: 101}
	// Packets without the element, then with a stale value, each sent
	// once the one before has reached every viewer.
	for i := 0; i < 6; i++ {
		pk := &rtp.Packet{}
		if err := pk.Unmarshal(s.packet(t, i == 0, 300)); err != nil {
			t.Fatal(err)
		}
		if i >= 3 {
			if err := pk.SetExtension(producerAbsID, []byte{0xab, 0xcd, 0xef}); err != nil {
				t.Fatal(err)
			}
		}
		b, _ := pk.Marshal()
		src.send(in.Tuple(), b)
		for _, v := range viewers {
			wait.Until(t, v.name+" receives the packet", func() bool { return len(v.dst.packets()) > i })
		}
	}
	for _, v := range viewers {
		var last uint32
		for i, pk := range v.dst.packets()[:6] {
			got, ok := absSendTime(pk, uint8(absID))
			switch {
			case !v.abs && i < 3 && ok:
				t.Fatalf("%s: packet %d has an abs-send-time it did not negotiate", v.name, i)
			case !v.abs:
			case !ok:
				t.Fatalf("%s: packet %d without abs-send-time", v.name, i)
			case got == 0xabcdef:
				t.Fatalf("%s: packet %d kept the producer's abs-send-time", v.name, i)
			case i > 0 && (got-last)&0xffffff >= 1<<23:
				t.Fatalf("%s: packet %d abs-send-time %#x before the previous one's %#x", v.name, i, got, last)
			}
			last = got
		}
		if v.name == "abs+mid" && string(v.dst.packets()[0].GetExtension(1)) == "" {
			t.Fatalf("%s: no MID", v.name)
		}
		if v.name == "abs+twcc" && len(v.dst.packets()[0].GetExtension(uint8(twccID))) != 2 {
			t.Fatalf("%s: no transport-wide sequence number", v.name)
		}
	}
}
