package engine

import (
	"context"
	"fmt"
	"testing"

	"github.com/pion/rtp"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/depdesc"
	"github.com/ropehq/rope/media/internal/rtppkt"
)

// AV1SVCStructure is av1SVCStructure, for the external tests.
var AV1SVCStructure = av1SVCStructure

// av1SVCStructure is libwebrtc's template dependency structure for
// LnT3 (full SVC, ScalabilityStructureFullSvc) or LnT3_KEY (ksvc,
// ScalabilityStructureKeySvc), temporal pattern 0 2 1 2, every layer
// frame numbered: decode target s*3+t is spatial layer s up to temporal
// layer t. Per spatial layer four templates, in order: the key temporal
// unit's frame (S0: refers to nothing; above: to the layer below), T0,
// T1, T2. A delta frame refers to the layer below in its temporal unit
// (full SVC) and to its own layer's previous T0 (T0, T1) or T0/T1 (T2)
// frame. DTIs as libwebrtc's Dti: a frame is a switch point for the
// decode targets of its spatial layer above its temporal layer (and, at
// T0, its own), discardable for its own layer's target above T0, and in
// full SVC required by the targets of higher spatial layers (a switch
// point of them in the key temporal unit).
func av1SVCStructure(spatial int, ksvc bool) *depdesc.Structure {
	s := &depdesc.Structure{DecodeTargets: spatial * 3, NumTemplates: spatial * 4, HasResolutions: true,
		MaxSpatialID: uint8(spatial - 1), MaxTemporalID: 2}
	for sid := range spatial {
		s.Resolutions[sid] = depdesc.Resolution{Width: 320 << sid, Height: 180 << sid}
		for k := range 4 {
			tp := &s.Templates[sid*4+k]
			tp.SpatialID, tp.TemporalID = uint8(sid), uint8(max(k-1, 0))
			for _, fd := range av1FrameDiffs(spatial, sid, k, ksvc) {
				tp.FrameDiffs[tp.NumFrameDiffs] = fd
				tp.NumFrameDiffs++
			}
			for dt := range s.DecodeTargets {
				tp.SetDTI(dt, av1DTI(dt/3, dt%3, sid, int(tp.TemporalID), k == 0, ksvc))
			}
		}
	}
	return s
}

// av1FrameDiffs are the frame diffs of template k (0 key, 1 T0, 2 T1, 3
// T2) of spatial layer sid.
func av1FrameDiffs(spatial, sid, k int, ksvc bool) []uint8 {
	var fd []uint8
	if sid > 0 && (k == 0 || !ksvc) {
		fd = append(fd, 1)
	}
	if k > 0 {
		fd = append(fd, uint8(spatial*[4]int{0, 4, 2, 1}[k]))
	}
	return fd
}

// av1DTI is libwebrtc's DTI of a frame of layers fs, ft for decode
// target ds, dt.
func av1DTI(ds, dt, fs, ft int, key, ksvc bool) depdesc.DTI {
	switch {
	case ds < fs || dt < ft:
		return depdesc.NotPresent
	case ksvc && key:
		return depdesc.Switch
	case ksvc && ds != fs:
		return depdesc.NotPresent
	case ds == fs && dt == ft && dt > 0:
		return depdesc.Discardable
	case ds == fs || key:
		return depdesc.Switch
	}
	return depdesc.Required
}

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
	st := av1SVCStructure(3, false)
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
			k := [4]int{1, 3, 2, 3}[unit]
			if key == 1 && unit == 0 {
				k = 0
			}
			d := depdesc.Descriptor{StartOfFrame: true, EndOfFrame: true, TemplateID: uint8(sid*4 + k), FrameNumber: uint16(i),
				HasStructure: k == 0 && sid == 0}
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
