package mediatest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/ropehq/rope/media"
)

// traceLog records trace events (and video orientations) from any
// goroutine.
type traceLog struct {
	mu     sync.Mutex
	events []media.ProducerTraceEventData
	cvo    []media.ProducerVideoOrientation
}

func (l *traceLog) add(e media.ProducerTraceEventData) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *traceLog) addCVO(o media.ProducerVideoOrientation) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cvo = append(l.cvo, o)
}

// traceInfo is the trace info members the step checks; an event's Info
// is a struct in process and a decoded JSON object over ROPE.
type traceInfo struct {
	SSRC           uint32 `json:"ssrc"`
	PayloadType    uint8  `json:"payloadType"`
	SequenceNumber uint16 `json:"sequenceNumber"`
	IsKeyFrame     bool   `json:"isKeyFrame"`
	Size           int    `json:"size"`
	PacketCount    uint32 `json:"packetCount"`
	RTPTimestamp   uint32 `json:"rtpTs"`
}

// find returns the info of the first event of type typ and direction
// dir that match accepts.
func (l *traceLog) find(typ, dir string, match func(traceInfo) bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.events {
		if string(e.Type) != typ || e.Direction != dir || e.Timestamp <= 0 {
			continue
		}
		b, err := json.Marshal(e.Info)
		var info traceInfo
		if err == nil && json.Unmarshal(b, &info) == nil && match(info) {
			return true
		}
	}
	return false
}

// types lists the distinct "type/direction" of the events recorded.
func (l *traceLog) types() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.events {
		if s := string(e.Type) + "/" + e.Direction; !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func (l *traceLog) hasCVO(want media.ProducerVideoOrientation) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.cvo, want)
}

// cvoPacket is a VP8 packet of s with the urn:3gpp:video-orientation
// extension (one-byte id 4) carrying v.
func cvoPacket(t *testing.T, s *VP8Sender, key bool, v byte) []byte {
	t.Helper()
	var pk rtp.Packet
	if err := pk.Unmarshal(s.Next(t, key, 200)); err != nil {
		t.Fatal(err)
	}
	if err := pk.SetExtension(4, []byte{v}); err != nil {
		t.Fatal(err)
	}
	b, err := pk.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testTraceEventsEmitted: with trace events enabled, a producer reports the
// packets it receives ("rtp", "keyframe" in) and the PLI it sends ("pli"
// out), a consumer the packets it sends ("rtp", "keyframe" out) and the
// PLI it receives ("pli" in), and the producer the sender reports it
// receives ("sr" in), with mediasoup's info members; dumps list
// the enabled types; the producer reports its CVO extension's
// orientation on each change; dumps report the temporal layers an
// encoding's scalabilityMode declares.
func testTraceEventsEmitted(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r := newRouter(t, newWorker(t, api))
	src, dst := NewEndpoint(t), NewEndpoint(t)
	in, out := connectedPlain(t, r, src), connectedPlain(t, r, dst)
	params := VP8Parameters(3333)
	params.HeaderExtensions = []media.RtpHeaderExtensionParameters{{URI: media.ExtVideoOrientation, ID: 4}}
	p := check[media.Producer](t)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))
	c := check[media.Consumer](t)(out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: EndpointCaps()}))
	pl, cl := &traceLog{}, &traceLog{}
	p.OnTrace(pl.add)
	p.OnVideoOrientationChange(pl.addCVO)
	c.OnTrace(cl.add)
	types := []media.ProducerTraceEventType{"rtp", "keyframe", "pli", "fir", "nack"}
	if err := p.EnableTraceEvent(ctx, append(types, "sr")); err != nil {
		t.Fatal(err)
	}
	if err := c.EnableTraceEvent(ctx, types); err != nil {
		t.Fatal(err)
	}
	want := []string{"rtp", "keyframe", "nack", "pli", "fir"}
	if d := check[*media.ProducerDump](t)(p.Dump(ctx)); !sameSet(d.TraceEventTypes, append(want, "sr")) {
		t.Errorf("producer dump traceEventTypes %v, want %v and sr", d.TraceEventTypes, want)
	}
	if d := check[*media.ConsumerDump](t)(c.Dump(ctx)); !sameSet(d.TraceEventTypes, want) {
		t.Errorf("consumer dump traceEventTypes %v, want %v", d.TraceEventTypes, want)
	}

	// A key frame then inter frames, all camera-facing, rotated 90°.
	s := &VP8Sender{SSRC: 3333, PT: 101}
	for i := 0; i < 3; i++ {
		src.Send(in.Tuple(), cvoPacket(t, s, i == 0, 0x08|0x01))
	}
	cssrc := c.RtpParameters().Encodings[0].SSRC
	isKey := func(ssrc uint32, key bool) func(traceInfo) bool {
		return func(i traceInfo) bool {
			return i.SSRC == ssrc && i.IsKeyFrame == key && i.PayloadType != 0 && i.Size > 200
		}
	}
	eventually(t, "producer keyframe/in and rtp/in", func() bool {
		return pl.find("keyframe", "in", isKey(3333, true)) && pl.find("rtp", "in", isKey(3333, false))
	})
	eventually(t, "consumer keyframe/out and rtp/out", func() bool {
		return cl.find("keyframe", "out", isKey(cssrc, true)) && cl.find("rtp", "out", isKey(cssrc, false))
	})
	cvo := media.ProducerVideoOrientation{Camera: true, Rotation: 90}
	eventually(t, fmt.Sprintf("videoorientationchange %+v", cvo), func() bool { return pl.hasCVO(cvo) })
	// A change: back camera, flipped, 180°.
	src.Send(in.Tuple(), cvoPacket(t, s, false, 0x04|0x02))
	cvo = media.ProducerVideoOrientation{Flip: true, Rotation: 180}
	eventually(t, fmt.Sprintf("videoorientationchange %+v", cvo), func() bool { return pl.hasCVO(cvo) })

	// A PLI from the consumer's endpoint: the consumer gets it, the
	// producer asks its endpoint.
	eventually(t, "consumer pli/in and producer pli/out", func() bool {
		dst.SendRTCP(out.Tuple(), &rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: cssrc})
		return cl.find("pli", "in", func(i traceInfo) bool { return i.SSRC == cssrc }) &&
			pl.find("pli", "out", func(i traceInfo) bool { return i.SSRC == 3333 })
	})
	// A sender report for the producer's stream.
	eventually(t, "producer sr/in", func() bool {
		src.SendRTCP(in.Tuple(), &rtcp.SenderReport{SSRC: 3333, NTPTime: 0xe000000180000000, RTPTime: 123456, PacketCount: 4, OctetCount: 1000})
		return pl.find("sr", "in", func(i traceInfo) bool { return i.SSRC == 3333 && i.PacketCount == 4 && i.RTPTimestamp == 123456 })
	})
	for _, l := range []*traceLog{pl, cl} {
		for _, ty := range l.types() {
			if !slices.Contains([]string{"rtp/in", "keyframe/in", "pli/out", "rtp/out", "keyframe/out", "pli/in", "sr/in"}, ty) {
				t.Errorf("unexpected trace event %s", ty)
			}
		}
	}
	if err := p.EnableTraceEvent(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if d := check[*media.ProducerDump](t)(p.Dump(ctx)); len(d.TraceEventTypes) != 0 {
		t.Errorf("producer dump traceEventTypes %v after disabling", d.TraceEventTypes)
	}
	testDumpTemporalLayers(t, in, out)
}

// testDumpTemporalLayers: an L1T3 producer and its consumer report three
// temporal layers in their dumps.
func testDumpTemporalLayers(t *testing.T, in, out media.Transport) {
	ctx := ctxFor(t)
	params := VP8Parameters(4444)
	params.Encodings[0].ScalabilityMode = "L1T3"
	p := check[media.Producer](t)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))
	c := check[media.Consumer](t)(out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: EndpointCaps()}))
	pd := check[*media.ProducerDump](t)(p.Dump(ctx))
	if len(pd.RtpStreams) != 1 || pd.RtpStreams[0].Params.TemporalLayers != 3 || pd.RtpStreams[0].Params.SpatialLayers != 1 {
		t.Errorf("producer dump rtpStreams %+v, want 1 spatial and 3 temporal layers", pd.RtpStreams)
	}
	cd := check[*media.ConsumerDump](t)(c.Dump(ctx))
	if len(cd.RtpStreams) != 1 || cd.RtpStreams[0].Params.TemporalLayers != 3 || cd.RtpStreams[0].Params.SpatialLayers != 1 {
		t.Errorf("consumer dump rtpStreams %+v, want 1 spatial and 3 temporal layers", cd.RtpStreams)
	}
}

func sameSet(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			return false
		}
	}
	return true
}
