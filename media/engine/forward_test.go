package engine_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
)

// receivedFrom returns e's packets with ssrc.
func receivedFrom(e *endpoint, ssrc uint32) []*rtp.Packet {
	var out []*rtp.Packet
	for _, p := range e.packets() {
		if p.SSRC == ssrc {
			out = append(out, p)
		}
	}
	return out
}

func checkContinuous(t *testing.T, pkts []*rtp.Packet) {
	t.Helper()
	for i := 1; i < len(pkts); i++ {
		if pkts[i].SequenceNumber != pkts[i-1].SequenceNumber+1 {
			t.Fatalf("sequence gap at %d: %d then %d", i, pkts[i-1].SequenceNumber, pkts[i].SequenceNumber)
		}
	}
}

type mediaSetup struct {
	*fixture
	src       *endpoint
	snd       *sender
	prodTr    media.PlainTransport
	producer  media.Producer
	receivers []*endpoint
	consumers []media.Consumer
	// consumerTransports[i] carries consumers[i].
	consumerTransports []media.PlainTransport
}

// setupForwarding builds one VP8 producer on a plain transport and n
// consumers on their own plain transports.
func setupForwarding(t *testing.T, n int, rtx bool) *mediaSetup {
	t.Helper()
	f := newFixture(t)
	s := &mediaSetup{fixture: f, src: newEndpoint(t), snd: &sender{ssrc: 1111, pt: 101, seq: 65000}}
	s.prodTr = f.plain(f.router, s.src)
	s.producer = must[media.Producer](t)(s.prodTr.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: vp8Params(1111)}))
	for i := 0; i < n; i++ {
		e := newEndpoint(t)
		tr := f.plain(f.router, e)
		c := must[media.Consumer](t)(tr.Consume(f.ctx, &media.ConsumerOptions{ProducerID: s.producer.ID(), RtpCapabilities: consumerCaps(rtx)}))
		s.receivers = append(s.receivers, e)
		s.consumers = append(s.consumers, c)
		s.consumerTransports = append(s.consumerTransports, tr)
	}
	return s
}

// sendN sends n packets (the first a key frame if key) and returns them.
func (s *mediaSetup) sendN(t *testing.T, n int, key bool) [][]byte {
	var sent [][]byte
	for i := 0; i < n; i++ {
		b := s.snd.packet(t, key && i == 0, 1000)
		sent = append(sent, b)
		s.src.send(s.prodTr.Tuple(), b)
	}
	return sent
}

func (s *mediaSetup) waitReceived(t *testing.T, i, n int) []*rtp.Packet {
	t.Helper()
	ssrc := s.consumers[i].RtpParameters().Encodings[0].SSRC
	wait.Until(t, "consumer packets", func() bool { return len(receivedFrom(s.receivers[i], ssrc)) >= n })
	return receivedFrom(s.receivers[i], ssrc)
}

func TestPlainForwarding(t *testing.T) {
	s := setupForwarding(t, 3, false)
	sent := s.sendN(t, 40, true)
	for i, c := range s.consumers {
		params := c.RtpParameters()
		got := s.waitReceived(t, i, len(sent))
		if len(got) != len(sent) {
			t.Fatalf("consumer %d: got %d packets, want %d", i, len(got), len(sent))
		}
		checkContinuous(t, got)
		for j, p := range got {
			var orig rtp.Packet
			if err := orig.Unmarshal(sent[j]); err != nil {
				t.Fatal(err)
			}
			if p.PayloadType != uint8(params.Codecs[0].PayloadType) || p.SSRC == orig.SSRC {
				t.Fatalf("consumer %d packet %d: pt %d ssrc %d", i, j, p.PayloadType, p.SSRC)
			}
			if !bytes.Equal(p.Payload, orig.Payload) || p.Timestamp != orig.Timestamp || p.Marker != orig.Marker {
				t.Fatalf("consumer %d packet %d: payload or timestamp changed", i, j)
			}
		}
	}
	stats := must[[]media.RtpStreamStats](t)(s.consumers[0].GetStats(s.ctx))
	if stats[0].Type != "outbound-rtp" || stats[0].PacketCount != 40 || stats[1].Type != "inbound-rtp" || stats[1].PacketCount != 40 {
		t.Fatalf("stats = %+v", stats)
	}
	// The consumers' queues went out: their buffers are back in the
	// worker's pool, which allocated at most a queue's worth for each.
	waitOutBuffersBack(t, s.worker)
	if made, _ := engine.OutBuffers(s.worker); made > 3*16 {
		t.Errorf("the pool made %d buffers for 3 consumers", made)
	}
	if engine.SendRingAvailable() && engine.RingSent(s.worker) == 0 {
		t.Error("no packet went through the worker's send ring (io_uring works here)")
	}
}

// With NoSendRing every consumer sends with a system call of its own,
// and forwarding is the same.
func TestPlainForwardingWithoutSendRing(t *testing.T) {
	f := newFixtureWith(t, &engine.Options{NoSendRing: true})
	s := &mediaSetup{fixture: f, src: newEndpoint(t), snd: &sender{ssrc: 1111, pt: 101, seq: 65000}}
	s.prodTr = f.plain(f.router, s.src)
	s.producer = must[media.Producer](t)(s.prodTr.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: vp8Params(1111)}))
	e := newEndpoint(t)
	s.receivers = append(s.receivers, e)
	s.consumers = append(s.consumers, must[media.Consumer](t)(f.plain(f.router, e).Consume(f.ctx, &media.ConsumerOptions{ProducerID: s.producer.ID(), RtpCapabilities: consumerCaps(false)})))
	sent := s.sendN(t, 40, true)
	got := s.waitReceived(t, 0, len(sent))
	checkContinuous(t, got)
	if n := engine.RingSent(f.worker); n != 0 {
		t.Errorf("%d packets went through the send ring, which NoSendRing turns off", n)
	}
}

func TestPauseResumeContinuity(t *testing.T) {
	s := setupForwarding(t, 2, false)
	c := s.consumers[0]
	var producerPaused, producerResumed int
	c.OnProducerPause(func() { producerPaused++ })
	c.OnProducerResume(func() { producerResumed++ })

	s.sendN(t, 10, true)
	s.waitReceived(t, 0, 10)
	if err := c.Pause(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.sendN(t, 10, true)
	s.waitReceived(t, 1, 20) // the other consumer still gets them
	s.src.reset()
	if err := c.Resume(s.ctx); err != nil {
		t.Fatal(err)
	}
	// Resume asks the sender for a key frame.
	wait.Until(t, "PLI after resume", func() bool { return hasPLI(s.src.rtcpPackets(), 1111) })
	s.sendN(t, 3, false) // no key frame: held back
	s.sendN(t, 10, true)
	got := s.waitReceived(t, 0, 20)
	if len(got) != 20 {
		t.Fatalf("got %d packets, want 20", len(got))
	}
	checkContinuous(t, got)

	// Producer pause/resume: events and continuity.
	if err := s.producer.Pause(s.ctx); err != nil {
		t.Fatal(err)
	}
	if !c.ProducerPaused() || producerPaused != 1 {
		t.Fatalf("producerPaused = %v, events %d", c.ProducerPaused(), producerPaused)
	}
	s.sendN(t, 5, true)
	s.waitProducerPackets(t, 38)
	if err := s.producer.Resume(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.sendN(t, 5, true)
	got = s.waitReceived(t, 0, 25)
	if len(got) != 25 || producerResumed != 1 {
		t.Fatalf("got %d packets, resume events %d", len(got), producerResumed)
	}
	checkContinuous(t, got)
}

// waitProducerPackets waits until the producer has received n packets.
func (s *mediaSetup) waitProducerPackets(t *testing.T, n uint64) {
	t.Helper()
	wait.Until(t, "producer packets", func() bool {
		st, err := s.producer.GetStats(s.ctx)
		return err == nil && st[0].PacketCount >= n
	})
}

func hasPLI(pkts []rtcp.Packet, mediaSSRC uint32) bool {
	for _, p := range pkts {
		if pli, ok := p.(*rtcp.PictureLossIndication); ok && pli.MediaSSRC == mediaSSRC {
			return true
		}
	}
	return false
}

func TestRTCPFeedback(t *testing.T) {
	s := setupForwarding(t, 2, false)
	s.sendN(t, 20, true)
	got := s.waitReceived(t, 0, 20)
	consumerSSRC := got[0].SSRC

	// Sender reports reach the receiver, receiver reports the sender.
	wait.Until(t, "SR for the consumer", func() bool {
		for _, p := range s.receivers[0].rtcpPackets() {
			if sr, ok := p.(*rtcp.SenderReport); ok && sr.SSRC == consumerSSRC && sr.PacketCount == 20 {
				return true
			}
		}
		return false
	})
	wait.Until(t, "RR for the producer", func() bool {
		for _, p := range s.src.rtcpPackets() {
			if rr, ok := p.(*rtcp.ReceiverReport); ok && len(rr.Reports) > 0 && rr.Reports[0].SSRC == 1111 {
				return true
			}
		}
		return false
	})

	// A PLI from the receiver reaches the sender.
	s.src.reset()
	recvTr := s.consumerTransports[0].Tuple()
	s.receivers[0].sendRTCP(recvTr, &rtcp.PictureLossIndication{SenderSSRC: 9, MediaSSRC: consumerSSRC})
	wait.Until(t, "PLI at the sender", func() bool { return hasPLI(s.src.rtcpPackets(), 1111) })

	// A NACKed packet is retransmitted with its original number and payload.
	lost := got[7]
	before := len(receivedFrom(s.receivers[0], consumerSSRC))
	s.receivers[0].sendRTCP(recvTr, &rtcp.TransportLayerNack{SenderSSRC: 9, MediaSSRC: consumerSSRC,
		Nacks: []rtcp.NackPair{{PacketID: lost.SequenceNumber}}})
	wait.Until(t, "retransmission", func() bool { return len(receivedFrom(s.receivers[0], consumerSSRC)) > before })
	rtxd := receivedFrom(s.receivers[0], consumerSSRC)[before]
	if rtxd.SequenceNumber != lost.SequenceNumber || !bytes.Equal(rtxd.Payload, lost.Payload) {
		t.Fatalf("retransmitted seq %d, want %d", rtxd.SequenceNumber, lost.SequenceNumber)
	}
	stats := must[[]media.RtpStreamStats](t)(s.consumers[0].GetStats(s.ctx))
	if stats[0].PacketsRetransmitted != 1 || stats[0].NackCount != 1 || stats[0].PliCount != 1 {
		t.Fatalf("stats = %+v", stats[0])
	}
}

func TestScoreEvents(t *testing.T) {
	s := setupForwarding(t, 1, false)
	producerScores := make(chan []media.ProducerScore, 16)
	consumerScores := make(chan media.ConsumerScore, 16)
	s.producer.OnScore(func(sc []media.ProducerScore) { trySend(producerScores, sc) })
	s.consumers[0].OnScore(func(sc media.ConsumerScore) { trySend(consumerScores, sc) })
	s.sendN(t, 5, true)
	recvUntil(t, "producer score 10", producerScores, func(sc []media.ProducerScore) bool {
		return sc[0].Score == 10 && sc[0].SSRC == 1111
	})
	recvUntil(t, "consumer score 10", consumerScores, func(sc media.ConsumerScore) bool {
		return sc.Score == 10 && sc.ProducerScore == 10 && len(sc.ProducerScores) == 1
	})
}

// recvUntil receives from ch until ok holds, failing after a deadline.
func recvUntil[T any](t *testing.T, what string, ch <-chan T, ok func(T) bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case v := <-ch:
			if ok(v) {
				return
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// trySend never blocks the engine goroutine emitting an event.
func trySend[T any](ch chan<- T, v T) {
	select {
	case ch <- v:
	default:
	}
}

func TestHeaderExtensionsMapped(t *testing.T) {
	f := newFixture(t)
	src, dst := newEndpoint(t), newEndpoint(t)
	in, out := f.plain(f.router, src), f.plain(f.router, dst)
	params := vp8Params(31)
	// The producer uses id 9 for abs-send-time; the router's id differs.
	params.HeaderExtensions = []media.RtpHeaderExtensionParameters{{URI: media.ExtAbsSendTime, ID: 9}}
	p := must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))
	caps := consumerCaps(false)
	var routerID int
	for _, e := range f.router.RtpCapabilities().HeaderExtensions {
		if e.URI == media.ExtAbsSendTime && e.Kind == media.KindVideo {
			routerID = e.PreferredID
			caps.HeaderExtensions = append(caps.HeaderExtensions, e)
		}
	}
	c := must[media.Consumer](t)(out.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps}))
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, SSRC: 31}, Payload: []byte{0x10, 0, 1, 2}}
	if err := pkt.SetExtension(9, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if err := pkt.SetExtension(12, []byte{7}); err != nil { // undeclared: dropped
		t.Fatal(err)
	}
	b, _ := pkt.Marshal()
	src.send(in.Tuple(), b)
	ssrc := c.RtpParameters().Encodings[0].SSRC
	wait.Until(t, "packet", func() bool { return len(receivedFrom(dst, ssrc)) == 1 })
	got := receivedFrom(dst, ssrc)[0]
	// The element is at the router's id; its value is the consumer's send
	// time (abs_send_time.go).
	if ext := got.GetExtension(uint8(routerID)); len(ext) != 3 || got.GetExtension(12) != nil {
		t.Fatalf("extensions %v (router id %d)", got.GetExtensionIDs(), routerID)
	}
}

func TestProducerNacksLoss(t *testing.T) {
	s := setupForwarding(t, 1, false)
	var lost []byte
	for i := 0; i < 16; i++ {
		b := s.snd.packet(t, i == 0, 300)
		if i == 10 {
			lost = b
			continue
		}
		s.src.send(s.prodTr.Tuple(), b)
	}
	lostSeq := rtppktSeq(lost)
	wait.Until(t, "NACK at the sender", func() bool {
		for _, p := range s.src.rtcpPackets() {
			if n, ok := p.(*rtcp.TransportLayerNack); ok && n.MediaSSRC == 1111 && len(n.Nacks) == 1 && n.Nacks[0].PacketID == lostSeq {
				return true
			}
		}
		return false
	})
	s.src.send(s.prodTr.Tuple(), lost) // the sender retransmits
	got := s.waitReceived(t, 0, 16)
	if last := got[15]; last.SequenceNumber != got[9].SequenceNumber+1 || !bytes.Equal(last.Payload, lost[12:]) {
		t.Fatalf("recovered packet seq %d, want %d", last.SequenceNumber, got[9].SequenceNumber+1)
	}
	st := must[[]media.RtpStreamStats](t)(s.producer.GetStats(s.ctx))
	if st[0].NackCount == 0 || st[0].NackPacketCount == 0 || st[0].PacketsLost != 0 {
		t.Fatalf("producer stats %+v", st[0])
	}
}

func rtppktSeq(b []byte) uint16 { return uint16(b[2])<<8 | uint16(b[3]) }
