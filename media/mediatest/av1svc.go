package mediatest

import (
	"slices"
	"sort"
	"testing"

	"github.com/pion/rtp"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/depdesc"
	"github.com/ropehq/rope/media/internal/depdesc/depdesctest"
)

// av1SVCStream sends AV1 L3T3 with dependency descriptors as Chromium
// does (libwebrtc's structure, depdesctest.SVC): per temporal unit each
// spatial layer's frame in two packets (start and end of frame), the
// structure on a key frame's first packet, the marker bit on the unit's
// last packet, temporal pattern 0,2,1,2; a key unit first and for each
// PLI. The payload ends with a tag: the epoch it was sent in, its
// spatial and temporal layer, and 1 on a frame's last packet.
type av1SVCStream struct {
	st    *depdesc.Structure
	ssrc  uint32
	seq   uint16
	ts    uint32
	frame uint16
	i     int
	first bool
}

func (s *av1SVCStream) unit(t *testing.T, key bool, epoch byte) [][]byte {
	t.Helper()
	if key || s.first {
		s.i, key = 0, true
	}
	s.first = false
	tid := depdesctest.Pattern[s.i%4]
	var out [][]byte
	for sid := range 3 {
		for part := range 2 {
			d := depdesc.Descriptor{StartOfFrame: part == 0, EndOfFrame: part == 1, TemplateID: depdesctest.Template(sid, s.i, key),
				FrameNumber: s.frame, HasStructure: key && sid == 0 && part == 0}
			var dd [depdesc.MaxSize]byte
			n := check[int](t)(depdesc.Marshal(dd[:], &d, s.st))
			payload := make([]byte, 200)
			payload[0] = 0x10 // W=1
			if d.HasStructure {
				payload[0] |= 0x08 // N
			}
			m := len(payload)
			payload[m-4], payload[m-3], payload[m-2], payload[m-1] = epoch, byte(sid), byte(tid), byte(part)
			pk := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 45, SequenceNumber: s.seq, Timestamp: s.ts, SSRC: s.ssrc,
				Marker: sid == 2 && part == 1, Extension: true, ExtensionProfile: 0x1000}, Payload: payload}
			if err := pk.Header.SetExtension(av1DDID, dd[:n]); err != nil {
				t.Fatal(err)
			}
			out = append(out, check[[]byte](t)(pk.Marshal()))
			s.seq++
		}
		s.frame++
	}
	s.ts += 3000
	s.i++
	return out
}

// testAV1SVCLayers: an AV1 producer with scalabilityMode L3T3 and the
// dependency descriptor is an SVC producer, and its consumers SVC
// consumers that select layers by the descriptor. One prefers spatial
// layer 0, temporal 1: it gets only those layers. The other is switched
// 12 times across spatial and temporal layers (each switch waits for what
// the endpoint receives to show it; a spatial up-switch waits for a key
// frame the consumer asks for). What each endpoint receives has sequence
// numbers without gaps, the marker bit on the last packet of each
// temporal unit only, which ends a frame, layers within the switch in
// force, and the dependency descriptor as sent (an AV1 SVC consumer
// negotiates it: Chromium assembles spatial layers by it); layerschange
// reports the layers.
func testAV1SVCLayers(t *testing.T, api media.API) {
	r := check[media.Router](t)(newWorker(t, api).CreateRouter(ctxFor(t), &media.RouterOptions{MediaCodecs: []media.RtpCodecCapability{
		{Kind: media.KindVideo, MimeType: "video/AV1", ClockRate: 90000}}}))
	src := NewEndpoint(t)
	in := connectedPlain(t, r, src)
	p := check[media.Producer](t)(in.Produce(ctxFor(t), &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: media.RtpParameters{
		Codecs:           []media.RtpCodecParameters{{MimeType: "video/AV1", PayloadType: 45, ClockRate: 90000, RtcpFeedback: videoFeedback}},
		HeaderExtensions: []media.RtpHeaderExtensionParameters{{URI: media.ExtDependencyDescriptor, ID: av1DDID}},
		Encodings:        []media.RtpEncodingParameters{{SSRC: 600, ScalabilityMode: "L3T3"}},
		Rtcp:             media.RtcpParameters{CNAME: "mediatest"},
	}}))
	if p.Type() != media.ProducerSVC {
		t.Fatalf("producer type %s, want svc", p.Type())
	}
	caps := &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{{Kind: media.KindVideo, MimeType: "video/AV1", ClockRate: 90000, RtcpFeedback: videoFeedback}}}
	s := &av1SVCStream{st: depdesctest.SVC(3, false), ssrc: 600, seq: 65000, frame: 65500, first: true}
	sw := runSVCSwitches(t, r, p, caps, src, in, 600, func(key bool, epoch byte) [][]byte { return s.unit(t, key, epoch) },
		func(b []byte) (byte, layers, bool) {
			n := len(b)
			if n <= 4 {
				return 0, layers{}, false
			}
			return b[n-4], layers{int(b[n-3]), int(b[n-2])}, true
		})
	// As in testSVCLayers: a packet sent after switch e went out under
	// the preference of switch e, a neighbour, or e-2.
	checkAV1SVCStream(t, sw.c, sw.dst.RTP(sw.ssrc), sw.allowed)
	checkAV1SVCStream(t, sw.cl, sw.low.RTP(sw.lowSSRC), func(_ byte, sid, tid int) bool { return sid == 0 && tid <= 1 })
}

// checkAV1SVCStream checks what an AV1 SVC consumer sent, in order of
// sequence number: no gaps, no extension the consumer did not negotiate,
// the descriptor (which it negotiates) as sent, the marker bit exactly on the last packet of each
// temporal unit (which ends a frame), layers allowed for the switch each
// packet was sent in.
func checkAV1SVCStream(t *testing.T, c media.Consumer, pkts []*rtp.Packet, allowed func(epoch byte, sid, tid int) bool) {
	t.Helper()
	if len(pkts) < 50 {
		t.Fatalf("only %d packets received", len(pkts))
	}
	negotiated := map[uint8]bool{}
	var ddID uint8
	for _, e := range c.RtpParameters().HeaderExtensions {
		negotiated[uint8(e.ID)] = true
		if e.URI == media.ExtDependencyDescriptor {
			ddID = uint8(e.ID)
		}
	}
	if ddID == 0 {
		t.Fatal("the consumer does not negotiate the dependency descriptor")
	}
	var dd depdesc.Parser
	base := pkts[0].SequenceNumber - 1000
	ordered := slices.Clone(pkts)
	sort.SliceStable(ordered, func(i, j int) bool {
		return ordered[i].SequenceNumber-base < ordered[j].SequenceNumber-base
	})
	lastTS := ordered[len(ordered)-1].Timestamp // the last unit may still be on its way
	for i, pk := range ordered {
		for _, id := range pk.GetExtensionIDs() {
			if !negotiated[id] {
				t.Fatalf("packet %d carries extension %d, not negotiated by the consumer", i, id)
			}
		}
		n := len(pk.Payload)
		if n < 10 {
			t.Fatalf("packet %d: payload % x", i, pk.Payload)
		}
		epoch, sid, tid, end := pk.Payload[n-4], int(pk.Payload[n-3]), int(pk.Payload[n-2]), pk.Payload[n-1] == 1
		var d depdesc.Descriptor
		if err := dd.Parse(pk.GetExtension(ddID), &d); err != nil {
			t.Fatalf("packet %d: descriptor: %v", i, err)
		}
		if int(d.SpatialID) != sid || int(d.TemporalID) != tid || d.EndOfFrame != end {
			t.Fatalf("packet %d: descriptor S%dT%d on a packet of S%dT%d", i, d.SpatialID, d.TemporalID, sid, tid)
		}
		if !allowed(epoch, sid, tid) {
			t.Fatalf("packet %d (switch %d): S%dT%d not within the layers allowed", i, epoch, sid, tid)
		}
		if i > 0 && pk.SequenceNumber != ordered[i-1].SequenceNumber+1 {
			t.Fatalf("packet %d: sequence number %d after %d", i, pk.SequenceNumber, ordered[i-1].SequenceNumber)
		}
		lastOfUnit := i == len(ordered)-1 || ordered[i+1].Timestamp != pk.Timestamp
		if pk.Timestamp != lastTS && pk.Marker != lastOfUnit {
			t.Fatalf("packet %d (unit %d S%d): marker %v, last of its unit %v", i, pk.Timestamp, sid, pk.Marker, lastOfUnit)
		}
		if pk.Marker && !end {
			t.Fatalf("packet %d: marker inside a frame", i)
		}
	}
}
