package engine_test

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
)

// Header extension ids as a browser's offer has them (any will do: the
// producer declares them).
const (
	extIDMid  = 4
	extIDRid  = 10
	extIDRrid = 11
)

// ridSender sends one RID encoding as Chromium does: MID and RID (or, for
// RTX, repaired RID) header extensions on every packet while withExt is
// set, then none (Chromium stops once the receiver has reported on the
// SSRC).
type ridSender struct {
	sender
	mid, rid string
	withExt  bool
}

func (s *ridSender) packet(t testing.TB, key bool, size int) []byte {
	t.Helper()
	b := s.sender.packet(t, key, size)
	if !s.withExt {
		return b
	}
	return withRidExt(t, b, s.mid, s.rid, extIDRid)
}

// withRidExt adds the MID (unless empty) and (repaired) RID extensions
// to packet b.
func withRidExt(t testing.TB, b []byte, mid, rid string, ridID uint8) []byte {
	t.Helper()
	var p rtp.Packet
	mustOK(t, p.Unmarshal(b))
	if mid != "" {
		mustOK(t, p.SetExtension(extIDMid, []byte(mid)))
	}
	mustOK(t, p.SetExtension(ridID, []byte(rid)))
	out, err := p.Marshal()
	mustOK(t, err)
	return out
}

// ridParams are the rtpParameters of mediasoup-client's Chrome111 handler
// producing simulcast: a MID, encodings with rid and no ssrc, VP8 with
// RTX, the mid, rid and repaired-rid extensions.
func ridParams(mid string, rids ...string) media.RtpParameters {
	p := media.RtpParameters{
		Mid: mid,
		Codecs: []media.RtpCodecParameters{
			{MimeType: "video/VP8", PayloadType: 101, ClockRate: 90000, RtcpFeedback: videoFeedback},
			{MimeType: "video/rtx", PayloadType: 102, ClockRate: 90000, Parameters: media.Parameters{"apt": 101}},
		},
		HeaderExtensions: []media.RtpHeaderExtensionParameters{
			{URI: media.ExtMid, ID: extIDMid},
			{URI: media.ExtRtpStreamID, ID: extIDRid},
			{URI: media.ExtRepairedRtpStreamID, ID: extIDRrid},
		},
		Rtcp: media.RtcpParameters{CNAME: "chromium"},
	}
	for _, r := range rids {
		p.Encodings = append(p.Encodings, media.RtpEncodingParameters{RID: r})
	}
	return p
}

// TestRidSimulcast sends three RID-only encodings over a PlainTransport,
// as Chromium with mediasoup-client does: the listener learns each SSRC
// from the MID and RID extensions, a simulcast consumer gets the chosen
// layer and switches, and a NACK for a learned SSRC is answered on an RTX
// SSRC learned from the repaired RID.
func TestRidSimulcast(t *testing.T) {
	f := newFixture(t)
	src, dst := newEndpoint(t), newEndpoint(t)
	in, out := f.plain(f.router, src), f.plain(f.router, dst)
	p := must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: ridParams("0", "r0", "r1", "r2")}))
	if p.Type() != media.ProducerSimulcast {
		t.Fatalf("producer type %s", p.Type())
	}
	c := must[media.Consumer](t)(out.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: consumerCaps(true)}))
	if c.Type() != media.ConsumerSimulcast || c.PreferredLayers().SpatialLayer != 2 {
		t.Fatalf("consumer type %s preferred %+v", c.Type(), c.PreferredLayers())
	}
	layers := make(chan *media.ConsumerLayers, 8)
	c.OnLayersChange(func(l *media.ConsumerLayers) { trySend(layers, l) })

	enc := []*ridSender{
		{sender: sender{ssrc: 0x1111, pt: 101, seq: 100}, mid: "0", rid: "r0", withExt: true},
		{sender: sender{ssrc: 0x2222, pt: 101, seq: 2000, ts: 5000}, mid: "0", rid: "r1", withExt: true},
		{sender: sender{ssrc: 0x3333, pt: 101, seq: 30000, ts: 9000}, mid: "0", rid: "r2", withExt: true},
	}
	sent := make([][][]byte, 3)
	round := func(key bool) {
		for i, e := range enc {
			b := e.packet(t, key, 100*(i+1))
			sent[i] = append(sent[i], b)
			src.send(in.Tuple(), b)
		}
	}
	for i := 0; i < 5; i++ {
		round(i == 0)
	}
	// From now on the SSRC table alone routes them.
	for _, e := range enc {
		e.withExt = false
	}
	for i := 0; i < 5; i++ {
		round(false)
	}
	ssrc := c.RtpParameters().Encodings[0].SSRC
	got := func() []*rtp.Packet { return receivedFrom(dst, ssrc) }
	wait.Until(t, "layer 2", func() bool { return len(got()) >= 10 })
	recvUntil(t, "layerschange to 2", layers, func(l *media.ConsumerLayers) bool { return l != nil && l.SpatialLayer == 2 })
	var ridCap, midCap int
	for _, e := range f.router.RtpCapabilities().HeaderExtensions {
		switch {
		case e.URI == media.ExtRtpStreamID && e.Kind == media.KindVideo:
			ridCap = e.PreferredID
		case e.URI == media.ExtMid && e.Kind == media.KindVideo:
			midCap = e.PreferredID
		}
	}
	for i, pk := range got()[:10] {
		if !bytes.Equal(pk.Payload, payloadOf(t, sent[2][i])) {
			t.Fatalf("packet %d is not from layer 2", i)
		}
		// The RID names a producer stream and the MID the sender's
		// m-section: consumers get neither.
		if ridCap == 0 || midCap == 0 || pk.GetExtension(uint8(ridCap)) != nil || pk.GetExtension(uint8(midCap)) != nil {
			t.Fatalf("packet %d carries a RID or MID (router ids %d, %d): %v", i, ridCap, midCap, pk.GetExtensionIDs())
		}
	}

	// The producer's streams carry the learned SSRCs and their rids.
	stats := must[[]media.RtpStreamStats](t)(p.GetStats(f.ctx))
	if len(stats) != 3 {
		t.Fatalf("producer stats: %d streams, want 3: %+v", len(stats), stats)
	}
	for i, st := range stats {
		if st.SSRC != enc[i].ssrc || st.RID != enc[i].rid || st.PacketCount != 10 {
			t.Errorf("stream %d: ssrc %#x rid %q packets %d, want %#x %q 10", i, st.SSRC, st.RID, st.PacketCount, enc[i].ssrc, enc[i].rid)
		}
	}
	d := must[*media.ProducerDump](t)(p.Dump(f.ctx))
	for i, s := range d.RtpStreams {
		if s.Params.SSRC != enc[i].ssrc || s.Params.RID != enc[i].rid || s.Params.EncodingIdx != i {
			t.Errorf("dump stream %d: %+v", i, s.Params)
		}
	}
	td := must[*media.TransportDump](t)(in.Dump(f.ctx))
	if !slices.Contains(td.RtpListener.MidTable, media.KeyValue{Key: "0", Value: p.ID()}) ||
		len(td.RtpListener.RidTable) != 3 || len(td.RtpListener.SsrcTable) != 3 {
		t.Errorf("rtpListener %+v", td.RtpListener)
	}

	// Switch down to layer 0 at its next key frame.
	mustOK(t, c.SetPreferredLayers(f.ctx, media.ConsumerLayers{SpatialLayer: 0}))
	round(false)
	round(true)
	wait.Until(t, "layer 0", func() bool { return len(got()) >= 12 })
	recvUntil(t, "layerschange to 0", layers, func(l *media.ConsumerLayers) bool { return l != nil && l.SpatialLayer == 0 })
	pkts := got()
	checkContinuous(t, pkts)
	if !bytes.Equal(pkts[11].Payload, payloadOf(t, sent[0][len(sent[0])-1])) {
		t.Fatal("after the switch the consumer does not get layer 0")
	}

	// Layer 0 loses a packet: the producer NACKs it on the learned SSRC,
	// the sender repairs it on an RTX SSRC named by the repaired RID, and
	// the consumer gets it.
	lost := enc[0].packet(t, false, 100)
	lostSeq := enc[0].seq - 1
	round(false)
	var nacked bool
	wait.Until(t, "NACK for the lost packet", func() bool {
		for _, pk := range src.rtcpPackets() {
			if n, ok := pk.(*rtcp.TransportLayerNack); ok && n.MediaSSRC == enc[0].ssrc {
				for _, pair := range n.Nacks {
					nacked = nacked || slices.Contains(pair.PacketList(), lostSeq)
				}
			}
		}
		return nacked
	})
	rtxPayload := binary.BigEndian.AppendUint16(nil, lostSeq)
	rtxPayload = append(rtxPayload, payloadOf(t, lost)...)
	rtxPkt, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 102, SequenceNumber: 7, Timestamp: rtp.Header{}.Timestamp,
		SSRC: 0x4444}, Payload: rtxPayload}).Marshal()
	mustOK(t, err)
	src.send(in.Tuple(), withRidExt(t, rtxPkt, "0", "r0", extIDRrid))
	wait.Until(t, "the repaired packet at the consumer", func() bool {
		for _, pk := range got() {
			if bytes.Equal(pk.Payload, payloadOf(t, lost)) {
				return true
			}
		}
		return false
	})
	stats = must[[]media.RtpStreamStats](t)(p.GetStats(f.ctx))
	if stats[0].RtxSSRC != 0x4444 || stats[0].PacketsRetransmitted != 1 || stats[0].NackCount == 0 {
		t.Errorf("stream 0 after repair: rtxSsrc %#x retransmitted %d nacks %d", stats[0].RtxSSRC, stats[0].PacketsRetransmitted, stats[0].NackCount)
	}
}

// TestRidListenerRules checks that packets the listener cannot place are
// dropped: an unknown MID or RID, RTX before its media stream, a second
// SSRC for a RID already learned.
func TestRidListenerRules(t *testing.T) {
	f := newFixture(t)
	src, dst := newEndpoint(t), newEndpoint(t)
	in, out := f.plain(f.router, src), f.plain(f.router, dst)
	p := must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: ridParams("v", "a", "b")}))
	must[media.Consumer](t)(out.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: consumerCaps(true),
		PreferredLayers: &media.ConsumerLayers{SpatialLayer: 0}}))
	send := func(ssrc uint32, pt uint8, mid, rid string, ridID uint8) {
		s := &sender{ssrc: ssrc, pt: pt, seq: 1}
		payload := s.packet(t, true, 50)
		if pt == 102 { // RTX: OSN first
			pl := append([]byte{0, 1}, payloadOf(t, payload)...)
			payload, _ = (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: 1, SSRC: ssrc}, Payload: pl}).Marshal()
		}
		src.send(in.Tuple(), withRidExt(t, payload, mid, rid, ridID))
	}
	send(1, 102, "v", "a", extIDRrid) // RTX before media: dropped
	send(2, 101, "x", "zz", extIDRid) // unknown MID and RID
	send(3, 101, "v", "zz", extIDRid) // known MID, unknown RID
	send(4, 101, "v", "a", extIDRid)  // learned
	send(5, 101, "v", "a", extIDRid)  // a second SSRC for "a": dropped
	send(6, 101, "", "b", extIDRid)   // RID alone picks the producer
	wait.Until(t, "two streams", func() bool {
		st := must[[]media.RtpStreamStats](t)(p.GetStats(f.ctx))
		return len(st) == 2
	})
	st := must[[]media.RtpStreamStats](t)(p.GetStats(f.ctx))
	if st[0].SSRC != 4 || st[0].RtxSSRC != 0 || st[1].SSRC != 6 {
		t.Fatalf("streams %+v", st)
	}
	td := must[*media.TransportDump](t)(in.Dump(f.ctx))
	if len(td.RtpListener.SsrcTable) != 2 {
		t.Fatalf("ssrc table %+v", td.RtpListener.SsrcTable)
	}
	mustOK(t, p.Close(f.ctx))
	td = must[*media.TransportDump](t)(in.Dump(f.ctx))
	if len(td.RtpListener.SsrcTable)+len(td.RtpListener.MidTable)+len(td.RtpListener.RidTable) != 0 {
		t.Fatalf("listener after close %+v", td.RtpListener)
	}
}

// TestRidValidation checks mediasoup's rules on producer encodings and
// the MID/RID uniqueness in a transport.
func TestRidValidation(t *testing.T) {
	f := newFixture(t)
	in := f.plain(f.router, newEndpoint(t))
	produce := func(params media.RtpParameters) error {
		_, err := in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params})
		return err
	}
	noID := ridParams("m", "a", "")
	oneBare := ridParams("", "")
	dupRid := ridParams("m", "a", "a")
	for name, params := range map[string]media.RtpParameters{"no ssrc nor rid": noID, "one bare encoding without mid": oneBare, "duplicate rid": dupRid} {
		if err := produce(params); !isErr(err, media.ErrInvalidParams) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// One encoding with neither, but a MID, is fine (MID-only routing).
	mustOK(t, produce(ridParams("solo", "")))
	mustOK(t, produce(ridParams("1", "a", "b")))
	if err := produce(ridParams("1", "c")); !isErr(err, media.ErrInvalidParams) {
		t.Errorf("duplicate mid: %v", err)
	}
	// A RID another producer has: fine with a MID, an error without.
	mustOK(t, produce(ridParams("2", "a")))
	if err := produce(ridParams("", "b", "z")); !isErr(err, media.ErrInvalidParams) {
		t.Errorf("duplicate rid without mid: %v", err)
	}
}

// payloadOf is the payload of RTP packet b.
func payloadOf(t testing.TB, b []byte) []byte {
	t.Helper()
	var p rtp.Packet
	mustOK(t, p.Unmarshal(b))
	return p.Payload
}

// TestProducerCNAME checks mediasoup's rule: the producers of a
// (non-pipe) transport share one CNAME, the first one given or a random
// one. RID simulcast from Chromium signals none, and consumers need one.
func TestProducerCNAME(t *testing.T) {
	f := newFixture(t)
	a, b := f.plain(f.router, newEndpoint(t)), f.plain(f.router, newEndpoint(t))
	produce := func(tr media.Transport, params media.RtpParameters) string {
		p := must[media.Producer](t)(tr.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))
		return p.RtpParameters().Rtcp.CNAME
	}
	noCNAME := ridParams("0", "r0", "r1")
	noCNAME.Rtcp.CNAME = ""
	generated := produce(a, noCNAME)
	if generated == "" {
		t.Fatal("no CNAME generated")
	}
	if got := produce(a, ridParams("1", "x")); got != generated {
		t.Errorf("second producer's CNAME %q, want the transport's %q", got, generated)
	}
	if got := produce(b, ridParams("0", "r0")); got != "chromium" {
		t.Errorf("CNAME %q, want the first given (chromium)", got)
	}
}
