package engine

import (
	"context"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/ropehq/rope/media"
)

// TestReportPacking checks the generated SR/SDES/RR datagrams parse and
// cover every stream when they span several datagrams.
func TestReportPacking(t *testing.T) {
	ctx := context.Background()
	// No timer-driven reports: the test calls sendReports itself.
	w, _ := New(&Options{RTCPInterval: time.Hour}).CreateWorker(ctx, nil)
	defer w.Close(ctx)
	r, _ := w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: []media.RtpCodecCapability{
		{Kind: media.KindAudio, MimeType: "audio/opus", ClockRate: 48000, Channels: 2}}})
	in, _ := r.CreateDirectTransport(ctx, nil)
	out, _ := r.CreateDirectTransport(ctx, nil)
	caps := &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{{Kind: media.KindAudio, MimeType: "audio/opus", ClockRate: 48000, Channels: 2}}}
	const n = 40
	for i := 0; i < n; i++ {
		p, err := in.Produce(ctx, &media.ProducerOptions{Kind: media.KindAudio, RtpParameters: media.RtpParameters{
			Codecs:    []media.RtpCodecParameters{{MimeType: "audio/opus", PayloadType: 111, ClockRate: 48000, Channels: 2}},
			Encodings: []media.RtpEncodingParameters{{SSRC: uint32(1000 + i)}},
			Rtcp:      media.RtcpParameters{CNAME: "a-rather-long-cname-for-packing"},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps}); err != nil {
			t.Fatal(err)
		}
		b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SSRC: uint32(1000 + i)}, Payload: []byte{1}}).Marshal()
		if err := p.Send(b); err != nil {
			t.Fatal(err)
		}
	}
	count := func(tr media.DirectTransport) (srs, cnames, reports, datagrams int) {
		var raw [][]byte
		off := tr.OnRtcp(func(b []byte) { raw = append(raw, append([]byte(nil), b...)) })
		defer off()
		tr.(*directTransport).sendReports(nanotime(), time.Second)
		for _, b := range raw {
			pkts, err := rtcp.Unmarshal(b)
			if err != nil {
				t.Fatalf("datagram %x: %v", b, err)
			}
			for _, p := range pkts {
				switch p := p.(type) {
				case *rtcp.SenderReport:
					if p.PacketCount != 1 {
						t.Fatalf("SR %+v", p)
					}
					srs++
				case *rtcp.SourceDescription:
					if p.Chunks[0].Items[0].Text == "a-rather-long-cname-for-packing" {
						cnames++
					}
				case *rtcp.ReceiverReport:
					reports += len(p.Reports)
				}
			}
		}
		return srs, cnames, reports, len(raw)
	}
	if srs, cnames, _, dg := count(out); srs != n || cnames != n || dg < 2 {
		t.Fatalf("SRs %d, CNAMEs %d, datagrams %d", srs, cnames, dg)
	}
	if _, _, reports, dg := count(in); reports != n || dg < 1 {
		t.Fatalf("report blocks %d, datagrams %d", reports, dg)
	}
}
