package engine

import (
	"context"
	"fmt"
	"testing"

	"github.com/pion/rtp"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/rtppkt"
)

// pathWarmup is the packets sent before a path benchmark measures: the
// retransmission store's ring and the worker's packet buffers have grown
// to their size by then.
const pathWarmup = 1000

// BenchmarkForwardPath measures the engine's own work per forwarded packet
// (parse, route, stats, retransmission store, per-consumer rewrite), with
// DirectTransport consumers so no syscall is involved. One op is one
// source packet fanned out to N consumers.
func BenchmarkForwardPath(b *testing.B) {
	for _, n := range []int{1, 10, 100, 500} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			ctx := context.Background()
			w, _ := New(nil).CreateWorker(ctx, nil)
			defer w.Close(ctx)
			r, _ := w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: []media.RtpCodecCapability{
				{Kind: media.KindVideo, MimeType: "video/VP8", ClockRate: 90000}}})
			in, _ := r.CreateDirectTransport(ctx, nil)
			caps := &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{{Kind: media.KindVideo, MimeType: "video/VP8", ClockRate: 90000}}}
			p, err := in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: media.RtpParameters{
				Codecs:    []media.RtpCodecParameters{{MimeType: "video/VP8", PayloadType: 96, ClockRate: 90000}},
				Encodings: []media.RtpEncodingParameters{{SSRC: 1}},
			}})
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; i < n; i++ {
				out, _ := r.CreateDirectTransport(ctx, nil)
				if _, err := out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps}); err != nil {
					b.Fatal(err)
				}
			}
			t := in.(*directTransport).transport
			pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1}, Payload: make([]byte, 1000)}
			pkt.Payload[0] = 0x10
			buf := make([]byte, rtppkt.MaxPacketLen)
			send := func(i int) {
				pkt.SequenceNumber = uint16(i)
				pkt.Payload[1] = 1
				if i == 0 {
					pkt.Payload[1] = 0
				}
				m, _ := pkt.MarshalTo(buf)
				t.receive(buf[:m], nanotime()).flush()
			}
			for i := 0; i < pathWarmup; i++ {
				send(i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				send(pathWarmup + i)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/fwd")
		})
	}
}

// BenchmarkForwardPathBWE is BenchmarkForwardPath to consumers on
// WebRtcTransports that are not connected (their sends are dropped, so
// no syscall is measured), without and with transport-cc negotiated:
// with it, each packet also gets its transport's transport-wide sequence
// number and goes into the send history (bwe_send.go); bwe=abs also
// negotiates abs-send-time, as browsers do, which each packet gets at the
// flush.
func BenchmarkForwardPathBWE(b *testing.B) {
	for _, mode := range []string{"false", "true", "abs"} {
		bwe := mode != "false"
		for _, n := range []int{1, 10} {
			b.Run(fmt.Sprintf("bwe=%s/N=%d", mode, n), func(b *testing.B) {
				ctx := context.Background()
				r, listen := vp8Router(b)
				in, _ := r.CreateDirectTransport(ctx, nil)
				p, err := in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: media.RtpParameters{
					Codecs:           []media.RtpCodecParameters{{MimeType: "video/VP8", PayloadType: 96, ClockRate: 90000}},
					HeaderExtensions: []media.RtpHeaderExtensionParameters{{URI: media.ExtTransportWideCC01, ID: 3}},
					Encodings:        []media.RtpEncodingParameters{{SSRC: 1}},
				}})
				if err != nil {
					b.Fatal(err)
				}
				caps := &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{vp8Codec}}
				if bwe {
					codec := vp8Codec
					codec.RtcpFeedback = []media.RtcpFeedback{{Type: "transport-cc"}}
					caps.Codecs = []media.RtpCodecCapability{codec}
					for _, e := range r.RtpCapabilities().HeaderExtensions {
						if e.Kind == media.KindVideo && (e.URI == media.ExtTransportWideCC01 || mode == "abs" && e.URI == media.ExtAbsSendTime) {
							caps.HeaderExtensions = append(caps.HeaderExtensions, e)
						}
					}
				}
				for i := 0; i < n; i++ {
					out, err := r.CreateWebRtcTransport(ctx, listen)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps}); err != nil {
						b.Fatal(err)
					}
					if (out.(*webRtcTransport).tccClient.Load() != nil) != bwe {
						b.Fatal("estimator state")
					}
				}
				t := in.(*directTransport).transport
				pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1}, Payload: make([]byte, 1000)}
				pkt.Payload[0] = 0x10
				// Numbered by the sender, as browsers do.
				_ = pkt.SetExtension(3, []byte{0, 0})
				buf := make([]byte, rtppkt.MaxPacketLen)
				send := func(i int) {
					pkt.SequenceNumber = uint16(i)
					m, _ := pkt.MarshalTo(buf)
					t.receive(buf[:m], nanotime()).flush()
				}
				for i := 0; i < pathWarmup; i++ {
					send(i)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					send(pathWarmup + i)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/fwd")
			})
		}
	}
}
