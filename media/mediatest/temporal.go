package mediatest

import (
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/ropehq/rope/media"
)

// l1t3Stream sends one simulcast stream of L1T3 VP8: pictures of two
// packets whose payload descriptors carry a 15-bit picture ID, TL0PICIDX
// and TID in the pattern 0,2,1,2 (Y set on the first TID 1 and TID 2
// frames after each TID 0), answering each PLI with a key frame. After
// the descriptor the payload holds the frame header byte and a tag: the
// epoch it was sent in, the stream index and the TID sent.
type l1t3Stream struct {
	idx   byte
	ssrc  uint32
	seq   uint16
	ts    uint32
	pic   uint16
	tl0   uint8
	i     int
	plis  int
	first bool
}

// picture returns the two packets of the stream's next picture.
func (s *l1t3Stream) picture(t *testing.T, key bool, epoch byte) [][]byte {
	t.Helper()
	if key || s.first {
		s.i, key = 0, true
	}
	tid := [4]byte{0, 2, 1, 2}[s.i%4]
	if tid == 0 && !s.first {
		s.tl0++
	}
	s.first = false
	sync := tid != 0 && s.i%4 < 3
	var out [][]byte
	for part := 0; part < 2; part++ {
		payload := make([]byte, 300)
		payload[0] = 0x80 // X
		if part == 0 {
			payload[0] |= 0x10 // S
		}
		payload[1] = 0xe0 // I, L, T
		payload[2], payload[3] = 0x80|byte(s.pic>>8), byte(s.pic)
		payload[4] = s.tl0
		payload[5] = tid << 6
		if sync {
			payload[5] |= 0x20
		}
		payload[6] = 0x01 // inter frame
		if key {
			payload[6] = 0x00
		}
		payload[7], payload[8], payload[9] = epoch, s.idx, tid
		b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, SequenceNumber: s.seq,
			Timestamp: s.ts, SSRC: s.ssrc, Marker: part == 1}, Payload: payload}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		s.seq++
		out = append(out, b)
	}
	s.ts += 3000
	s.pic = (s.pic + 1) & 0x7fff
	s.i++
	return out
}

// layers are a spatial and a temporal layer.
type layers struct{ s, t int }

// layersLog records layerschange events.
type layersLog struct {
	mu     sync.Mutex
	events []media.ConsumerLayers
}

func (l *layersLog) add(v *media.ConsumerLayers) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if v != nil {
		l.events = append(l.events, *v)
	}
}

// latest reports whether the latest event reported want.
func (l *layersLog) latest(want layers) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.events) == 0 {
		return false
	}
	e := l.events[len(l.events)-1]
	return e.SpatialLayer == want.s && e.TemporalLayer != nil && *e.TemporalLayer == want.t
}

// currentIs reports whether c's current layers are want.
func currentIs(c media.Consumer, want layers) bool {
	cur := c.CurrentLayers()
	return cur != nil && cur.SpatialLayer == want.s && cur.TemporalLayer != nil && *cur.TemporalLayer == want.t
}

// has reports whether an event reported l (and forgets the events).
func (l *layersLog) has(want layers) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.events {
		if e.SpatialLayer == want.s && e.TemporalLayer != nil && *e.TemporalLayer == want.t {
			l.events = l.events[:0]
			return true
		}
	}
	return false
}

// testSimulcastTemporalSwitches: a simulcast consumer of three L1T3 VP8
// streams is switched 50 times across spatial and temporal layers (each
// switch waits for what the endpoint receives to show it). What the
// endpoint receives is one stream whose sequence numbers, picture IDs and
// TL0PICIDX go on by one (frames dropped for their temporal layer free
// their numbers, as mediasoup's VP8 EncodingContext does), whose TIDs
// never exceed the target, and whose packets come only from the streams
// of the switch in force; layerschange reports temporal layers.
func testSimulcastTemporalSwitches(t *testing.T, api media.API) {
	r := newRouter(t, newWorker(t, api))
	src, dst := NewEndpoint(t), NewEndpoint(t)
	in, out := connectedPlain(t, r, src), connectedPlain(t, r, dst)
	params := VP8Parameters(100)
	params.Encodings = []media.RtpEncodingParameters{{SSRC: 100, ScalabilityMode: "L1T3"}, {SSRC: 200, ScalabilityMode: "L1T3"}, {SSRC: 300, ScalabilityMode: "L1T3"}}
	p := check[media.Producer](t)(in.Produce(ctxFor(t), &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))
	c := check[media.Consumer](t)(out.Consume(ctxFor(t), &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: EndpointCaps()}))
	if c.Type() != media.ConsumerSimulcast {
		t.Fatalf("consumer type %s", c.Type())
	}
	if pl := c.PreferredLayers(); pl == nil || pl.SpatialLayer != 2 || pl.TemporalLayer == nil || *pl.TemporalLayer != 2 {
		t.Fatalf("preferred layers %+v, want 2/2", pl)
	}
	log := &layersLog{}
	c.OnLayersChange(log.add)
	ssrc := c.RtpParameters().Encodings[0].SSRC
	streams := []*l1t3Stream{
		{idx: 0, ssrc: 100, seq: 10, pic: 100, tl0: 250, first: true},
		{idx: 1, ssrc: 200, seq: 30000, pic: 20000, tl0: 7, first: true},
		{idx: 2, ssrc: 300, seq: 65500, pic: 0x7ff0, tl0: 128, first: true},
	}
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
			for _, b := range s.picture(t, key, epoch) {
				src.Send(in.Tuple(), b)
			}
		}
	}
	plan := []layers{{0, 0}, {2, 2}, {1, 2}, {1, 0}, {2, 1}, {0, 2}, {2, 0}, {1, 1}, {0, 1}, {2, 2}, {2, 0}}
	want := []layers{{2, 2}}
	// seen reports whether the endpoint got a packet of the epoch from
	// stream l.s with TID l.t.
	seen := func(e byte, l layers) bool {
		for _, pk := range dst.RTP(ssrc) {
			if len(pk.Payload) > 9 && pk.Payload[7] == e && int(pk.Payload[8]) == l.s && int(pk.Payload[9]) == l.t {
				return true
			}
		}
		return false
	}
	eventually(t, "the top layers", func() bool { round(); return seen(0, want[0]) })
	switchTo := func(k int, l layers) {
		tl := l.t
		if err := c.SetPreferredLayers(ctxFor(t), media.ConsumerLayers{SpatialLayer: l.s, TemporalLayer: &tl}); err != nil {
			t.Fatalf("switch %d: %v", k, err)
		}
		epoch = byte(k)
		want = append(want, l)
		eventually(t, "a switch's layers", func() bool { round(); return seen(epoch, l) })
	}
	for k := 1; k <= 50; k++ {
		switchTo(k, plan[k%len(plan)])
	}
	// Temporal switches alone, each awaiting its layerschange.
	for k := 51; k <= 53; k++ {
		l := layers{want[50].s, k - 51}
		switchTo(k, l)
		eventually(t, "layerschange and current layers of a temporal switch", func() bool {
			round()
			return log.latest(l) && currentIs(c, l)
		})
		if pl := c.PreferredLayers(); pl == nil || pl.TemporalLayer == nil || *pl.TemporalLayer != l.t {
			t.Fatalf("preferred layers %+v, want %+v", pl, l)
		}
	}
	// A packet sent after switch e was forwarded under the preference of
	// switch e or, if the next call overtook it on its way, e+1; under a
	// preference, the stream of the one before goes on until the key
	// frame of the new one.
	checkTemporalStream(t, dst.RTP(ssrc), func(e byte, stream, tid int) bool {
		for i := max(int(e)-1, 0); i <= min(int(e)+1, len(want)-1); i++ {
			if stream == want[i].s && tid <= want[i].t {
				return true
			}
		}
		return false
	})
}

// checkTemporalStream checks what the consumer sent (in order of
// sequence number): no gaps in sequence numbers, picture IDs or
// TL0PICIDX (TL0PICIDX goes on exactly at each new TID 0 picture), TIDs
// and streams within the layers allowed for the switch they were sent in.
func checkTemporalStream(t *testing.T, pkts []*rtp.Packet, allowed func(epoch byte, stream, tid int) bool) {
	t.Helper()
	if len(pkts) < 100 {
		t.Fatalf("only %d packets received", len(pkts))
	}
	// Order by sequence number (loopback UDP rarely reorders, but may).
	base := pkts[0].SequenceNumber - 1000
	ordered := slices.Clone(pkts)
	sort.SliceStable(ordered, func(i, j int) bool {
		return ordered[i].SequenceNumber-base < ordered[j].SequenceNumber-base
	})
	pic := func(pk *rtp.Packet) uint16 { return (uint16(pk.Payload[2])<<8 | uint16(pk.Payload[3])) & 0x7fff }
	for i, pk := range ordered {
		if len(pk.Payload) < 10 || pk.Payload[2]&0x80 == 0 {
			t.Fatalf("packet %d: payload % x", i, pk.Payload[:min(len(pk.Payload), 10)])
		}
		epoch, stream, tid := pk.Payload[7], int(pk.Payload[8]), int(pk.Payload[5]>>6)
		if tid != int(pk.Payload[9]) {
			t.Fatalf("packet %d: TID %d, sent as %d", i, tid, pk.Payload[9])
		}
		if !allowed(epoch, stream, tid) {
			t.Fatalf("packet %d (switch %d): stream %d TID %d, not within the layers of switches %d to %d", i, epoch, stream, tid, max(int(epoch)-1, 0), int(epoch)+1)
		}
		if i == 0 {
			continue
		}
		last := ordered[i-1]
		if pk.SequenceNumber != last.SequenceNumber+1 {
			t.Fatalf("packet %d: sequence number %d after %d", i, pk.SequenceNumber, last.SequenceNumber)
		}
		newPicture := pk.Payload[0]&0x10 != 0
		dp := (pic(pk) - pic(last)) & 0x7fff
		if newPicture && dp != 1 || !newPicture && dp != 0 {
			t.Fatalf("packet %d (switch %d): picture ID %d after %d", i, epoch, pic(pk), pic(last))
		}
		wantDT := byte(0)
		if newPicture && tid == 0 {
			wantDT = 1
		}
		if pk.Payload[4]-last.Payload[4] != wantDT {
			t.Fatalf("packet %d (switch %d): TL0PICIDX %d after %d (TID %d)", i, epoch, pk.Payload[4], last.Payload[4], tid)
		}
	}
}
