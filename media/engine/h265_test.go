package engine_test

import (
	"testing"

	"github.com/pion/rtp"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
)

// TestSimulcastH265FrameMarking: H265 simulcast selects temporal layers
// by frame marking as H264 does (mediasoup's H265 encoding context), and
// its key frames are IRAP NAL units (an IDR_W_RADL first).
func TestSimulcastH265FrameMarking(t *testing.T) {
	f := newFixture(t)
	h264 := media.RtpCodecCapability{Kind: media.KindVideo, MimeType: "video/H265", ClockRate: 90000,
		Parameters: map[string]any{"level-asymmetry-allowed": 1}}
	r := must[media.Router](t)(f.worker.CreateRouter(f.ctx, &media.RouterOptions{MediaCodecs: []media.RtpCodecCapability{h264}}))
	src, dst := newEndpoint(t), newEndpoint(t)
	in, out := f.plain(r, src), f.plain(r, dst)
	params := media.RtpParameters{
		Codecs:           []media.RtpCodecParameters{{MimeType: "video/H265", PayloadType: 102, ClockRate: 90000, RtcpFeedback: videoFeedback}},
		HeaderExtensions: []media.RtpHeaderExtensionParameters{{URI: media.ExtFrameMarking, ID: 9}},
		Encodings:        []media.RtpEncodingParameters{{SSRC: 100, ScalabilityMode: "L1T3"}, {SSRC: 200, ScalabilityMode: "L1T3"}},
		Rtcp:             media.RtcpParameters{CNAME: "h265"},
	}
	p := must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))
	zero := 0
	caps := &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{{Kind: media.KindVideo, MimeType: "video/H265", ClockRate: 90000,
		RtcpFeedback: videoFeedback}}}
	c := must[media.Consumer](t)(out.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps,
		PreferredLayers: &media.ConsumerLayers{SpatialLayer: 1, TemporalLayer: &zero}}))
	ssrc := c.RtpParameters().Encodings[0].SSRC
	seq := map[uint32]uint16{100: 1, 200: 1000}
	frame := 0
	// round sends a frame on both streams: TIDs 0,2,1,2, B on the first
	// TID 1 and 2 frames of a cycle, an IDR first; the payload's second
	// byte carries the TID sent.
	round := func() {
		tid := [4]byte{0, 2, 1, 2}[frame%4]
		fm := tid
		if tid != 0 && frame%4 < 3 {
			fm |= 0x08
		}
		nal := byte(1) // TRAIL_R
		if frame == 0 {
			nal = 19 // IDR_W_RADL (frame marking's I bit left clear)
		}
		for _, s := range []uint32{100, 200} {
			pk := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 102, SequenceNumber: seq[s], Timestamp: uint32(frame * 3000), SSRC: s, Marker: true},
				Payload: []byte{nal << 1, 0x01, tid, 0xaa}}
			if err := pk.Header.SetExtension(9, []byte{0xc0 | fm}); err != nil {
				t.Fatal(err)
			}
			seq[s]++
			src.send(in.Tuple(), must[[]byte](t)(pk.Marshal()))
		}
		frame++
	}
	tids := func() (n int, max byte) {
		for _, pk := range receivedFrom(dst, ssrc) {
			n++
			if len(pk.Payload) > 2 && pk.Payload[2] > max {
				max = pk.Payload[2]
			}
		}
		return n, max
	}
	for range 12 {
		round()
	}
	wait.Until(t, "the base layer", func() bool { n, _ := tids(); return n == 3 })
	if _, max := tids(); max != 0 {
		t.Fatalf("TID %d forwarded with target 0", max)
	}
	if cl := c.CurrentLayers(); cl == nil || cl.SpatialLayer != 1 || *cl.TemporalLayer != 0 {
		t.Fatalf("current layers %+v", cl)
	}
	two := 2
	// Once the producer took all 24 packets: none of them sees the new
	// preference.
	wait.Until(t, "the producer's packets", func() bool {
		var n uint64
		for _, s := range must[[]media.RtpStreamStats](t)(p.GetStats(f.ctx)) {
			n += s.PacketCount
		}
		return n == 24
	})
	mustOK(t, c.SetPreferredLayers(f.ctx, media.ConsumerLayers{SpatialLayer: 1, TemporalLayer: &two}))
	for range 8 {
		round()
	}
	wait.Until(t, "all layers", func() bool { n, _ := tids(); return n == 3+8 })
	if _, max := tids(); max != 2 {
		t.Fatalf("highest TID %d, want 2", max)
	}
	checkContinuous(t, receivedFrom(dst, ssrc))
	wait.Until(t, "current temporal layer 2", func() bool {
		cl := c.CurrentLayers()
		return cl != nil && cl.TemporalLayer != nil && *cl.TemporalLayer == 2
	})
}
