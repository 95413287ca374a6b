package engine

import (
	"context"
	"fmt"
	"testing"

	"github.com/pion/rtp"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/depdesc"
	"github.com/ropehq/rope/media/internal/depdesc/depdesctest"
	"github.com/ropehq/rope/media/internal/rtppkt"
)

// av1SVCPath is an AV1 producer (scalabilityMode mode, "" for a simple
// one) with the dependency descriptor on a DirectTransport, with n
// consumers preferring spatial 1, temporal 1; send feeds it the next
// packet (one per frame, L3T3, temporal pattern 0 2 1 2, a key unit
// first).
func av1SVCPath(tb testing.TB, mode string, n int) (send func(), sent *int, close func()) {
	ctx := context.Background()
	w, _ := New(nil).CreateWorker(ctx, nil)
	r, _ := w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: []media.RtpCodecCapability{
		{Kind: media.KindVideo, MimeType: "video/AV1", ClockRate: 90000}}})
	in, _ := r.CreateDirectTransport(ctx, nil)
	caps := &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{{Kind: media.KindVideo, MimeType: "video/AV1", ClockRate: 90000}}}
	const ddID = 12
	p, err := in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: media.RtpParameters{
		Codecs:           []media.RtpCodecParameters{{MimeType: "video/AV1", PayloadType: 96, ClockRate: 90000}},
		HeaderExtensions: []media.RtpHeaderExtensionParameters{{URI: media.ExtDependencyDescriptor, ID: ddID}},
		Encodings:        []media.RtpEncodingParameters{{SSRC: 1, ScalabilityMode: mode}},
	}})
	if err != nil {
		tb.Fatal(err)
	}
	count := new(int)
	one := 1
	for range n {
		out, _ := r.CreateDirectTransport(ctx, nil)
		c, err := out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps,
			PreferredLayers: &media.ConsumerLayers{SpatialLayer: 1, TemporalLayer: &one}})
		if err != nil {
			tb.Fatal(err)
		}
		c.OnRtp(func([]byte) { *count++ })
	}
	tr := in.(*directTransport).transport
	st := depdesctest.SVC(3, false)
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1, Extension: true, ExtensionProfile: 0x1000}, Payload: make([]byte, 1000)}
	// One OBU element (W=1), a frame OBU: the payload is parsed as
	// Chromium's would be.
	pkt.Payload[0], pkt.Payload[1] = 0x10, 0x32
	buf := make([]byte, rtppkt.MaxPacketLen)
	// The descriptors of the 12 frames of the pattern, the key unit's
	// apart, made once.
	var dds [2][12][]byte
	for key := range 2 {
		for i := range 12 {
			unit, sid := i/3, i%3
			k := key == 1 && unit == 0
			d := depdesc.Descriptor{StartOfFrame: true, EndOfFrame: true, TemplateID: depdesctest.Template(sid, unit, k), FrameNumber: uint16(i),
				HasStructure: k && sid == 0}
			var b [depdesc.MaxSize]byte
			m, err := depdesc.Marshal(b[:], &d, st)
			if err != nil {
				tb.Fatal(err)
			}
			dds[key][i] = b[:m]
		}
	}
	i := 0
	send = func() {
		key := 0
		if i < 3 {
			key = 1
		}
		dd := dds[key][i%12]
		// The frame number goes on (bytes 1, 2 of the descriptor).
		dd[1], dd[2] = byte(i>>8), byte(i)
		pkt.SequenceNumber, pkt.Timestamp, pkt.Marker = uint16(i), uint32(i/3*3000), i%3 == 2
		pkt.Extensions = pkt.Extensions[:0]
		if err := pkt.Header.SetExtension(ddID, dd); err != nil {
			tb.Fatal(err)
		}
		m, _ := pkt.MarshalTo(buf)
		tr.receive(buf[:m], nanotime()).flush()
		i++
	}
	return send, count, func() { w.Close(ctx) }
}

// TestAV1SVCNoAlloc: forwarding AV1 L3T3 by its dependency descriptor
// through SVC consumers that drop the top spatial layer and a temporal
// layer allocates nothing per packet.
func TestAV1SVCNoAlloc(t *testing.T) {
	send, sent, done := av1SVCPath(t, "L3T3", 1)
	defer done()
	for range 3 * 8 {
		send()
	}
	// Units 0, 2, 4, 6 (T0, T1) at S0 and S1: 8 packets.
	if *sent != 8 {
		t.Fatalf("%d of 24 packets sent, want 8", *sent)
	}
	if a := testing.AllocsPerRun(600, send); a != 0 {
		t.Fatalf("%v allocations per packet", a)
	}
}

// BenchmarkAV1SVCPath is BenchmarkSVCPath for AV1 with the dependency
// descriptor: a simple AV1 producer and consumers (every packet
// forwarded, the descriptor parsed and stripped) against an L3T3 one
// with SVC consumers at S1T1 (a third of the packets forwarded).
// ns/pkt is per source packet and consumer.
func BenchmarkAV1SVCPath(b *testing.B) {
	for _, n := range []int{1, 10} {
		for _, mode := range []string{"", "L3T3"} {
			name := "simple"
			if mode != "" {
				name = "svc"
			}
			b.Run(fmt.Sprintf("%s/N=%d", name, n), func(b *testing.B) {
				send, _, done := av1SVCPath(b, mode, n)
				defer done()
				for range 3000 {
					send()
				}
				b.ReportAllocs()
				for b.Loop() {
					send()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/pkt")
			})
		}
	}
}
