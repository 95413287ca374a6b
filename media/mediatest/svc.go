package mediatest

import (
	"fmt"
	"slices"
	"sort"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/ropehq/rope/media"
)

// l3t3Stream sends VP9 L3T3 as libwebrtc does in non-flexible mode: per
// picture each spatial layer in two packets (B on the first, E on the
// last), the marker bit on the picture's last packet, temporal pattern
// 0,2,1,2 with the U bit on frames above layer 0; a key picture (the
// first, and one for each PLI) is not inter-picture predicted. The
// payload ends with a tag: the epoch it was sent in, its SID and TID.
type l3t3Stream struct {
	ssrc  uint32
	seq   uint16
	ts    uint32
	pic   uint16
	tl0   uint8
	i     int
	first bool
}

func (s *l3t3Stream) picture(t *testing.T, key bool, epoch byte) [][]byte {
	t.Helper()
	if key || s.first {
		s.i, key = 0, true
	}
	s.first = false
	tid := [4]byte{0, 2, 1, 2}[s.i%4]
	if tid == 0 {
		s.tl0++
	}
	var out [][]byte
	for sid := range byte(3) {
		for part := range 2 {
			payload := make([]byte, 200)
			payload[0] = 0xa0 // I, L
			if !key {
				payload[0] |= 0x40 // P
			}
			if part == 0 {
				payload[0] |= 0x08 // B
			} else {
				payload[0] |= 0x04 // E
			}
			payload[1], payload[2] = 0x80|byte(s.pic>>8), byte(s.pic)
			payload[3] = tid<<5 | sid<<1
			if tid > 0 {
				payload[3] |= 0x10 // U
			}
			if sid > 0 {
				payload[3] |= 0x01 // D
			}
			payload[4] = s.tl0
			n := len(payload)
			payload[n-3], payload[n-2], payload[n-1] = epoch, sid, tid
			b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, SequenceNumber: s.seq,
				Timestamp: s.ts, SSRC: s.ssrc, Marker: sid == 2 && part == 1}, Payload: payload}).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			s.seq++
			out = append(out, b)
		}
	}
	s.ts += 3000
	s.pic = (s.pic + 1) & 0x7fff
	s.i++
	return out
}

// vp9Caps are endpoint capabilities with VP9.
func vp9Caps() *media.RtpCapabilities {
	return &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{
		{Kind: media.KindVideo, MimeType: "video/VP9", ClockRate: 90000, RtcpFeedback: videoFeedback},
	}}
}

// testSVCLayers: a VP9 producer with scalabilityMode L3T3 (one stream,
// three spatial and three temporal layers) is an SVC producer, and its
// consumers are SVC consumers. One prefers spatial layer 0, temporal 1:
// it gets only those layers. The other is switched 12 times across
// spatial and temporal layers (each switch waits for what the endpoint
// receives to show it; a spatial up-switch waits for a key frame the
// consumer asks for). What each endpoint receives has sequence numbers
// without gaps (dropped layers free their numbers), the marker bit on
// the last packet of each picture only, and layers within the switch in
// force; layerschange reports the layers.
func testSVCLayers(t *testing.T, api media.API) {
	r := check[media.Router](t)(newWorker(t, api).CreateRouter(ctxFor(t), &media.RouterOptions{MediaCodecs: []media.RtpCodecCapability{
		{Kind: media.KindVideo, MimeType: "video/VP9", ClockRate: 90000}}}))
	src := NewEndpoint(t)
	in := connectedPlain(t, r, src)
	params := media.RtpParameters{
		Codecs:    []media.RtpCodecParameters{{MimeType: "video/VP9", PayloadType: 101, ClockRate: 90000, RtcpFeedback: videoFeedback}},
		Encodings: []media.RtpEncodingParameters{{SSRC: 500, ScalabilityMode: "L3T3"}},
		Rtcp:      media.RtcpParameters{CNAME: "mediatest"},
	}
	p := check[media.Producer](t)(in.Produce(ctxFor(t), &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))
	if p.Type() != media.ProducerSVC {
		t.Fatalf("producer type %s, want svc", p.Type())
	}
	s := &l3t3Stream{ssrc: 500, seq: 65000, pic: 0x7ff0, first: true}
	sw := runSVCSwitches(t, r, p, vp9Caps(), src, in, 500, func(key bool, epoch byte) [][]byte { return s.picture(t, key, epoch) },
		func(b []byte) (byte, layers, bool) {
			n := len(b)
			if n <= 3 {
				return 0, layers{}, false
			}
			return b[n-3], layers{int(b[n-2]), int(b[n-1])}, true
		})
	// A packet sent after switch e went out under the preference of
	// switch e or a neighbour (a call may overtake packets on their way;
	// an up-switch waits for its key frame), or of switch e-2: the test
	// sees a temporal down-switch's layers before it completes (the
	// lower layers' packets go on before, and the switch waits for the
	// end of a frame of the new layer).
	checkSVCStream(t, sw.dst.RTP(sw.ssrc), sw.allowed)
	checkSVCStream(t, sw.low.RTP(sw.lowSSRC), func(_ byte, sid, tid int) bool { return sid == 0 && tid <= 1 })
}

// svcSwitches is what the SVC steps share, once runSVCSwitches returns:
// c was switched 12 times (want[e] is the preference in force from
// switch e on, want[0] the default) and its endpoint dst received its
// stream ssrc; cl, preferring spatial layer 0 and temporal layer 1, sent
// its stream lowSSRC to low.
type svcSwitches struct {
	c, cl         media.Consumer
	dst, low      *Endpoint
	ssrc, lowSSRC uint32
	want          []layers
}

// runSVCSwitches makes two SVC consumers of p (whose stream pSSRC src
// sends through in, a unit of it at a time: a key one when asked, each
// packet tagged with epoch, which tag reads back with the packet's
// layers), switches one 12 times across spatial and temporal layers,
// each switch awaited until its endpoint shows a packet of its layers
// sent after it (a spatial up-switch waits for the key frame the
// consumer asks for), then awaits the latest layerschange and the
// current layers being the last switch's (an earlier switch may have had
// the same layers, and a packet of them may go out before the switch),
// and sends on until both endpoints have 50 packets to check.
func runSVCSwitches(t *testing.T, r media.Router, p media.Producer, caps *media.RtpCapabilities, src *Endpoint, in media.PlainTransport, pSSRC uint32,
	unit func(key bool, epoch byte) [][]byte, tag func(payload []byte) (byte, layers, bool)) *svcSwitches {
	t.Helper()
	sw := &svcSwitches{low: NewEndpoint(t), dst: NewEndpoint(t), want: []layers{{2, 2}}}
	one := 1
	sw.cl = check[media.Consumer](t)(connectedPlain(t, r, sw.low).Consume(ctxFor(t), &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps,
		PreferredLayers: &media.ConsumerLayers{SpatialLayer: 0, TemporalLayer: &one}}))
	sw.c = check[media.Consumer](t)(connectedPlain(t, r, sw.dst).Consume(ctxFor(t), &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps}))
	for _, x := range []media.Consumer{sw.cl, sw.c} {
		if x.Type() != media.ConsumerSVC {
			t.Fatalf("consumer type %s, want svc", x.Type())
		}
	}
	if pl := sw.c.PreferredLayers(); pl == nil || pl.SpatialLayer != 2 || pl.TemporalLayer == nil || *pl.TemporalLayer != 2 {
		t.Fatalf("preferred layers %+v, want 2/2", pl)
	}
	log := &layersLog{}
	sw.c.OnLayersChange(log.add)
	var epoch byte
	sentPLIs := 0
	round := func() {
		plis := 0
		for _, pk := range src.RTCP() {
			if pli, ok := pk.(*rtcp.PictureLossIndication); ok && pli.MediaSSRC == pSSRC {
				plis++
			}
		}
		key := plis > sentPLIs
		sentPLIs = plis
		for _, b := range unit(key, epoch) {
			src.Send(in.Tuple(), b)
		}
	}
	sw.ssrc, sw.lowSSRC = sw.c.RtpParameters().Encodings[0].SSRC, sw.cl.RtpParameters().Encodings[0].SSRC
	seen := func(e byte, l layers) bool {
		for _, pk := range sw.dst.RTP(sw.ssrc) {
			if te, tl, ok := tag(pk.Payload); ok && te == e && tl == l {
				return true
			}
		}
		return false
	}
	eventually(t, "the top layers", func() bool { round(); return seen(0, sw.want[0]) })
	plan := []layers{{0, 0}, {2, 2}, {1, 2}, {1, 0}, {2, 1}, {0, 2}}
	for k := 1; k <= 12; k++ {
		l := plan[k%len(plan)]
		tl := l.t
		if err := sw.c.SetPreferredLayers(ctxFor(t), media.ConsumerLayers{SpatialLayer: l.s, TemporalLayer: &tl}); err != nil {
			t.Fatalf("switch %d: %v", k, err)
		}
		epoch = byte(k)
		sw.want = append(sw.want, l)
		eventually(t, fmt.Sprintf("switch %d's layers %+v", k, l), func() bool { round(); return seen(epoch, l) })
	}
	last := sw.want[len(sw.want)-1]
	eventually(t, "layerschange and current layers of the last switch", func() bool {
		round()
		return log.latest(last) && currentIs(sw.c, last)
	})
	eventually(t, "50 packets each", func() bool {
		round()
		return len(sw.dst.RTP(sw.ssrc)) >= 50 && len(sw.low.RTP(sw.lowSSRC)) >= 50
	})
	return sw
}

// allowed says whether a packet of layers sid/tid, sent after switch e,
// may reach c: under the preference of switch e or a neighbour, or of
// switch e-2 (see testSVCLayers).
func (sw *svcSwitches) allowed(e byte, sid, tid int) bool {
	for i := max(int(e)-2, 0); i <= min(int(e)+1, len(sw.want)-1); i++ {
		if sid <= sw.want[i].s && tid <= sw.want[i].t {
			return true
		}
	}
	return false
}

// checkSVCStream checks what an SVC consumer sent, in order of sequence
// number: no gaps, the marker bit exactly on the last packet of each
// picture (which ends a layer frame), layers allowed for the switch each
// packet was sent in.
func checkSVCStream(t *testing.T, pkts []*rtp.Packet, allowed func(epoch byte, sid, tid int) bool) {
	t.Helper()
	if len(pkts) < 50 {
		t.Fatalf("only %d packets received", len(pkts))
	}
	base := pkts[0].SequenceNumber - 1000
	ordered := slices.Clone(pkts)
	sort.SliceStable(ordered, func(i, j int) bool {
		return ordered[i].SequenceNumber-base < ordered[j].SequenceNumber-base
	})
	pic := func(pk *rtp.Packet) uint16 { return (uint16(pk.Payload[1])<<8 | uint16(pk.Payload[2])) & 0x7fff }
	// The last picture may still be on its way.
	lastPic := pic(ordered[len(ordered)-1])
	for i, pk := range ordered {
		n := len(pk.Payload)
		if n < 10 {
			t.Fatalf("packet %d: payload % x", i, pk.Payload)
		}
		epoch, sid, tid := pk.Payload[n-3], int(pk.Payload[3]>>1&0x07), int(pk.Payload[3]>>5)
		if sid != int(pk.Payload[n-2]) || tid != int(pk.Payload[n-1]) {
			t.Fatalf("packet %d: descriptor S%dT%d on a packet of S%dT%d", i, sid, tid, pk.Payload[n-2], pk.Payload[n-1])
		}
		if !allowed(epoch, sid, tid) {
			t.Fatalf("packet %d (switch %d): S%dT%d not within the layers allowed", i, epoch, sid, tid)
		}
		if i > 0 && pk.SequenceNumber != ordered[i-1].SequenceNumber+1 {
			t.Fatalf("packet %d: sequence number %d after %d", i, pk.SequenceNumber, ordered[i-1].SequenceNumber)
		}
		lastOfPicture := i == len(ordered)-1 || pic(ordered[i+1]) != pic(pk)
		if pic(pk) != lastPic && pk.Marker != lastOfPicture {
			t.Fatalf("packet %d (picture %d S%d): marker %v, last of its picture %v", i, pic(pk), sid, pk.Marker, lastOfPicture)
		}
		if pk.Marker && pk.Payload[0]&0x04 == 0 {
			t.Fatalf("packet %d: marker inside a layer frame", i)
		}
	}
}
