package engine_test

import (
	"testing"

	"github.com/pion/rtp"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/depdesc"
)

// l1t3Structure is libwebrtc's L1T3 template dependency structure (as
// Chromium sends it: depdesc's TestChromiumDescriptors): decode targets
// T0, T0+T1, all; templates for the key frame, T0, T1, and the T2 frames
// after T0 and after T1, with one chain over T0. A T1 frame is a switch
// point for all layers; T2 frames never are.
func l1t3Structure() *depdesc.Structure {
	s := &depdesc.Structure{DecodeTargets: 3, Chains: 1, NumTemplates: 5}
	tpl := []struct {
		t     uint8
		fdiff uint8
		chain uint8
		dtis  string
	}{{0, 0, 0, "SSS"}, {0, 4, 4, "SSS"}, {1, 2, 2, "-DS"}, {2, 1, 1, "--D"}, {2, 1, 3, "--D"}}
	for i, x := range tpl {
		tp := &s.Templates[i]
		tp.TemporalID = x.t
		if x.fdiff != 0 {
			tp.NumFrameDiffs, tp.FrameDiffs[0] = 1, x.fdiff
		}
		tp.ChainDiffs[0] = x.chain
		for dt, c := range x.dtis {
			tp.SetDTI(dt, map[rune]depdesc.DTI{'-': depdesc.NotPresent, 'D': depdesc.Discardable, 'S': depdesc.Switch, 'R': depdesc.Required}[c])
		}
	}
	return s
}

// TestSimulcastAV1DependencyDescriptor: an AV1 simulcast consumer (two
// streams, each L1T3 with its own dependency descriptor structure)
// selects temporal layers by the descriptor: it forwards the frames
// present in its decode target, steps down at the next frame, and steps
// up only at a switch point of the higher decode target (a T2 frame is
// not one for the full-rate target: it is dropped until the next T1
// frame, which is). Key frames come from the descriptor (a structure and
// no frame diffs).
func TestSimulcastAV1DependencyDescriptor(t *testing.T) {
	f := newFixture(t)
	av1 := media.RtpCodecCapability{Kind: media.KindVideo, MimeType: "video/AV1", ClockRate: 90000}
	r := must[media.Router](t)(f.worker.CreateRouter(f.ctx, &media.RouterOptions{MediaCodecs: []media.RtpCodecCapability{av1}}))
	src, dst := newEndpoint(t), newEndpoint(t)
	in, out := f.plain(r, src), f.plain(r, dst)
	const ddID = 12
	params := media.RtpParameters{
		Codecs:           []media.RtpCodecParameters{{MimeType: "video/AV1", PayloadType: 45, ClockRate: 90000, RtcpFeedback: videoFeedback}},
		HeaderExtensions: []media.RtpHeaderExtensionParameters{{URI: media.ExtDependencyDescriptor, ID: ddID}},
		Encodings:        []media.RtpEncodingParameters{{SSRC: 100, ScalabilityMode: "L1T3"}, {SSRC: 200, ScalabilityMode: "L1T3"}},
		Rtcp:             media.RtcpParameters{CNAME: "av1"},
	}
	p := must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))
	zero := 0
	caps := &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{{Kind: media.KindVideo, MimeType: "video/AV1", ClockRate: 90000, RtcpFeedback: videoFeedback}}}
	c := must[media.Consumer](t)(out.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps,
		PreferredLayers: &media.ConsumerLayers{SpatialLayer: 1, TemporalLayer: &zero}}))
	ssrc := c.RtpParameters().Encodings[0].SSRC
	// A pipe consumer (all streams) keeps the descriptor the endpoint's
	// consumer drops.
	pipeDst := newEndpoint(t)
	pc := must[media.Consumer](t)(f.plain(r, pipeDst).Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps, Pipe: true}))
	st := l1t3Structure()
	seq := map[uint32]uint16{100: 1, 200: 1000}
	frame := 0
	// send sends frame number frame on both streams (pattern T0 T2 T1 T2,
	// the first a key frame with the structure); the payload's second
	// byte carries the temporal layer, the AV1 aggregation header's N bit
	// is left clear so that only the descriptor tells the key frame.
	send := func() {
		tid := [4]uint8{0, 2, 1, 2}[frame%4]
		tmpl := [4]uint8{1, 3, 2, 4}[frame%4]
		d := depdesc.Descriptor{StartOfFrame: true, EndOfFrame: true, TemplateID: tmpl, FrameNumber: uint16(frame)}
		if frame == 0 {
			d.TemplateID, d.HasStructure = 0, true
		}
		var dd [depdesc.MaxSize]byte
		n := must[int](t)(depdesc.Marshal(dd[:], &d, st))
		for _, s := range []uint32{100, 200} {
			pk := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 45, SequenceNumber: seq[s], Timestamp: uint32(frame * 3000), SSRC: s, Marker: true},
				Payload: []byte{0x10, tid, 0xaa, 0xbb}}
			mustOK(t, pk.Header.SetExtension(ddID, dd[:n]))
			seq[s]++
			src.send(in.Tuple(), must[[]byte](t)(pk.Marshal()))
		}
		frame++
	}
	got := func() (tids []byte) {
		for _, pk := range receivedFrom(dst, ssrc) {
			tids = append(tids, pk.Payload[1])
		}
		return tids
	}
	// setTemporal changes the preference once the producer has taken
	// every packet sent so far (so none of them sees the new one).
	setTemporal := func(tl int) {
		t.Helper()
		wait.Until(t, "the producer's packets", func() bool {
			var n uint64
			for _, s := range must[[]media.RtpStreamStats](t)(p.GetStats(f.ctx)) {
				n += s.PacketCount
			}
			return n == uint64(seq[100]-1+seq[200]-1000)
		})
		mustOK(t, c.SetPreferredLayers(f.ctx, media.ConsumerLayers{SpatialLayer: 1, TemporalLayer: &tl}))
	}
	waitTIDs := func(what string, want string) {
		t.Helper()
		wait.Until(t, what+" (got "+string(tidString(got()))+" so far)", func() bool { return len(got()) >= len(want) })
		if g := string(tidString(got())); g != want {
			t.Fatalf("%s: temporal layers forwarded %s, want %s", what, g, want)
		}
	}
	for range 12 {
		send() // frames 0-11: T0 only
	}
	waitTIDs("the base layer", "000")
	if cl := c.CurrentLayers(); cl == nil || cl.SpatialLayer != 1 || *cl.TemporalLayer != 0 {
		t.Fatalf("current layers %+v", cl)
	}
	setTemporal(2)
	for range 8 {
		send() // frames 12-19: up at frame 12 (T0, a switch point)
	}
	waitTIDs("all layers", "000"+"02120212")
	setTemporal(1)
	for range 4 {
		send() // frames 20-23: down at once
	}
	waitTIDs("two layers", "000"+"02120212"+"01")
	setTemporal(2)
	frame++ // frame 24 not sent: the next is a T2 frame
	for range 5 {
		send() // frames 25-29: T2 dropped, up at the T1 frame 26
	}
	waitTIDs("up at the next switch point", "000"+"02120212"+"01"+"1202")
	checkContinuous(t, receivedFrom(dst, ssrc))
	wait.Until(t, "current temporal layer 2", func() bool {
		cl := c.CurrentLayers()
		return cl != nil && cl.TemporalLayer != nil && *cl.TemporalLayer == 2
	})
	for _, pk := range receivedFrom(dst, ssrc) {
		if pk.GetExtension(8) != nil {
			t.Fatalf("consumer forwarded the dependency descriptor (router id 8): %v", pk.Header)
		}
	}
	pipeSSRC := pc.RtpParameters().Encodings[0].SSRC
	wait.Until(t, "the pipe consumer's packets", func() bool { return len(receivedFrom(pipeDst, pipeSSRC)) == frame-1 })
	var pp depdesc.Parser
	var d depdesc.Descriptor
	for _, pk := range receivedFrom(pipeDst, pipeSSRC) {
		if err := pp.Parse(pk.GetExtension(8), &d); err != nil {
			t.Fatalf("pipe consumer's descriptor %x: %v", pk.GetExtension(8), err)
		}
	}
	// Each temporal layer's bitrate is measured by the descriptor's
	// temporal id: the bitrate distribution steps through them.
	// (A stream's first figures come 100 ms after its first packet.)
	var byLayer []map[string]int
	wait.Until(t, "bitrates rising with each temporal layer", func() bool {
		byLayer = byLayer[:0]
		for _, ps := range must[[]media.RtpStreamStats](t)(p.GetStats(f.ctx)) {
			byLayer = append(byLayer, ps.BitrateByLayer)
			if b := ps.BitrateByLayer; b["0.0"] == 0 || b["0.1"] <= b["0.0"] || b["0.2"] <= b["0.1"] {
				return false
			}
		}
		return true
	})
	t.Logf("producer bitrates by layer %v", byLayer)
	st2 := must[[]media.RtpStreamStats](t)(c.GetStats(f.ctx))
	if st2[0].KeyFrames != 1 {
		t.Errorf("consumer sent %d key frames, want 1 (the descriptor's)", st2[0].KeyFrames)
	}
}

func tidString(tids []byte) []byte {
	out := make([]byte, len(tids))
	for i, v := range tids {
		out[i] = '0' + v
	}
	return out
}
