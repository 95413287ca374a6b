package engine_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/pion/rtp"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
)

// oneStreamTemporal is a codec whose single encoding carries temporal
// layers: how its packets are built and read.
type oneStreamTemporal struct {
	codec  media.RtpCodecParameters
	ext    []media.RtpHeaderExtensionParameters
	caps   *media.RtpCapabilities
	router []media.RtpCodecCapability
	// packet is frame n (one packet) with temporal id tid, the layer
	// sync flag and the key frame flag; tid reads a forwarded packet's
	// temporal id and tag the frame number the sender wrote.
	packet func(t *testing.T, n int, tid byte, sync, key bool) []byte
	tid    func(*rtp.Packet) byte
	tag    func(*rtp.Packet) int
	// check checks codec fields of what a consumer forwarded.
	check func(t *testing.T, pkts []*rtp.Packet)
}

// temporalFrames is the sender's pattern: TIDs 0,2,1,2 in cycles of four
// frames, the TID 1 and 2 frames of a cycle carrying the layer sync flag
// only in even cycles (so an upgrade in an odd cycle must wait).
func temporalFrame(n int) (tid byte, sync bool) {
	tid = [4]byte{0, 2, 1, 2}[n%4]
	return tid, tid != 0 && (n/4)%2 == 0
}

// testOneStreamTemporal: a producer with one encoding and scalabilityMode
// L1T3 is a simulcast producer (mediasoup's RtpParameters::GetType for a
// codec without SVC), its consumable and consumer parameters keep the
// one encoding with L1T3, and its consumers select temporal layers: one
// preferring temporal layer 0 gets only the TID 0 frames, one with the
// default preference every frame; switched up to layer 2 in a cycle
// without layer sync, the first consumer waits for the next sync frame,
// and its sequence numbers (and the codec's picture numbering) run on
// without gaps.
func testOneStreamTemporal(t *testing.T, tc oneStreamTemporal) {
	f := newFixture(t)
	r := must[media.Router](t)(f.worker.CreateRouter(f.ctx, &media.RouterOptions{MediaCodecs: tc.router}))
	src, low, all := newEndpoint(t), newEndpoint(t), newEndpoint(t)
	in := f.plain(r, src)
	params := media.RtpParameters{
		Codecs:           []media.RtpCodecParameters{tc.codec},
		HeaderExtensions: tc.ext,
		Encodings:        []media.RtpEncodingParameters{{SSRC: 100, ScalabilityMode: "L1T3"}},
		Rtcp:             media.RtcpParameters{CNAME: "l1t3"},
	}
	p := must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))
	if p.Type() != media.ProducerSimulcast {
		t.Fatalf("producer type %s, want simulcast", p.Type())
	}
	if encs := p.ConsumableRtpParameters().Encodings; len(encs) != 1 || encs[0].ScalabilityMode != "L1T3" {
		t.Fatalf("consumable encodings %+v, want one with L1T3", encs)
	}
	zero := 0
	cLow := must[media.Consumer](t)(f.plain(r, low).Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: tc.caps,
		PreferredLayers: &media.ConsumerLayers{SpatialLayer: 0, TemporalLayer: &zero}}))
	cAll := must[media.Consumer](t)(f.plain(r, all).Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: tc.caps}))
	for _, c := range []media.Consumer{cLow, cAll} {
		if encs := c.RtpParameters().Encodings; c.Type() != media.ConsumerSimulcast || len(encs) != 1 || encs[0].ScalabilityMode != "L1T3" {
			t.Fatalf("consumer type %s encodings %+v, want simulcast with one L1T3 encoding", c.Type(), encs)
		}
	}
	if pl := cAll.PreferredLayers(); pl == nil || pl.SpatialLayer != 0 || pl.TemporalLayer == nil || *pl.TemporalLayer != 2 {
		t.Fatalf("default preferred layers %+v, want 0/2", pl)
	}
	var (
		mu     sync.Mutex
		events []media.ConsumerLayers
	)
	cLow.OnLayersChange(func(l *media.ConsumerLayers) {
		mu.Lock()
		defer mu.Unlock()
		if l != nil {
			events = append(events, *l)
		}
	})
	frame := 0
	send := func(n int) {
		for range n {
			tid, sync := temporalFrame(frame)
			src.send(in.Tuple(), tc.packet(t, frame, tid, sync, frame == 0))
			frame++
		}
		// Every frame must have been through the consumers before the
		// preference changes: one in flight would meet the new one.
		wait.Until(t, "the producer received every frame", func() bool {
			stats := must[[]media.RtpStreamStats](t)(p.GetStats(f.ctx))
			return len(stats) == 1 && stats[0].PacketCount == uint64(frame)
		})
	}
	send(12)
	wait.Until(t, "the TID 0 frames", func() bool { return len(receivedFrom(low, cLow.RtpParameters().Encodings[0].SSRC)) == 3 })
	for _, pk := range low.packets() {
		if tc.tid(pk) != 0 {
			t.Fatalf("frame %d with TID %d forwarded to the temporal layer 0 consumer", tc.tag(pk), tc.tid(pk))
		}
	}
	if cl := cLow.CurrentLayers(); cl == nil || cl.SpatialLayer != 0 || cl.TemporalLayer == nil || *cl.TemporalLayer != 0 {
		t.Fatalf("current layers %+v, want 0/0", cl)
	}
	two := 2
	mustOK(t, cLow.SetPreferredLayers(f.ctx, media.ConsumerLayers{SpatialLayer: 0, TemporalLayer: &two}))
	send(8)
	lowSSRC, allSSRC := cLow.RtpParameters().Encodings[0].SSRC, cAll.RtpParameters().Encodings[0].SSRC
	wait.Until(t, "every frame to the default consumer", func() bool { return len(receivedFrom(all, allSSRC)) == 20 })
	// Frames 12..15 (no sync) give only their TID 0 frame; 16..19 all.
	wait.Until(t, "the upgrade at the sync frame", func() bool { return len(receivedFrom(low, lowSSRC)) == 3+1+4 })
	got := receivedFrom(low, lowSSRC)
	var tags []int
	for _, pk := range got {
		tags = append(tags, tc.tag(pk))
	}
	if want := []int{0, 4, 8, 12, 16, 17, 18, 19}; !equalInts(tags, want) {
		t.Fatalf("frames forwarded %v, want %v", tags, want)
	}
	checkContinuous(t, got)
	tc.check(t, got)
	checkContinuous(t, receivedFrom(all, allSSRC))
	tc.check(t, receivedFrom(all, allSSRC))
	wait.Until(t, "current temporal layer 2", func() bool {
		cl := cLow.CurrentLayers()
		return cl != nil && cl.TemporalLayer != nil && *cl.TemporalLayer == 2
	})
	wait.Until(t, "layerschange to 0/2", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range events {
			if e.SpatialLayer == 0 && e.TemporalLayer != nil && *e.TemporalLayer == 2 {
				return true
			}
		}
		return false
	})
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestOneStreamTemporalVP8: VP8 in one L1T3 encoding; the picture IDs
// and TL0PICIDX forwarded go on by one (TL0PICIDX at each TID 0 frame).
func TestOneStreamTemporalVP8(t *testing.T) {
	pic := func(p *rtp.Packet) uint16 { return (uint16(p.Payload[2])<<8 | uint16(p.Payload[3])) & 0x7fff }
	tl0 := uint8(250)
	testOneStreamTemporal(t, oneStreamTemporal{
		codec:  media.RtpCodecParameters{MimeType: "video/VP8", PayloadType: 101, ClockRate: 90000, RtcpFeedback: videoFeedback},
		caps:   consumerCaps(false),
		router: mediaCodecs(),
		packet: func(t *testing.T, n int, tid byte, sync, key bool) []byte {
			if tid == 0 && n > 0 {
				tl0++
			}
			payload := make([]byte, 100)
			payload[0] = 0x90       // X, S, PID 0
			payload[1] = 0xe0       // I, L, T
			p := uint16(0x7ff8 + n) // wraps
			payload[2], payload[3] = 0x80|byte(p>>8)&0x7f, byte(p)
			payload[4] = tl0
			payload[5] = tid << 6
			if sync {
				payload[5] |= 0x20 // Y
			}
			payload[6] = 0x01
			if key {
				payload[6] = 0x00
			}
			payload[7] = byte(n)
			return marshal(t, &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, SequenceNumber: uint16(65530 + n), Timestamp: uint32(n * 3000), SSRC: 100, Marker: true}, Payload: payload})
		},
		tid: func(p *rtp.Packet) byte { return p.Payload[5] >> 6 },
		tag: func(p *rtp.Packet) int { return int(p.Payload[7]) },
		check: func(t *testing.T, pkts []*rtp.Packet) {
			t.Helper()
			for i := 1; i < len(pkts); i++ {
				if got, want := pic(pkts[i]), (pic(pkts[i-1])+1)&0x7fff; got != want || pkts[i].Payload[2]&0x80 == 0 {
					t.Fatalf("frame %d: picture ID %d after %d", pkts[i].Payload[7], got, pic(pkts[i-1]))
				}
				want := pkts[i-1].Payload[4]
				if pkts[i].Payload[5]>>6 == 0 {
					want++
				}
				if got := pkts[i].Payload[4]; got != want {
					t.Fatalf("frame %d: TL0PICIDX %d after %d", pkts[i].Payload[7], got, pkts[i-1].Payload[4])
				}
			}
		},
	})
}

// TestOneStreamTemporalH264: H264 in one L1T3 encoding with the frame
// marking extension (the temporal layer signal the engine reads for
// H264, as mediasoup's H264 encoding context).
func TestOneStreamTemporalH264(t *testing.T) {
	h264 := map[string]any{"packetization-mode": 1, "profile-level-id": "42e01f"}
	testOneStreamTemporal(t, oneStreamTemporal{
		codec: media.RtpCodecParameters{MimeType: "video/H264", PayloadType: 102, ClockRate: 90000, RtcpFeedback: videoFeedback, Parameters: h264},
		ext:   []media.RtpHeaderExtensionParameters{{URI: media.ExtFrameMarking, ID: 9}},
		caps: &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{{Kind: media.KindVideo, MimeType: "video/H264", ClockRate: 90000,
			RtcpFeedback: videoFeedback, Parameters: h264}}},
		router: []media.RtpCodecCapability{{Kind: media.KindVideo, MimeType: "video/H264", ClockRate: 90000,
			Parameters: map[string]any{"packetization-mode": 1, "profile-level-id": "42e01f", "level-asymmetry-allowed": 1}}},
		packet: func(t *testing.T, n int, tid byte, sync, key bool) []byte {
			fm, nal := tid, byte(1)
			if sync {
				fm |= 0x08 // B
			}
			if key {
				nal, fm = 5, fm|0x20 // IDR, independent
			}
			pk := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 102, SequenceNumber: uint16(65530 + n), Timestamp: uint32(n * 3000), SSRC: 100, Marker: true},
				Payload: []byte{0x60 | nal, tid, byte(n), 0xbb}}
			if err := pk.Header.SetExtension(9, []byte{0xc0 | fm}); err != nil {
				t.Fatal(err)
			}
			return marshal(t, &pk)
		},
		tid:   func(p *rtp.Packet) byte { return p.Payload[1] },
		tag:   func(p *rtp.Packet) int { return int(p.Payload[2]) },
		check: func(*testing.T, []*rtp.Packet) {},
	})
}

// TestOneStreamTemporalH265: H265 in one L1T3 encoding with frame
// marking, as H264 (the engine reads H265's temporal layers as H264's).
func TestOneStreamTemporalH265(t *testing.T) {
	testOneStreamTemporal(t, oneStreamTemporal{
		codec:  media.RtpCodecParameters{MimeType: "video/H265", PayloadType: 102, ClockRate: 90000, RtcpFeedback: videoFeedback},
		ext:    []media.RtpHeaderExtensionParameters{{URI: media.ExtFrameMarking, ID: 9}},
		caps:   &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{{Kind: media.KindVideo, MimeType: "video/H265", ClockRate: 90000, RtcpFeedback: videoFeedback}}},
		router: []media.RtpCodecCapability{{Kind: media.KindVideo, MimeType: "video/H265", ClockRate: 90000, Parameters: map[string]any{"level-asymmetry-allowed": 1}}},
		packet: func(t *testing.T, n int, tid byte, sync, key bool) []byte {
			fm, nal := tid, byte(1) // TRAIL_R
			if sync {
				fm |= 0x08 // B
			}
			if key {
				nal = 19 // IDR_W_RADL
			}
			pk := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 102, SequenceNumber: uint16(65530 + n), Timestamp: uint32(n * 3000), SSRC: 100, Marker: true},
				Payload: []byte{nal << 1, 0x01, tid, byte(n)}}
			if err := pk.Header.SetExtension(9, []byte{0xc0 | fm}); err != nil {
				t.Fatal(err)
			}
			return marshal(t, &pk)
		},
		tid:   func(p *rtp.Packet) byte { return p.Payload[2] },
		tag:   func(p *rtp.Packet) int { return int(p.Payload[3]) },
		check: func(*testing.T, []*rtp.Packet) {},
	})
}

func marshal(t *testing.T, p *rtp.Packet) []byte {
	t.Helper()
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOneStreamTemporalOtherCodecRefused: one encoding with layers of a
// codec whose layers the engine does not select is refused, as mediasoup
// refuses it ("invalid RTP parameters"); without layers it is simple.
func TestOneStreamTemporalOtherCodecRefused(t *testing.T) {
	f := newFixture(t)
	in := f.plain(f.router, newEndpoint(t))
	params := media.RtpParameters{
		Codecs:    []media.RtpCodecParameters{{MimeType: "audio/opus", PayloadType: 100, ClockRate: 48000, Channels: 2}},
		Encodings: []media.RtpEncodingParameters{{SSRC: 7, ScalabilityMode: "L1T3"}},
	}
	var pe *media.ParamError
	if _, err := in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindAudio, RtpParameters: params}); !errors.As(err, &pe) {
		t.Fatalf("produce opus L1T3: %v, want a ParamError", err)
	}
	params.Encodings[0].ScalabilityMode = "L1T1"
	p := must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindAudio, RtpParameters: params}))
	if p.Type() != media.ProducerSimple {
		t.Fatalf("opus L1T1 producer type %s", p.Type())
	}
}
