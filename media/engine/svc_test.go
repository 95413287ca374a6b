package engine_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/vp9"
)

// vp9Codecs is a router's codecs with VP9.
func vp9Codecs() []media.RtpCodecCapability {
	return []media.RtpCodecCapability{{Kind: media.KindVideo, MimeType: "video/VP9", ClockRate: 90000}}
}

func vp9Params(ssrc uint32, mode string) media.RtpParameters {
	return media.RtpParameters{
		Codecs:    []media.RtpCodecParameters{{MimeType: "video/VP9", PayloadType: 101, ClockRate: 90000, RtcpFeedback: videoFeedback}},
		Encodings: []media.RtpEncodingParameters{{SSRC: ssrc, ScalabilityMode: mode}},
		Rtcp:      media.RtcpParameters{CNAME: "sender"},
	}
}

func vp9Caps() *media.RtpCapabilities {
	return &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{
		{Kind: media.KindVideo, MimeType: "video/VP9", ClockRate: 90000, RtcpFeedback: videoFeedback},
	}}
}

// svcSender makes a VP9 SVC stream as libwebrtc sends L3T3 in
// non-flexible mode: per picture, each spatial layer in two packets (B on
// the first, E on the last), the picture's marker bit on its last packet,
// temporal pattern 0 2 1 2 with the U bit on frames above layer 0; a key
// picture is not inter-picture predicted on any layer and carries the
// scalability structure.
type svcSender struct {
	spatial int
	ssrc    uint32
	seq     uint16
	ts      uint32
	pic     uint16
	tl0     uint8
}

// picture returns the packets of the next picture.
func (s *svcSender) picture(t testing.TB, key bool) [][]byte {
	t.Helper()
	var sizes [3][2]int
	for l := range sizes {
		sizes[l] = [2]int{2, 60}
	}
	return s.pictureSized(t, key, sizes)
}

// pictureSized returns the packets of the next picture, spatial layer l
// in sizes[l][0] packets of sizes[l][1] payload bytes (at least 2).
func (s *svcSender) pictureSized(t testing.TB, key bool, sizes [3][2]int) [][]byte {
	t.Helper()
	tid := []uint8{0, 2, 1, 2}[s.pic%4]
	if tid == 0 && s.pic != 0 {
		s.tl0++
	}
	var out [][]byte
	for sid := range s.spatial {
		parts := sizes[sid][0]
		for part := range parts {
			d := []byte{0xa0, 0x80 | byte(s.pic>>8), byte(s.pic), tid<<5 | byte(sid)<<1, s.tl0}
			if !key {
				d[0] |= 0x40 // P
			}
			if sid > 0 {
				d[3] |= 0x01 // D: inter-layer dependency
			}
			if tid > 0 {
				d[3] |= 0x10 // U
			}
			if part == 0 {
				d[0] |= 0x08 // B
			}
			if part == parts-1 {
				d[0] |= 0x04 // E
			}
			if key && sid == 0 && part == 0 {
				d[0] |= 0x02 // V: SS with 3 resolutions, no group
				d = append(d, byte(s.spatial-1)<<5|0x10)
				for l := range s.spatial {
					w, h := 320<<l, 180<<l
					d = append(d, byte(w>>8), byte(w), byte(h>>8), byte(h))
				}
			}
			payload := append(d, make([]byte, sizes[sid][1])...)
			// The body names the layer, for the test to read.
			payload[len(payload)-2], payload[len(payload)-1] = byte(sid), tid
			p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, SequenceNumber: s.seq, Timestamp: s.ts, SSRC: s.ssrc,
				Marker: sid == s.spatial-1 && part == parts-1}, Payload: payload}
			s.seq++
			b, err := p.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
	}
	s.pic = (s.pic + 1) & 0x7fff
	s.ts += 3000
	return out
}

// svcViewer is one consumer of an SVC producer, on its own plain
// transport.
type svcViewer struct {
	e *endpoint
	t media.PlainTransport
	c media.Consumer

	mu      sync.Mutex
	changes []*media.ConsumerLayers
}

type svcFixture struct {
	*fixture
	src *endpoint
	in  media.PlainTransport
	p   media.Producer
	s   *svcSender
}

func newSVCFixture(t *testing.T, mode string, spatial int) *svcFixture {
	f := newFixture(t)
	r, err := f.worker.CreateRouter(f.ctx, &media.RouterOptions{MediaCodecs: vp9Codecs()})
	if err != nil {
		t.Fatal(err)
	}
	f.router = r
	src := newEndpoint(t)
	in := f.plain(r, src)
	p := must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: vp9Params(1000, mode)}))
	if p.Type() != media.ProducerSVC {
		t.Fatalf("producer type %q, want svc", p.Type())
	}
	return &svcFixture{fixture: f, src: src, in: in, p: p, s: &svcSender{spatial: spatial, ssrc: 1000, seq: 65500, pic: 0x7ff0}}
}

func (f *svcFixture) viewer(t *testing.T, prefer *media.ConsumerLayers) *svcViewer {
	v := &svcViewer{e: newEndpoint(t)}
	v.t = f.plain(f.router, v.e)
	v.c = must[media.Consumer](t)(v.t.Consume(f.ctx, &media.ConsumerOptions{ProducerID: f.p.ID(), RtpCapabilities: vp9Caps(), PreferredLayers: prefer}))
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

// send sends n pictures, the first a key picture if key.
func (f *svcFixture) send(t *testing.T, n int, key bool) {
	for i := range n {
		for _, b := range f.s.picture(t, key && i == 0) {
			f.src.send(f.in.Tuple(), b)
		}
	}
}

func layers(s, t int) *media.ConsumerLayers {
	return &media.ConsumerLayers{SpatialLayer: s, TemporalLayer: &t}
}

// received is what a viewer got: per packet its spatial and temporal
// layer, read from the VP9 descriptor.
type received struct {
	pkt    *rtp.Packet
	d      vp9.Descriptor
	sid    uint8
	tid    uint8
	marker bool
}

func (v *svcViewer) received(t *testing.T) []received {
	t.Helper()
	var out []received
	for _, p := range v.e.packets() {
		r := received{pkt: p, marker: p.Marker}
		if err := vp9.Parse(p.Payload, &r.d); err != nil {
			t.Fatalf("packet %d: %v", p.SequenceNumber, err)
		}
		r.sid, r.tid = r.d.SID, r.d.TID
		if r.sid != p.Payload[len(p.Payload)-2] || r.tid != p.Payload[len(p.Payload)-1] {
			t.Fatalf("descriptor S%dT%d on a packet of S%dT%d", r.sid, r.tid, p.Payload[len(p.Payload)-2], p.Payload[len(p.Payload)-1])
		}
		out = append(out, r)
	}
	return out
}

// checkStream checks that a viewer's packets have sequence numbers
// without gaps and that each picture ends, with the marker bit, at the
// end of its highest forwarded layer frame and nowhere else.
func checkStream(t *testing.T, rs []received) {
	t.Helper()
	for i := 1; i < len(rs); i++ {
		if rs[i].pkt.SequenceNumber != rs[i-1].pkt.SequenceNumber+1 {
			t.Fatalf("packet %d: sequence number %d after %d", i, rs[i].pkt.SequenceNumber, rs[i-1].pkt.SequenceNumber)
		}
	}
	for i, r := range rs {
		last := i == len(rs)-1 || rs[i+1].d.PictureID != r.d.PictureID
		if r.marker != last {
			t.Fatalf("packet %d (picture %d S%d): marker %v, last of its picture %v", i, r.d.PictureID, r.sid, r.marker, last)
		}
		if last && !r.d.End {
			t.Fatalf("picture %d ends inside a layer frame", r.d.PictureID)
		}
	}
}

// maxLayers returns the highest spatial and temporal layers in rs.
func maxLayers(rs []received) (int, int) {
	s, tl := -1, -1
	for _, r := range rs {
		s, tl = max(s, int(r.sid)), max(tl, int(r.tid))
	}
	return s, tl
}

// TestSVCConsumerLayers: each viewer of an L3T3 producer gets the layers
// up to its preferred ones, every picture of those temporal layers, with
// continuous sequence numbers and the marker bit where its highest
// spatial layer ends; a retransmission carries the marker it was sent
// with.
func TestSVCConsumerLayers(t *testing.T) {
	f := newSVCFixture(t, "L3T3", 3)
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
		pictures := map[int]int{0: 10, 1: 20, 2: 40}[tl]
		want := pictures * 2 * (s + 1)
		wait.Until(t, fmt.Sprintf("viewer %d: %d packets", i, want), func() bool { return len(v.e.packets()) >= want })
		rs := v.received(t)
		if len(rs) != want {
			t.Fatalf("viewer %d: %d packets, want %d", i, len(rs), want)
		}
		if gs, gt := maxLayers(rs); gs != s || gt != tl {
			t.Fatalf("viewer %d: up to S%dT%d, want S%dT%d", i, gs, gt, s, tl)
		}
		checkStream(t, rs)
		wait.Until(t, "current layers", func() bool {
			c := v.c.CurrentLayers()
			return c != nil && c.SpatialLayer == s && *c.TemporalLayer == tl
		})
	}
	// A retransmission of a packet whose marker the consumer set.
	v := vs[1]
	rs := v.received(t)
	i := slices.IndexFunc(rs, func(r received) bool { return r.marker })
	lost := rs[i].pkt
	v.e.sendRTCP(v.t.Tuple(), &rtcp.TransportLayerNack{SenderSSRC: 1, MediaSSRC: lost.SSRC, Nacks: []rtcp.NackPair{{PacketID: lost.SequenceNumber}}})
	wait.Until(t, "the retransmission", func() bool { return len(v.e.packets()) > len(rs) })
	if rtx := v.e.packets()[len(rs)]; rtx.SequenceNumber != lost.SequenceNumber || !rtx.Marker || !slices.Equal(rtx.Payload, lost.Payload) {
		t.Fatalf("retransmission seq %d marker %v, first sent as %d with the marker", rtx.SequenceNumber, rtx.Marker, lost.SequenceNumber)
	}
}

// TestSVCConsumerSwitches: in full SVC (L3T3) a spatial up-switch waits
// for a key frame, which the consumer asks for, and a down-switch needs
// none; temporal switches happen at switching points; sequence numbers
// stay continuous and layerschange reports each switch (with the RTCP
// tick after it).
func TestSVCConsumerSwitches(t *testing.T) {
	f := newSVCFixture(t, "L3T3", 3)
	v := f.viewer(t, layers(0, 2))
	f.send(t, 8, true)
	wait.Until(t, "8 pictures at S0", func() bool { return len(v.e.packets()) >= 16 })
	v.waitChange(t, 0, 2)
	f.src.reset()
	if err := v.c.SetPreferredLayers(f.ctx, *layers(2, 2)); err != nil {
		t.Fatal(err)
	}
	f.send(t, 8, false)
	wait.Until(t, "8 more pictures", func() bool { return len(v.e.packets()) >= 32 })
	if s, _ := maxLayers(v.received(t)); s != 0 {
		t.Fatalf("up to S%d before a key frame", s)
	}
	f.send(t, 8, true)
	wait.Until(t, "8 pictures at S2", func() bool { return len(v.e.packets()) >= 32+8*6 })
	if s, _ := maxLayers(v.received(t)[32:]); s != 2 {
		t.Fatalf("up to S%d after the key frame", s)
	}
	v.waitChange(t, 2, 2)
	// The consumer asked for the key frame (the producer's score drops to
	// 0 a second after its last packet, so the test does not wait for
	// the request before sending).
	wait.Until(t, "a key frame request", func() bool { return hasPLI(f.src.rtcpPackets(), 1000) })
	// Down to S1, temporal layer 0, without a key frame: from the next
	// picture on.
	if err := v.c.SetPreferredLayers(f.ctx, *layers(1, 0)); err != nil {
		t.Fatal(err)
	}
	f.send(t, 8, false)
	wait.Until(t, "2 pictures at S1T0", func() bool { return len(v.e.packets()) >= 80+2*4 })
	rs := v.received(t)
	if len(rs) != 88 {
		for _, r := range rs[80:] {
			t.Logf("picture %d S%dT%d", r.d.PictureID, r.sid, r.tid)
		}
		t.Fatalf("%d packets, want 88", len(rs))
	}
	if s, tl := maxLayers(rs[80:]); s != 1 || tl != 0 {
		t.Fatalf("up to S%dT%d after the down-switch", s, tl)
	}
	v.waitChange(t, 1, 0)
	// Back up to temporal layer 2 at S1: at the next switching point.
	if err := v.c.SetPreferredLayers(f.ctx, *layers(1, 2)); err != nil {
		t.Fatal(err)
	}
	f.send(t, 4, false)
	wait.Until(t, "4 pictures at S1T2", func() bool { return len(v.e.packets()) >= 88+4*4 })
	rs = v.received(t)
	if s, tl := maxLayers(rs[88:]); s != 1 || tl != 2 {
		t.Fatalf("up to S%dT%d after the temporal up-switch", s, tl)
	}
	checkStream(t, rs)
	v.waitChange(t, 1, 2)
}

// waitChange waits for layerschange to report spatial, temporal (the
// event comes with the RTCP tick after a switch).
func (v *svcViewer) waitChange(t *testing.T, spatial, temporal int) {
	t.Helper()
	wait.Until(t, fmt.Sprintf("layerschange to S%dT%d", spatial, temporal), func() bool {
		v.mu.Lock()
		defer v.mu.Unlock()
		n := len(v.changes)
		return n > 0 && v.changes[n-1] != nil && v.changes[n-1].SpatialLayer == spatial && *v.changes[n-1].TemporalLayer == temporal
	})
}

// TestKSVCConsumerSwitches: in K-SVC (L3T3_KEY) a viewer gets only its
// spatial layer between key pictures (all up to it at a key picture),
// and a down-switch waits for a key frame too.
func TestKSVCConsumerSwitches(t *testing.T) {
	f := newSVCFixture(t, "L3T3_KEY", 3)
	v := f.viewer(t, layers(2, 2))
	f.send(t, 8, true)
	// The key picture: 6 packets; 7 more of S2 only: 14.
	wait.Until(t, "8 pictures", func() bool { return len(v.e.packets()) >= 6+7*2 })
	rs := v.received(t)
	for i, r := range rs[6:] {
		if r.sid != 2 {
			t.Fatalf("packet %d of a predicted picture: S%d", i+6, r.sid)
		}
	}
	f.src.reset()
	if err := v.c.SetPreferredLayers(f.ctx, *layers(0, 2)); err != nil {
		t.Fatal(err)
	}
	f.send(t, 4, false)
	wait.Until(t, "4 more pictures", func() bool { return len(v.e.packets()) >= 20+4*2 })
	if s, _ := maxLayers(v.received(t)[20:]); s != 2 {
		t.Fatalf("switched to S%d without a key frame", s)
	}
	f.send(t, 4, true)
	wait.Until(t, "4 pictures at S0", func() bool { return len(v.e.packets()) >= 28+4*2 })
	rs = v.received(t)
	if s, _ := maxLayers(rs[28:]); s != 0 || len(rs) != 36 {
		t.Fatalf("after the key frame: up to S%d in %d packets", s, len(rs))
	}
	wait.Until(t, "a key frame request", func() bool { return hasPLI(f.src.rtcpPackets(), 1000) })
	checkStream(t, rs)
}

// TestSendSideBweSVC: two receivers of an L3T3 VP9 producer (30 pictures
// a second: spatial layer 0 one 600-byte packet, 1 two of 900, 2 five
// of 1000; a key picture a second) on their own transports with
// transport-cc feedback. Both reach the top spatial layer; limiting one's
// link to 350 kbit/s makes its SVC consumer step down to spatial layer 0
// (the layers are cumulative: S0 alone is about 150 kbit/s, with S1
// about 580) while the other keeps spatial layer 2, as mediasoup's
// SvcConsumer IncreaseLayer/ApplyLayers do.
func TestSendSideBweSVC(t *testing.T) {
	if testing.Short() {
		t.Skip("takes up to a minute of real time")
	}
	f := newSVCFixture(t, "L3T3", 3)
	caps, twccID := bweCaps(f.router)
	caps.Codecs = []media.RtpCodecCapability{{Kind: media.KindVideo, MimeType: "video/VP9", ClockRate: 90000,
		RtcpFeedback: append(append([]media.RtcpFeedback(nil), videoFeedback...), media.RtcpFeedback{Type: "transport-cc"})}}
	type viewer struct {
		rx *bweReceiver
		c  media.Consumer
	}
	newViewer := func() viewer {
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
		return viewer{rx, c}
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
		for frame := 0; ; frame++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			for _, b := range f.s.pictureSized(t, frame%30 == 0, sizes) {
				f.src.send(f.in.Tuple(), b)
			}
		}
	}()
	t.Cleanup(func() { close(stop); wg.Wait() })
	waitFor(t, "both consumers on spatial layer 2", 60*time.Second, func() bool {
		return spatial(limited.c) == 2 && spatial(free.c) == 2
	})
	limited.rx.limit.Store(350_000)
	waitFor(t, "the limited consumer on spatial layer 0 while the other keeps 2", 30*time.Second, func() bool {
		return spatial(limited.c) == 0 && spatial(free.c) == 2
	})
}
