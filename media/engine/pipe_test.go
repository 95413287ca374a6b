package engine_test

import (
	"bytes"
	"testing"

	"github.com/pion/rtcp"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
)

func TestPipeToRouterAcrossWorkers(t *testing.T) {
	for _, tc := range []struct {
		name       string
		rtx, srtp  bool
		sameWorker bool
	}{
		{name: "workers"},
		{name: "workers-rtx-srtp", rtx: true, srtp: true},
		{name: "same-worker", sameWorker: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testPipe(t, tc.rtx, tc.srtp, tc.sameWorker)
		})
	}
}

func testPipe(t *testing.T, rtx, srtp, sameWorker bool) {
	s := setupForwarding(t, 0, false)
	w2 := s.worker
	if !sameWorker {
		w2 = must[media.Worker](t)(s.api.CreateWorker(s.ctx, nil))
		t.Cleanup(func() { w2.Close(s.ctx) })
	}
	r2 := must[media.Router](t)(w2.CreateRouter(s.ctx, &media.RouterOptions{MediaCodecs: mediaCodecs()}))
	res := must[*media.PipeToRouterResult](t)(s.router.PipeToRouter(s.ctx, &media.PipeToRouterOptions{
		ProducerID: s.producer.ID(), Router: r2, EnableRtx: rtx, EnableSrtp: srtp}))
	if res.PipeProducer.ID() != s.producer.ID() || res.PipeConsumer.Type() != media.ConsumerPipe || res.PipeProducer.Type() != media.ProducerPipe {
		t.Fatalf("pipe producer %s (%s), consumer type %s", res.PipeProducer.ID(), res.PipeProducer.Type(), res.PipeConsumer.Type())
	}
	// A second pipe of the same producer to the same router is a duplicate.
	if _, err := s.router.PipeToRouter(s.ctx, &media.PipeToRouterOptions{ProducerID: s.producer.ID(), Router: r2}); !isErr(err, media.ErrDuplicateID) {
		t.Fatalf("second pipe: %v", err)
	}

	e := newEndpoint(t)
	tr := s.plain(r2, e)
	c := must[media.Consumer](t)(tr.Consume(s.ctx, &media.ConsumerOptions{ProducerID: s.producer.ID(), RtpCapabilities: consumerCaps(false)}))
	s.receivers, s.consumers, s.consumerTransports = []*endpoint{e}, []media.Consumer{c}, []media.PlainTransport{tr}

	sent := s.sendN(t, 30, true)
	got := s.waitReceived(t, 0, 30)
	checkContinuous(t, got)
	for i := range got {
		if !bytes.Equal(got[i].Payload, sent[i][12:]) {
			t.Fatalf("packet %d payload changed", i)
		}
	}
	ssrc := got[0].SSRC
	// The key frame request made when c was created may reach the sender
	// after the first key frame; another one settles it.
	s.sendN(t, 1, true)
	got = s.waitReceived(t, 0, 31)

	// PLI from the far receiver reaches the sender through the pipe.
	s.src.reset()
	e.sendRTCP(tr.Tuple(), &rtcp.PictureLossIndication{MediaSSRC: ssrc})
	wait.Until(t, "PLI through the pipe", func() bool { return hasPLI(s.src.rtcpPackets(), 1111) })

	// NACK is served by the far router's consumer.
	before := len(receivedFrom(e, ssrc))
	e.sendRTCP(tr.Tuple(), &rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: []rtcp.NackPair{{PacketID: got[3].SequenceNumber}}})
	wait.Until(t, "retransmission", func() bool { return len(receivedFrom(e, ssrc)) > before })
	if p := receivedFrom(e, ssrc)[before]; p.SequenceNumber != got[3].SequenceNumber || !bytes.Equal(p.Payload, got[3].Payload) {
		t.Fatalf("retransmitted %d", p.SequenceNumber)
	}

	// SRs reach the far receiver.
	wait.Until(t, "SR", func() bool {
		for _, p := range e.rtcpPackets() {
			if sr, ok := p.(*rtcp.SenderReport); ok && sr.SSRC == ssrc {
				return true
			}
		}
		return false
	})

	// Pause travels through the pipe.
	paused := make(chan struct{}, 1)
	c.OnProducerPause(func() { paused <- struct{}{} })
	if err := s.producer.Pause(s.ctx); err != nil {
		t.Fatal(err)
	}
	<-paused
	if !res.PipeProducer.Paused() {
		t.Fatal("pipe producer not paused")
	}
	if err := s.producer.Resume(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.sendN(t, 10, true)
	got = s.waitReceived(t, 0, 42) // 31, a retransmission, 10
	checkContinuous(t, got[:31])
	checkContinuous(t, got[32:])
	if got[32].SequenceNumber != got[30].SequenceNumber+1 {
		t.Fatalf("not continuous after pause: %d then %d", got[30].SequenceNumber, got[32].SequenceNumber)
	}

	// Closing the source producer closes the chain.
	closed := make(chan struct{})
	c.OnProducerClose(func() { close(closed) })
	if err := s.producer.Close(s.ctx); err != nil {
		t.Fatal(err)
	}
	<-closed
	if !res.PipeConsumer.Closed() || !res.PipeProducer.Closed() || !c.Closed() {
		t.Fatal("pipe chain not closed")
	}
}
