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
	plis  int
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
	src, low, dst := NewEndpoint(t), NewEndpoint(t), NewEndpoint(t)
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
	one := 1
	cl := check[media.Consumer](t)(connectedPlain(t, r, low).Consume(ctxFor(t), &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: vp9Caps(),
		PreferredLayers: &media.ConsumerLayers{SpatialLayer: 0, TemporalLayer: &one}}))
	c := check[media.Consumer](t)(connectedPlain(t, r, dst).Consume(ctxFor(t), &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: vp9Caps()}))
	for _, x := range []media.Consumer{cl, c} {
		if x.Type() != media.ConsumerSVC {
			t.Fatalf("consumer type %s, want svc", x.Type())
		}
	}
	if pl := c.PreferredLayers(); pl == nil || pl.SpatialLayer != 2 || pl.TemporalLayer == nil || *pl.TemporalLayer != 2 {
		t.Fatalf("preferred layers %+v, want 2/2", pl)
	}
	log := &layersLog{}
	c.OnLayersChange(log.add)
	s := &l3t3Stream{ssrc: 500, seq: 65000, pic: 0x7ff0, first: true}
	var epoch byte
	round := func() {
		plis := 0
		for _, pk := range src.RTCP() {
			if pli, ok := pk.(*rtcp.PictureLossIndication); ok && pli.MediaSSRC == 500 {
				plis++
			}
		}
		key := plis > s.plis
		s.plis = plis
		for _, b := range s.picture(t, key, epoch) {
			src.Send(in.Tuple(), b)
		}
	}
	ssrc := c.RtpParameters().Encodings[0].SSRC
	seen := func(e byte, l layers) bool {
		for _, pk := range dst.RTP(ssrc) {
			if n := len(pk.Payload); n > 3 && pk.Payload[n-3] == e && int(pk.Payload[n-2]) == l.s && int(pk.Payload[n-1]) == l.t {
				return true
			}
		}
		return false
	}
	want := []layers{{2, 2}}
	eventually(t, "the top layers", func() bool { round(); return seen(0, want[0]) })
	plan := []layers{{0, 0}, {2, 2}, {1, 2}, {1, 0}, {2, 1}, {0, 2}}
	for k := 1; k <= 12; k++ {
		l := plan[k%len(plan)]
		tl := l.t
		if err := c.SetPreferredLayers(ctxFor(t), media.ConsumerLayers{SpatialLayer: l.s, TemporalLayer: &tl}); err != nil {
			t.Fatalf("switch %d: %v", k, err)
		}
		epoch = byte(k)
		want = append(want, l)
		eventually(t, fmt.Sprintf("switch %d's layers %+v", k, l), func() bool { round(); return seen(epoch, l) })
	}
	last := want[len(want)-1]
	// An earlier switch may have had the same layers, and a packet of
	// them may go out before the switch: the latest event tells.
	eventually(t, "layerschange and current layers of the last switch", func() bool {
		round()
		return log.latest(last) && currentIs(c, last)
	})
	// layerschange comes at once now: send on until both viewers have
	// enough to check.
	lowSSRC := cl.RtpParameters().Encodings[0].SSRC
	eventually(t, "50 packets each", func() bool { round(); return len(dst.RTP(ssrc)) >= 50 && len(low.RTP(lowSSRC)) >= 50 })
	// A packet sent after switch e went out under the preference of
	// switch e or a neighbour (a call may overtake packets on their way;
	// an up-switch waits for its key frame), or of switch e-2: the test
	// sees a temporal down-switch's layers before it completes (the
	// lower layers' packets go on before, and the switch waits for the
	// end of a frame of the new layer).
	checkSVCStream(t, dst.RTP(ssrc), func(e byte, sid, tid int) bool {
		for i := max(int(e)-2, 0); i <= min(int(e)+1, len(want)-1); i++ {
			if sid <= want[i].s && tid <= want[i].t {
				return true
			}
		}
		return false
	})
	checkSVCStream(t, low.RTP(lowSSRC), func(_ byte, sid, tid int) bool { return sid == 0 && tid <= 1 })
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
