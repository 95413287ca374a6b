package engine

import (
	"context"
	"testing"

	"github.com/pion/rtp"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/rtppkt"
)

// TestSimulcastTemporalNoAlloc: forwarding L1T3 VP8 simulcast through a
// consumer that drops a temporal layer and rewrites picture IDs and
// TL0PICIDX allocates nothing per packet.
func TestSimulcastTemporalNoAlloc(t *testing.T) {
	testTemporalNoAlloc(t, []media.RtpEncodingParameters{{SSRC: 1, ScalabilityMode: "L1T3"}, {SSRC: 2, ScalabilityMode: "L1T3"}})
}

// TestOneStreamTemporalNoAlloc: so does a producer of one L1T3 VP8
// encoding (a one-stream simulcast producer).
func TestOneStreamTemporalNoAlloc(t *testing.T) {
	testTemporalNoAlloc(t, []media.RtpEncodingParameters{{SSRC: 1, ScalabilityMode: "L1T3"}})
}

func testTemporalNoAlloc(t *testing.T, encodings []media.RtpEncodingParameters) {
	ctx := context.Background()
	w, _ := New(nil).CreateWorker(ctx, nil)
	defer w.Close(ctx)
	r, _ := w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: []media.RtpCodecCapability{
		{Kind: media.KindVideo, MimeType: "video/VP8", ClockRate: 90000}}})
	in, _ := r.CreateDirectTransport(ctx, nil)
	caps := &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{{Kind: media.KindVideo, MimeType: "video/VP8", ClockRate: 90000}}}
	p, err := in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: media.RtpParameters{
		Codecs:    []media.RtpCodecParameters{{MimeType: "video/VP8", PayloadType: 96, ClockRate: 90000}},
		Encodings: encodings,
	}})
	if err != nil || p.Type() != media.ProducerSimulcast {
		t.Fatalf("produce: %v", err)
	}
	out, _ := r.CreateDirectTransport(ctx, nil)
	one := 1
	c, err := out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps,
		PreferredLayers: &media.ConsumerLayers{SpatialLayer: 0, TemporalLayer: &one}})
	if err != nil || c.Type() != media.ConsumerSimulcast {
		t.Fatalf("consume: %v", err)
	}
	sent := 0
	c.OnRtp(func([]byte) { sent++ })
	tr := in.(*directTransport).transport
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1}, Payload: make([]byte, 1000)}
	buf := make([]byte, rtppkt.MaxPacketLen)
	i := 0
	send := func() {
		tid := [4]byte{0, 2, 1, 2}[i%4]
		pkt.SequenceNumber, pkt.Timestamp = uint16(i), uint32(i*3000)
		p := pkt.Payload
		p[0], p[1], p[2], p[3], p[4], p[5], p[6] = 0x90, 0xe0, 0x80|byte(i>>8)&0x7f, byte(i), byte(i/4), tid<<6|0x20, 1
		if i == 0 {
			p[6] = 0
		}
		m, _ := pkt.MarshalTo(buf)
		tr.receive(buf[:m], nanotime()).flush()
		i++
	}
	for range 8 {
		send()
	}
	if sent != 4 {
		t.Fatalf("%d of 8 packets sent, want 4 (TID 2 dropped)", sent)
	}
	if a := testing.AllocsPerRun(400, send); a != 0 {
		t.Fatalf("%v allocations per packet", a)
	}
}

// TestSimulcastAV1NoAlloc: forwarding L1T3 AV1 simulcast through a
// consumer that drops a temporal layer by the dependency descriptor
// (parsed per packet against the stream's structure) allocates nothing.
func TestSimulcastAV1NoAlloc(t *testing.T) {
	ctx := context.Background()
	w, _ := New(nil).CreateWorker(ctx, nil)
	defer w.Close(ctx)
	r, _ := w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: []media.RtpCodecCapability{
		{Kind: media.KindVideo, MimeType: "video/AV1", ClockRate: 90000}}})
	in, _ := r.CreateDirectTransport(ctx, nil)
	caps := &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{{Kind: media.KindVideo, MimeType: "video/AV1", ClockRate: 90000}}}
	p, err := in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: media.RtpParameters{
		Codecs:           []media.RtpCodecParameters{{MimeType: "video/AV1", PayloadType: 45, ClockRate: 90000}},
		HeaderExtensions: []media.RtpHeaderExtensionParameters{{URI: media.ExtDependencyDescriptor, ID: 12}},
		Encodings:        []media.RtpEncodingParameters{{SSRC: 1, ScalabilityMode: "L1T3"}, {SSRC: 2, ScalabilityMode: "L1T3"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := r.CreateDirectTransport(ctx, nil)
	one := 1
	c, err := out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps,
		PreferredLayers: &media.ConsumerLayers{SpatialLayer: 0, TemporalLayer: &one}})
	if err != nil || c.Type() != media.ConsumerSimulcast {
		t.Fatalf("consume: %v", err)
	}
	sent := 0
	c.OnRtp(func([]byte) { sent++ })
	tr := in.(*directTransport).transport
	// Chromium's key frame descriptor with libwebrtc's L1T3 structure
	// (frame 8, 160x120), then 3-byte descriptors naming templates T0,
	// T2, T1, T2.
	key := []byte{0xc0, 0x00, 0x08, 0x80, 0x02, 0x14, 0xea, 0xa8, 0x60, 0x41, 0x4d, 0x14, 0x10, 0x20, 0x84, 0x27, 0x00, 0x9f, 0x00, 0x77}
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 45, SSRC: 1}, Payload: make([]byte, 1000)}
	buf := make([]byte, rtppkt.MaxPacketLen)
	i := 0
	var dd [3]byte
	send := func() {
		pkt.SequenceNumber, pkt.Timestamp = uint16(i), uint32(i*3000)
		pkt.Payload[0] = 0x10
		dd = [3]byte{0xc0 | [4]byte{1, 3, 2, 4}[i%4], byte((i + 8) >> 8), byte(i + 8)}
		v := dd[:]
		if i == 0 {
			v = key
		}
		pkt.Extensions = pkt.Extensions[:0]
		_ = pkt.SetExtension(12, v)
		m, _ := pkt.MarshalTo(buf)
		tr.receive(buf[:m], nanotime()).flush()
		i++
	}
	for range 8 {
		send()
	}
	if sent != 4 {
		t.Fatalf("%d of 8 packets sent, want 4 (T2 dropped)", sent)
	}
	if a := testing.AllocsPerRun(400, send); a != 0 {
		t.Fatalf("%v allocations per packet", a)
	}
}
