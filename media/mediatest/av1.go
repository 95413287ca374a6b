package mediatest

import (
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/depdesc"
)

// av1DDID is the dependency descriptor's id in the producer's packets.
const av1DDID = 12

// l1t3Descriptors is libwebrtc's L1T3 dependency structure (as Chromium
// sends it): decode targets T0, T0+T1, all; templates for the key frame,
// T0, T1 and the two T2 frames, one chain over T0. A T0 frame is a
// switch point for every decode target, a T1 frame for the two upper
// ones, a T2 frame for none.
func l1t3Descriptors() *depdesc.Structure {
	s := &depdesc.Structure{DecodeTargets: 3, Chains: 1, NumTemplates: 5}
	dti := map[rune]depdesc.DTI{'-': depdesc.NotPresent, 'D': depdesc.Discardable, 'S': depdesc.Switch}
	for i, x := range []struct {
		tid, fdiff, chain uint8
		dtis              string
	}{{0, 0, 0, "SSS"}, {0, 4, 4, "SSS"}, {1, 2, 2, "-DS"}, {2, 1, 1, "--D"}, {2, 1, 3, "--D"}} {
		tp := &s.Templates[i]
		tp.TemporalID, tp.ChainDiffs[0] = x.tid, x.chain
		if x.fdiff != 0 {
			tp.NumFrameDiffs, tp.FrameDiffs[0] = 1, x.fdiff
		}
		for dt, c := range x.dtis {
			tp.SetDTI(dt, dti[c])
		}
	}
	return s
}

// av1Stream sends one simulcast stream of AV1 L1T3 with dependency
// descriptors: one packet per frame, temporal layers 0,2,1,2, a key
// frame (the structure, no frame diffs) first and for each PLI. The
// payload holds the aggregation header (N clear: only the descriptor
// tells the key frame), then the epoch it was sent in, the stream index
// and the temporal layer sent.
type av1Stream struct {
	idx     byte
	ssrc    uint32
	seq     uint16
	ts      uint32
	frame   uint16
	i, plis int
}

func (s *av1Stream) packet(t *testing.T, st *depdesc.Structure, key bool, epoch byte) []byte {
	t.Helper()
	if key || s.frame == 0 {
		s.i = 0
		key = true
	}
	tid := [4]uint8{0, 2, 1, 2}[s.i%4]
	d := depdesc.Descriptor{StartOfFrame: true, EndOfFrame: true, TemplateID: [4]uint8{1, 3, 2, 4}[s.i%4], FrameNumber: s.frame}
	if key {
		d.TemplateID, d.HasStructure = 0, true
	}
	var dd [depdesc.MaxSize]byte
	n := check[int](t)(depdesc.Marshal(dd[:], &d, st))
	pk := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 45, SequenceNumber: s.seq, Timestamp: s.ts, SSRC: s.ssrc, Marker: true},
		Payload: []byte{0x10, epoch, s.idx, tid, 0xaa, 0xbb}}
	if err := pk.Header.SetExtension(av1DDID, dd[:n]); err != nil {
		t.Fatal(err)
	}
	s.seq++
	s.ts += 3000
	s.frame++
	s.i++
	return check[[]byte](t)(pk.Marshal())
}

// testAV1TemporalLayers: an AV1 simulcast consumer (two L1T3 streams with
// dependency descriptors) selects temporal layers by the descriptor
// across 14 switches, runs of three alike (each waits for what the endpoint receives to show
// it): the temporal layers of what it sends stay within the switch in
// force, its sequence numbers have no gaps, and it sends no descriptor
// (an endpoint that did not negotiate it gets none, as mediasoup's).
func testAV1TemporalLayers(t *testing.T, api media.API) {
	r := check[media.Router](t)(newWorker(t, api).CreateRouter(ctxFor(t), &media.RouterOptions{MediaCodecs: []media.RtpCodecCapability{
		{Kind: media.KindVideo, MimeType: "video/AV1", ClockRate: 90000}}}))
	src, dst := NewEndpoint(t), NewEndpoint(t)
	in := connectedPlain(t, r, src)
	p := check[media.Producer](t)(in.Produce(ctxFor(t), &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: media.RtpParameters{
		Codecs:           []media.RtpCodecParameters{{MimeType: "video/AV1", PayloadType: 45, ClockRate: 90000, RtcpFeedback: videoFeedback}},
		HeaderExtensions: []media.RtpHeaderExtensionParameters{{URI: media.ExtDependencyDescriptor, ID: av1DDID}},
		Encodings:        []media.RtpEncodingParameters{{SSRC: 100, ScalabilityMode: "L1T3"}, {SSRC: 200, ScalabilityMode: "L1T3"}},
		Rtcp:             media.RtcpParameters{CNAME: "mediatest"},
	}}))
	caps := &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{{Kind: media.KindVideo, MimeType: "video/AV1", ClockRate: 90000, RtcpFeedback: videoFeedback}}}
	c := check[media.Consumer](t)(connectedPlain(t, r, dst).Consume(ctxFor(t), &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps}))
	if c.Type() != media.ConsumerSimulcast {
		t.Fatalf("consumer type %s, want simulcast", c.Type())
	}
	st := l1t3Descriptors()
	streams := []*av1Stream{{idx: 0, ssrc: 100, seq: 10}, {idx: 1, ssrc: 200, seq: 65530}}
	var epoch byte
	round := func() {
		plis := map[uint32]int{}
		for _, pk := range src.RTCP() {
			if pli, ok := pk.(*rtcp.PictureLossIndication); ok {
				plis[pli.MediaSSRC]++
			}
		}
		for _, s := range streams {
			key := plis[s.ssrc] > s.plis
			s.plis = plis[s.ssrc]
			src.Send(in.Tuple(), s.packet(t, st, key, epoch))
		}
	}
	ssrc := c.RtpParameters().Encodings[0].SSRC
	seen := func(e byte, tid int) bool {
		for _, pk := range dst.RTP(ssrc) {
			if len(pk.Payload) > 3 && pk.Payload[1] == e && pk.Payload[2] == 1 && int(pk.Payload[3]) == tid {
				return true
			}
		}
		return false
	}
	want := []int{2}
	eventually(t, "the top temporal layer", func() bool { round(); return seen(0, 2) })
	for k, tl := range []int{0, 0, 0, 1, 1, 1, 2, 0, 0, 0, 2, 1, 1, 1} {
		tl := tl
		if err := c.SetPreferredLayers(ctxFor(t), media.ConsumerLayers{SpatialLayer: 1, TemporalLayer: &tl}); err != nil {
			t.Fatalf("switch %d: %v", k+1, err)
		}
		epoch = byte(k + 1)
		want = append(want, tl)
		eventually(t, "a switch's temporal layer", func() bool { round(); return seen(epoch, tl) })
	}
	checkAV1Stream(t, c, dst.RTP(ssrc), want)
}

// checkAV1Stream checks what an AV1 consumer sent: no descriptor (nor
// any extension it did not negotiate), sequence numbers without gaps,
// packets of the top stream (stream 0 only before the first switch) with
// temporal layers within those of the switches around the one they were
// sent in.
func checkAV1Stream(t *testing.T, c media.Consumer, pkts []*rtp.Packet, want []int) {
	t.Helper()
	negotiated := map[uint8]bool{}
	for _, e := range c.RtpParameters().HeaderExtensions {
		negotiated[uint8(e.ID)] = true
	}
	for i, pk := range pkts {
		for _, id := range pk.GetExtensionIDs() {
			if !negotiated[id] {
				t.Fatalf("packet %d carries extension %d, not negotiated by the consumer", i, id)
			}
		}
		if len(pk.Payload) < 4 {
			t.Fatalf("packet %d: payload % x", i, pk.Payload)
		}
		e, stream, tid := int(pk.Payload[1]), pk.Payload[2], int(pk.Payload[3])
		if stream != 1 && e > 0 {
			t.Fatalf("packet %d (switch %d) from stream %d", i, e, stream)
		}
		top := 0
		for j := max(e-1, 0); j <= min(e+1, len(want)-1); j++ {
			top = max(top, want[j])
		}
		if tid > top {
			t.Fatalf("packet %d (switch %d): temporal layer %d above %d", i, e, tid, top)
		}
		if i > 0 && pk.SequenceNumber != pkts[i-1].SequenceNumber+1 {
			t.Fatalf("packet %d: sequence number %d after %d", i, pk.SequenceNumber, pkts[i-1].SequenceNumber)
		}
	}
}
