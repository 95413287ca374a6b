package engine

import (
	"context"
	"testing"

	"github.com/pion/rtp"
	"github.com/ropehq/rope/media"
)

// The fuzz target's AV1 producer: two L1T3 simulcast streams with the
// dependency descriptor, a simulcast consumer on temporal layer 1 and a
// pipe consumer (which keeps the descriptor the other drops).
const (
	fuzzAV1SSRC = 9000
	fuzzDDID    = 12
)

func addAV1FuzzTarget(ctx context.Context, in, out media.Transport) error {
	fb := []media.RtcpFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	p, err := in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: media.RtpParameters{
		Codecs:           []media.RtpCodecParameters{{MimeType: "video/AV1", PayloadType: 45, ClockRate: 90000, RtcpFeedback: fb}},
		HeaderExtensions: []media.RtpHeaderExtensionParameters{{URI: media.ExtDependencyDescriptor, ID: fuzzDDID}},
		Encodings:        []media.RtpEncodingParameters{{SSRC: fuzzAV1SSRC, ScalabilityMode: "L1T3"}, {SSRC: fuzzAV1SSRC + 1, ScalabilityMode: "L1T3"}},
	}})
	if err != nil {
		return err
	}
	caps := &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{{Kind: media.KindVideo, MimeType: "video/AV1", ClockRate: 90000, RtcpFeedback: fb}}}
	one := 1
	if _, err := out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps,
		PreferredLayers: &media.ConsumerLayers{SpatialLayer: 0, TemporalLayer: &one}}); err != nil {
		return err
	}
	_, err = out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps, Pipe: true})
	return err
}

// av1Seeds: Chromium's key frame descriptor (libwebrtc's L1T3 structure)
// then a T2 and a T1 frame, in pieces (length-prefixed).
func av1Seeds(f *testing.F, rtcp []byte) {
	pkt := func(seq uint16, payload, dd []byte) []byte {
		p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 45, SequenceNumber: seq, SSRC: fuzzAV1SSRC, Marker: true}, Payload: payload}
		_ = p.SetExtension(fuzzDDID, dd)
		b, _ := p.Marshal()
		return b
	}
	key := pkt(1, []byte{0x18, 0x0a, 0x0b}, []byte{0xc0, 0x00, 0x08, 0x80, 0x02, 0x14, 0xea, 0xa8, 0x60, 0x41, 0x4d, 0x14, 0x10, 0x20, 0x84, 0x27, 0x00, 0x9f, 0x00, 0x77})
	t2 := pkt(2, []byte{0x10, 0x32}, []byte{0xc3, 0x00, 0x0a, 0x1a, 0x20, 0x10})
	t1 := pkt(3, []byte{0x10, 0x32}, []byte{0xc2, 0x00, 0x0c, 0x1a, 0x60, 0x20})
	var seq []byte
	for _, b := range [][]byte{key, t2, t1} {
		seq = append(append(seq, byte(len(b))), b...)
	}
	f.Add(seq, rtcp)
}
