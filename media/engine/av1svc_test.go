package engine_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/depdesc"
	"github.com/ropehq/rope/media/internal/depdesc/depdesctest"
)

// av1SVCSender sends AV1 LnT3 (or LnT3_KEY) as Chromium does: per
// temporal unit each spatial layer's frame in two packets, each with a
// dependency descriptor (the structure on a key frame's first), the
// marker bit on the unit's last packet. The payload is an aggregation
// header (N on a key frame's first packet) and padding, and ends with a
// tag: the frame number, spatial and temporal layer, and the start and
// end of frame flags (bits 0, 1).
type av1SVCSender struct {
	spatial int
	ksvc    bool
	st      *depdesc.Structure
	ssrc    uint32
	seq     uint16
	ts      uint32
	frame   uint16
	i       int // temporal unit in the pattern
	sent    uint64
}

const av1DDID = 12

func newAV1SVCSender(spatial int, ksvc bool, ssrc uint32) *av1SVCSender {
	return &av1SVCSender{spatial: spatial, ksvc: ksvc, st: depdesctest.SVC(spatial, ksvc), ssrc: ssrc, seq: 65500, frame: 65530}
}

// unit returns the packets of the next temporal unit, the first of a key
// frame if key.
func (s *av1SVCSender) unit(t testing.TB, key bool) [][]byte {
	t.Helper()
	return s.unitSized(t, key, [3][2]int{{2, 60}, {2, 60}, {2, 60}})
}

// unitSized returns the packets of the next temporal unit, spatial layer
// l's frame in sizes[l][0] packets of sizes[l][1] payload bytes (at
// least 5).
func (s *av1SVCSender) unitSized(t testing.TB, key bool, sizes [3][2]int) [][]byte {
	t.Helper()
	if key {
		s.i = 0
	}
	tid := depdesctest.Pattern[s.i%4]
	var out [][]byte
	for sid := range s.spatial {
		parts := sizes[sid][0]
		for part := range parts {
			d := depdesc.Descriptor{StartOfFrame: part == 0, EndOfFrame: part == parts-1, TemplateID: depdesctest.Template(sid, s.i, key), FrameNumber: s.frame}
			d.HasStructure = key && sid == 0 && part == 0
			var dd [depdesc.MaxSize]byte
			n, err := depdesc.Marshal(dd[:], &d, s.st)
			if err != nil {
				t.Fatal(err)
			}
			payload := make([]byte, sizes[sid][1])
			payload[0] = 0x10 // W=1
			if d.HasStructure {
				payload[0] |= 0x08 // N
			}
			tag := payload[len(payload)-5:]
			tag[0], tag[1], tag[2], tag[3] = byte(s.frame>>8), byte(s.frame), byte(sid), byte(tid)
			tag[4] = 0
			if d.StartOfFrame {
				tag[4] |= 1
			}
			if d.EndOfFrame {
				tag[4] |= 2
			}
			p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 45, SequenceNumber: s.seq, Timestamp: s.ts, SSRC: s.ssrc,
				Marker: sid == s.spatial-1 && d.EndOfFrame}, Payload: payload}
			// Two-byte header extensions: a structure exceeds 16 bytes.
			p.Header.Extension, p.Header.ExtensionProfile = true, 0x1000
			if err := p.Header.SetExtension(av1DDID, dd[:n]); err != nil {
				t.Fatal(err)
			}
			b, err := p.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			s.seq++
			s.sent++
			out = append(out, b)
		}
		s.frame++
	}
	s.ts += 3000
	s.i++
	return out
}

// av1SVCFixture is an AV1 SVC producer on a plain transport fed by an
// av1SVCSender.
type av1SVCFixture struct {
	*svcFixture
	av1 *av1SVCSender
}

func av1Caps() *media.RtpCapabilities {
	return &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{
		{Kind: media.KindVideo, MimeType: "video/AV1", ClockRate: 90000, RtcpFeedback: videoFeedback},
	}}
}

func newAV1SVCFixture(t *testing.T, mode string, spatial int, ksvc bool) *av1SVCFixture {
	f := newFixture(t)
	r := must[media.Router](t)(f.worker.CreateRouter(f.ctx, &media.RouterOptions{MediaCodecs: []media.RtpCodecCapability{
		{Kind: media.KindVideo, MimeType: "video/AV1", ClockRate: 90000}}}))
	f.router = r
	src := newEndpoint(t)
	in := f.plain(r, src)
	p := must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: media.RtpParameters{
		Codecs:           []media.RtpCodecParameters{{MimeType: "video/AV1", PayloadType: 45, ClockRate: 90000, RtcpFeedback: videoFeedback}},
		HeaderExtensions: []media.RtpHeaderExtensionParameters{{URI: media.ExtDependencyDescriptor, ID: av1DDID}},
		Encodings:        []media.RtpEncodingParameters{{SSRC: 1000, ScalabilityMode: mode}},
		Rtcp:             media.RtcpParameters{CNAME: "av1"},
	}}))
	if p.Type() != media.ProducerSVC {
		t.Fatalf("producer type %q, want svc", p.Type())
	}
	return &av1SVCFixture{svcFixture: &svcFixture{fixture: f, src: src, in: in, p: p}, av1: newAV1SVCSender(spatial, ksvc, 1000)}
}

func (f *av1SVCFixture) viewer(t *testing.T, prefer *media.ConsumerLayers) *svcViewer {
	v := &svcViewer{e: newEndpoint(t)}
	v.t = f.plain(f.router, v.e)
	v.c = must[media.Consumer](t)(v.t.Consume(f.ctx, &media.ConsumerOptions{ProducerID: f.p.ID(), RtpCapabilities: av1Caps(), PreferredLayers: prefer}))
	if v.c.Type() != media.ConsumerSVC {
		t.Fatalf("consumer type %q, want svc", v.c.Type())
	}
	v.c.OnLayersChange(func(l *media.ConsumerLayers) {
		v.mu.Lock()
		v.changes = append(v.changes, l)
		v.mu.Unlock()
	})
	return v
}

// send sends n temporal units, the first a key one if key.
func (f *av1SVCFixture) send(t *testing.T, n int, key bool) {
	for i := range n {
		for _, b := range f.av1.unit(t, key && i == 0) {
			f.src.send(f.in.Tuple(), b)
		}
	}
}

// prefer sets v's preferred layers once the producer has taken every
// packet sent so far (so that none of them sees the new preference).
func (f *av1SVCFixture) prefer(t *testing.T, v *svcViewer, l *media.ConsumerLayers) {
	t.Helper()
	wait.Until(t, "the producer's packets", func() bool {
		var n uint64
		for _, s := range must[[]media.RtpStreamStats](t)(f.p.GetStats(f.ctx)) {
			n += s.PacketCount
		}
		return n == f.av1.sent
	})
	if err := v.c.SetPreferredLayers(f.ctx, *l); err != nil {
		t.Fatal(err)
	}
}

// av1Received is one packet a viewer got, with the tag the sender put
// at the end of its payload.
type av1Received struct {
	pkt        *rtp.Packet
	frame      uint16
	sid, tid   int
	start, end bool
}

func (v *svcViewer) av1Received(t *testing.T) []av1Received {
	t.Helper()
	ddID := 0
	for _, e := range v.c.RtpParameters().HeaderExtensions {
		if e.URI == media.ExtDependencyDescriptor {
			ddID = e.ID
		}
	}
	if ddID == 0 {
		t.Fatal("the consumer does not negotiate the dependency descriptor")
	}
	var dd depdesc.Parser
	var out []av1Received
	for _, p := range v.e.packets() {
		if len(p.Payload) < 60 {
			t.Fatalf("packet %d: payload % x", p.SequenceNumber, p.Payload)
		}
		tag := p.Payload[len(p.Payload)-5:]
		r := av1Received{pkt: p, frame: uint16(tag[0])<<8 | uint16(tag[1]), sid: int(tag[2]), tid: int(tag[3]),
			start: tag[4]&1 != 0, end: tag[4]&2 != 0}
		// The descriptor goes with the packet, unchanged.
		var d depdesc.Descriptor
		if err := dd.Parse(p.GetExtension(uint8(ddID)), &d); err != nil {
			t.Fatalf("packet %d: descriptor: %v", p.SequenceNumber, err)
		}
		if int(d.SpatialID) != r.sid || int(d.TemporalID) != r.tid || d.FrameNumber != r.frame || d.StartOfFrame != r.start || d.EndOfFrame != r.end {
			t.Fatalf("packet %d: descriptor S%dT%d frame %d on a packet of S%dT%d frame %d", p.SequenceNumber, d.SpatialID, d.TemporalID, d.FrameNumber, r.sid, r.tid, r.frame)
		}
		out = append(out, r)
	}
	return out
}

// checkAV1SVCStream checks that a viewer's packets have sequence numbers
// without gaps, whole frames, and the marker bit exactly on the last
// packet of each temporal unit (RTP timestamp), which ends a frame.
func checkAV1SVCStream(t *testing.T, rs []av1Received) {
	t.Helper()
	for i, r := range rs {
		if i > 0 && r.pkt.SequenceNumber != rs[i-1].pkt.SequenceNumber+1 {
			t.Fatalf("packet %d: sequence number %d after %d", i, r.pkt.SequenceNumber, rs[i-1].pkt.SequenceNumber)
		}
		if i > 0 && !r.start && rs[i-1].frame != r.frame {
			t.Fatalf("packet %d: frame %d without its start", i, r.frame)
		}
		last := i == len(rs)-1 || rs[i+1].pkt.Timestamp != r.pkt.Timestamp
		if r.pkt.Marker != last {
			t.Fatalf("packet %d (frame %d S%dT%d): marker %v, last of its temporal unit %v", i, r.frame, r.sid, r.tid, r.pkt.Marker, last)
		}
		if last && !r.end {
			t.Fatalf("temporal unit %d ends inside frame %d", r.pkt.Timestamp, r.frame)
		}
	}
}

func av1MaxLayers(rs []av1Received) (int, int) {
	s, tl := -1, -1
	for _, r := range rs {
		s, tl = max(s, r.sid), max(tl, r.tid)
	}
	return s, tl
}

// TestAV1SVCConsumerLayers: an AV1 producer with scalabilityMode L3T3
// and the dependency descriptor is an SVC producer; each viewer gets the
// layers up to its preferred ones (read from the descriptor), every
// frame of them, with continuous sequence numbers, the marker bit where
// its highest spatial layer ends a temporal unit, and each packet's
// dependency descriptor as sent (the consumer negotiates it: Chromium
// assembles AV1 spatial layers by it).
func TestAV1SVCConsumerLayers(t *testing.T) {
	f := newAV1SVCFixture(t, "L3T3", 3, false)
	prefs := []*media.ConsumerLayers{layers(0, 0), layers(0, 2), layers(1, 1), layers(2, 2), nil}
	var vs []*svcViewer
	for _, l := range prefs {
		vs = append(vs, f.viewer(t, l))
	}
	f.send(t, 40, true)
	for i, v := range vs {
		s, tl := 2, 2
		if prefs[i] != nil {
			s, tl = prefs[i].SpatialLayer, *prefs[i].TemporalLayer
		}
		units := map[int]int{0: 10, 1: 20, 2: 40}[tl]
		want := units * 2 * (s + 1)
		wait.Until(t, fmt.Sprintf("viewer %d: %d packets", i, want), func() bool { return len(v.e.packets()) >= want })
		rs := v.av1Received(t)
		if len(rs) != want {
			t.Fatalf("viewer %d: %d packets, want %d", i, len(rs), want)
		}
		if gs, gt := av1MaxLayers(rs); gs != s || gt != tl {
			t.Fatalf("viewer %d: up to S%dT%d, want S%dT%d", i, gs, gt, s, tl)
		}
		checkAV1SVCStream(t, rs)
		wait.Until(t, "current layers", func() bool {
			c := v.c.CurrentLayers()
			return c != nil && c.SpatialLayer == s && *c.TemporalLayer == tl
		})
	}
}

// TestAV1SVCConsumerSwitches: in full SVC (L3T3) a spatial up-switch
// waits for a key frame, which the consumer asks for; a down-switch
// needs none; a temporal up-switch waits for a switch point of the
// higher decode target (a T0 frame of the spatial layer forwarded) and
// happens at the next frame of the higher layer; sequence numbers stay
// continuous and layerschange reports each switch.
func TestAV1SVCConsumerSwitches(t *testing.T) {
	f := newAV1SVCFixture(t, "L3T3", 3, false)
	v := f.viewer(t, layers(0, 2))
	f.send(t, 8, true)
	wait.Until(t, "8 units at S0", func() bool { return len(v.e.packets()) >= 16 })
	v.waitChange(t, 0, 2)
	f.src.reset()
	f.prefer(t, v, layers(2, 2))
	f.send(t, 8, false)
	wait.Until(t, "8 more units", func() bool { return len(v.e.packets()) >= 32 })
	if s, _ := av1MaxLayers(v.av1Received(t)); s != 0 {
		t.Fatalf("up to S%d before a key frame", s)
	}
	wait.Until(t, "a key frame request", func() bool { return hasPLI(f.src.rtcpPackets(), 1000) })
	f.send(t, 8, true)
	wait.Until(t, "8 units at S2", func() bool { return len(v.e.packets()) >= 32+8*6 })
	if s, _ := av1MaxLayers(v.av1Received(t)[32:]); s != 2 {
		t.Fatalf("up to S%d after the key frame", s)
	}
	v.waitChange(t, 2, 2)
	// Down to S1, temporal layer 0, without a key frame: from the next
	// unit on (2 of the next 8 are T0).
	f.prefer(t, v, layers(1, 0))
	f.send(t, 8, false)
	wait.Until(t, "2 units at S1T0", func() bool { return len(v.e.packets()) >= 80+2*4 })
	rs := v.av1Received(t)
	if len(rs) != 88 {
		for _, r := range rs[72:] {
			t.Logf("frame %d S%dT%d", r.frame, r.sid, r.tid)
		}
		t.Fatalf("%d packets, want 88", len(rs))
	}
	if s, tl := av1MaxLayers(rs[80:]); s != 1 || tl != 0 {
		t.Fatalf("up to S%dT%d after the down-switch", s, tl)
	}
	v.waitChange(t, 1, 0)
	// Back up to temporal layer 2 at S1: the last T0 unit was a switch
	// point, so the next frames of T2 and T1 go (4 units: T0 T2 T1 T2 in
	// the pattern after 16 units).
	f.prefer(t, v, layers(1, 2))
	f.send(t, 4, false)
	wait.Until(t, "4 units at S1T2", func() bool { return len(v.e.packets()) >= 88+4*4 })
	rs = v.av1Received(t)
	if s, tl := av1MaxLayers(rs[88:]); s != 1 || tl != 2 || len(rs) != 88+16 {
		t.Fatalf("up to S%dT%d in %d packets after the temporal up-switch", s, tl, len(rs))
	}
	checkAV1SVCStream(t, rs)
	v.waitChange(t, 1, 2)
}

// TestAV1SVCTemporalSwitchPoint: a temporal up-switch waits for a switch
// point of the higher decode target. A viewer on S0T0 asked for T2
// right after a T1 frame it dropped gets no T2 frame referring to that
// T1 frame: the T2 frame after it goes only from the next T0 frame on.
func TestAV1SVCTemporalSwitchPoint(t *testing.T) {
	f := newAV1SVCFixture(t, "L3T3", 3, false)
	v := f.viewer(t, layers(0, 0))
	f.send(t, 3, true) // T0 T2 T1: the viewer gets the T0 unit
	wait.Until(t, "the key frame", func() bool { return len(v.e.packets()) >= 2 })
	f.prefer(t, v, layers(0, 2))
	f.send(t, 5, false) // T2 (refers to the dropped T1), T0 T2 T1 T2
	wait.Until(t, "5 frames", func() bool { return len(v.e.packets()) >= 10 })
	rs := v.av1Received(t)
	var tids []int
	for _, r := range rs {
		if r.start {
			tids = append(tids, r.tid)
		}
	}
	if fmt.Sprint(tids) != "[0 0 2 1 2]" {
		t.Fatalf("frames of temporal layers %v, want [0 0 2 1 2]", tids)
	}
	checkAV1SVCStream(t, rs)
}

// TestAV1KSVCConsumerSwitches: in K-SVC (L3T3_KEY) a viewer gets only its
// spatial layer between key units (every layer up to it in a key unit),
// and a down-switch waits for a key frame too.
func TestAV1KSVCConsumerSwitches(t *testing.T) {
	f := newAV1SVCFixture(t, "L3T3_KEY", 3, true)
	v := f.viewer(t, layers(2, 2))
	f.send(t, 8, true)
	wait.Until(t, "8 units", func() bool { return len(v.e.packets()) >= 6+7*2 })
	rs := v.av1Received(t)
	for i, r := range rs[6:] {
		if r.sid != 2 {
			t.Fatalf("packet %d of a delta unit: S%d", i+6, r.sid)
		}
	}
	f.src.reset()
	f.prefer(t, v, layers(0, 2))
	f.send(t, 4, false)
	wait.Until(t, "4 more units", func() bool { return len(v.e.packets()) >= 20+4*2 })
	if s, _ := av1MaxLayers(v.av1Received(t)[20:]); s != 2 {
		t.Fatalf("switched to S%d without a key frame", s)
	}
	wait.Until(t, "a key frame request", func() bool { return hasPLI(f.src.rtcpPackets(), 1000) })
	f.send(t, 4, true)
	wait.Until(t, "4 units at S0", func() bool { return len(v.e.packets()) >= 28+4*2 })
	rs = v.av1Received(t)
	if s, _ := av1MaxLayers(rs[28:]); s != 0 || len(rs) != 36 {
		t.Fatalf("after the key frame: up to S%d in %d packets", s, len(rs))
	}
	checkAV1SVCStream(t, rs)
	v.waitChange(t, 0, 2)
}

// TestSendSideBweAV1SVC is TestSendSideBweSVC with AV1 L3T3 and the
// dependency descriptor (30 units a second: spatial layer 0 one
// 600-byte packet, 1 two of 900, 2 five of 1000; a key unit a second):
// the layers' bitrates are counted by the descriptor, both receivers
// reach the top spatial layer, and limiting one's link to 350 kbit/s
// makes its consumer step down to spatial layer 0 while the other keeps
// spatial layer 2.
func TestSendSideBweAV1SVC(t *testing.T) {
	if testing.Short() {
		t.Skip("takes up to a minute of real time")
	}
	f := newAV1SVCFixture(t, "L3T3", 3, false)
	caps, twccID := bweCaps(f.router)
	caps.Codecs = []media.RtpCodecCapability{{Kind: media.KindVideo, MimeType: "video/AV1", ClockRate: 90000,
		RtcpFeedback: append(append([]media.RtcpFeedback(nil), videoFeedback...), media.RtcpFeedback{Type: "transport-cc"})}}
	var limits []*bweReceiver
	newViewer := func() media.Consumer {
		rx := newBweReceiver(t)
		tr := must[media.PlainTransport](t)(f.router.CreatePlainTransport(f.ctx, &media.PlainTransportOptions{ListenInfo: &media.TransportListenInfo{IP: lo}}))
		if err := tr.Connect(f.ctx, &media.PlainTransportConnectOptions{IP: lo, Port: rx.port()}); err != nil {
			t.Fatal(err)
		}
		c := must[media.Consumer](t)(tr.Consume(f.ctx, &media.ConsumerOptions{ProducerID: f.p.ID(), RtpCapabilities: caps}))
		if c.Type() != media.ConsumerSVC {
			t.Fatalf("consumer type %s", c.Type())
		}
		rx.start(tr.Tuple(), twccID)
		limits = append(limits, rx)
		return c
	}
	limited, free := newViewer(), newViewer()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(33 * time.Millisecond)
		defer tick.Stop()
		sizes := [3][2]int{{1, 600}, {2, 900}, {5, 1000}}
		for unit := 0; ; unit++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			for _, b := range f.av1.unitSized(t, unit%30 == 0, sizes) {
				f.src.send(f.in.Tuple(), b)
			}
		}
	}()
	t.Cleanup(func() { close(stop); wg.Wait() })
	waitFor(t, "both consumers on spatial layer 2", 60*time.Second, func() bool {
		return spatial(limited) == 2 && spatial(free) == 2
	})
	limits[0].limit.Store(350_000)
	waitFor(t, "the limited consumer on spatial layer 0 while the other keeps 2", 30*time.Second, func() bool {
		return spatial(limited) == 0 && spatial(free) == 2
	})
}
