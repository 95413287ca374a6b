package engine

import (
	"context"
	"fmt"
	"testing"

	"github.com/pion/rtp"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/rtppkt"
)

// BenchmarkForwardPathAV1 is BenchmarkForwardPath for AV1 (N simple
// DirectTransport consumers) without and with the dependency descriptor:
// with it, each packet's descriptor is parsed against the stream's
// structure and each consumer drops it from its copy.
func BenchmarkForwardPathAV1(b *testing.B) {
	for _, n := range []int{1, 10} {
		for _, dd := range []bool{false, true} {
			b.Run(fmt.Sprintf("N=%d/dd=%v", n, dd), func(b *testing.B) {
				ctx := context.Background()
				w, _ := New(nil).CreateWorker(ctx, nil)
				defer w.Close(ctx)
				av1 := media.RtpCodecCapability{Kind: media.KindVideo, MimeType: "video/AV1", ClockRate: 90000}
				r, _ := w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: []media.RtpCodecCapability{av1}})
				in, _ := r.CreateDirectTransport(ctx, nil)
				params := media.RtpParameters{
					Codecs:    []media.RtpCodecParameters{{MimeType: "video/AV1", PayloadType: 45, ClockRate: 90000}},
					Encodings: []media.RtpEncodingParameters{{SSRC: 1}},
				}
				if dd {
					params.HeaderExtensions = []media.RtpHeaderExtensionParameters{{URI: media.ExtDependencyDescriptor, ID: 12}}
				}
				p, err := in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params})
				if err != nil {
					b.Fatal(err)
				}
				caps := &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{av1}}
				for range n {
					out, _ := r.CreateDirectTransport(ctx, nil)
					if _, err := out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps}); err != nil {
						b.Fatal(err)
					}
				}
				t := in.(*directTransport).transport
				pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 45, SSRC: 1}, Payload: make([]byte, 1000)}
				key := []byte{0xc0, 0x00, 0x00, 0x80, 0x02, 0x14, 0xea, 0xa8, 0x60, 0x41, 0x4d, 0x14, 0x10, 0x20, 0x84, 0x27, 0x00, 0x9f, 0x00, 0x77}
				var delta [3]byte
				buf := make([]byte, rtppkt.MaxPacketLen)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					pkt.SequenceNumber = uint16(i)
					pkt.Payload[0] = 0x10
					if i == 0 {
						pkt.Payload[0] = 0x18 // N: a key frame
					}
					if dd {
						v := key
						if i > 0 {
							delta = [3]byte{0xc0 | [4]byte{1, 3, 2, 4}[i%4], byte(i >> 8), byte(i)}
							v = delta[:]
						}
						pkt.Extensions = pkt.Extensions[:0]
						_ = pkt.SetExtension(12, v)
					}
					m, _ := pkt.MarshalTo(buf)
					t.receive(buf[:m], nanotime()).flush()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/fwd")
			})
		}
	}
}
