package engine

import (
	"context"
	"fmt"
	"testing"

	"github.com/pion/rtp"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/rtppkt"
)

// svcPath is an L3T3 VP9 producer on a DirectTransport with n consumers
// preferring spatial 1, temporal 1 (mode "" : a simple VP9 producer and
// consumers, for comparison); send feeds it the next packet (one per
// layer frame, temporal pattern 0 2 1 2, a key picture first).
func svcPath(tb testing.TB, mode string, n int) (send func(), sent *int, close func()) {
	ctx := context.Background()
	w, _ := New(nil).CreateWorker(ctx, nil)
	r, _ := w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: []media.RtpCodecCapability{
		{Kind: media.KindVideo, MimeType: "video/VP9", ClockRate: 90000}}})
	in, _ := r.CreateDirectTransport(ctx, nil)
	caps := &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{{Kind: media.KindVideo, MimeType: "video/VP9", ClockRate: 90000}}}
	p, err := in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: media.RtpParameters{
		Codecs:    []media.RtpCodecParameters{{MimeType: "video/VP9", PayloadType: 96, ClockRate: 90000}},
		Encodings: []media.RtpEncodingParameters{{SSRC: 1, ScalabilityMode: mode}},
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
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1}, Payload: make([]byte, 1000)}
	buf := make([]byte, rtppkt.MaxPacketLen)
	i := 0
	send = func() {
		pic, sid := i/3, byte(i%3)
		tid := [4]byte{0, 2, 1, 2}[pic%4]
		pkt.SequenceNumber, pkt.Timestamp, pkt.Marker = uint16(i), uint32(pic*3000), sid == 2
		d := pkt.Payload
		d[0], d[1], d[2], d[3], d[4] = 0xac, 0x80|byte(pic>>8)&0x7f, byte(pic), tid<<5|sid<<1, byte(pic/4) // I L B E
		if pic > 0 {
			d[0] |= 0x40 // P
		}
		if tid > 0 {
			d[3] |= 0x10 // U
		}
		m, _ := pkt.MarshalTo(buf)
		tr.receive(buf[:m], nanotime()).flush()
		i++
	}
	return send, count, func() { w.Close(ctx) }
}

// TestSVCNoAlloc: forwarding L3T3 VP9 through SVC consumers that drop
// the top spatial layer and a temporal layer allocates nothing per packet.
func TestSVCNoAlloc(t *testing.T) {
	send, sent, done := svcPath(t, "L3T3", 1)
	defer done()
	for range 3 * 8 {
		send()
	}
	// Pictures 0, 2, 4, 6 (T0, T1) at S0 and S1: 8 packets.
	if *sent != 8 {
		t.Fatalf("%d of 24 packets sent, want 8", *sent)
	}
	if a := testing.AllocsPerRun(600, send); a != 0 {
		t.Fatalf("%v allocations per packet", a)
	}
}

// BenchmarkSVCPath is BenchmarkForwardPath for VP9: a simple producer
// and consumers (every packet forwarded) against an L3T3 one with SVC
// consumers at S1T1 (a third of the packets forwarded), run one after
// the other in one process. ns/pkt is per source packet and consumer.
func BenchmarkSVCPath(b *testing.B) {
	for _, n := range []int{1, 10} {
		for _, mode := range []string{"", "L3T3"} {
			name := "simple"
			if mode != "" {
				name = "svc"
			}
			b.Run(fmt.Sprintf("%s/N=%d", name, n), func(b *testing.B) {
				send, _, done := svcPath(b, mode, n)
				defer done()
				for range 3000 { // the retransmission store's ring grows first
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
