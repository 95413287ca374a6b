package engine_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
)

// fixtureWith is newFixture with opts.
func fixtureWith(t *testing.T, opts *engine.Options) *fixture {
	t.Helper()
	ctx := context.Background()
	api := engine.New(opts)
	w := must[media.Worker](t)(api.CreateWorker(ctx, nil))
	t.Cleanup(func() { w.Close(ctx) })
	r := must[media.Router](t)(w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: mediaCodecs()}))
	return &fixture{t: t, ctx: ctx, api: api, worker: w, router: r}
}

// TestForwardingPerSocketReaders: with Options.PerSocketReaders (the
// path of platforms without the event loop) packets are forwarded, and
// RTCP reports are sent, as on the loop.
func TestForwardingPerSocketReaders(t *testing.T) {
	f := fixtureWith(t, &engine.Options{PerSocketReaders: true, RTCPInterval: 50 * time.Millisecond})
	src, dst := newEndpoint(t), newEndpoint(t)
	in := f.plain(f.router, src)
	p := must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: vp8Params(1111)}))
	out := f.plain(f.router, dst)
	c := must[media.Consumer](t)(out.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: consumerCaps(false)}))
	snd := &sender{ssrc: 1111, pt: 101}
	for i := range 20 {
		src.send(in.Tuple(), snd.packet(t, i == 0, 500))
	}
	ssrc := c.RtpParameters().Encodings[0].SSRC
	wait.Until(t, "20 packets forwarded", func() bool { return len(receivedFrom(dst, ssrc)) == 20 })
	wait.Until(t, "a receiver report to the producer's sender", func() bool { return len(src.rtcpPackets()) > 0 })
}

// TestTransportsCloseUnderTraffic: consumer transports on the worker's
// event loop close while their producer's packets stream in, some from
// the test, one from its own "tuple" listener (which runs on the loop,
// while its packet is being handled); the consumers left get every
// packet sent after the closes, and the worker closes cleanly (goleak).
func TestTransportsCloseUnderTraffic(t *testing.T) {
	f := newFixture(t)
	src := newEndpoint(t)
	in := f.plain(f.router, src)
	p := must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: vp8Params(1111)}))
	const n = 12
	dsts := make([]*endpoint, n)
	outs := make([]media.PlainTransport, n)
	cs := make([]media.Consumer, n)
	for i := range n {
		dsts[i] = newEndpoint(t)
		outs[i] = f.plain(f.router, dsts[i])
		cs[i] = must[media.Consumer](t)(outs[i].Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: consumerCaps(false)}))
	}
	// A comedia transport that closes itself from its "tuple" event,
	// fired on the loop by the first packet it receives.
	self := must[media.PlainTransport](t)(f.router.CreatePlainTransport(f.ctx, &media.PlainTransportOptions{
		ListenInfo: &media.TransportListenInfo{IP: lo}, Comedia: true}))
	var selfClosed atomic.Bool
	self.OnTuple(func(media.TransportTuple) {
		_ = self.Close(f.ctx)
		selfClosed.Store(true)
	})

	snd := &sender{ssrc: 1111, pt: 101}
	var sndMu sync.Mutex
	var sent atomic.Int64
	sendOne := func(key bool) {
		sndMu.Lock()
		b := snd.packet(t, key, 800)
		sent.Add(1)
		sndMu.Unlock()
		src.send(in.Tuple(), b)
	}
	// The key frame goes first, alone: a packet sent before it would be
	// dropped by the consumers (they start at a key frame), and one sent
	// concurrently could arrive ahead of an older one.
	sendOne(true)
	ssrc0 := cs[0].RtpParameters().Encodings[0].SSRC
	wait.Until(t, "the key frame reaches the consumers", func() bool { return len(receivedFrom(dsts[0], ssrc0)) == 1 })
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			sendOne(false)
			time.Sleep(200 * time.Microsecond)
		}
	})
	wait.Until(t, "traffic reaches the consumers", func() bool { return len(receivedFrom(dsts[0], ssrc0)) > 10 })
	other := newEndpoint(t)
	// A sender of its own: snd is the traffic goroutine's.
	other.send(self.Tuple(), (&sender{ssrc: 2222, pt: 101}).packet(t, false, 100))
	for i := n / 2; i < n; i++ {
		if err := outs[i].Close(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	wait.Until(t, "the comedia transport closed itself", func() bool { return selfClosed.Load() && self.Closed() })
	close(stop)
	wg.Wait()
	// The consumers left got every packet, before, during and after the
	// closes.
	for range 30 {
		sendOne(false)
	}
	total := int(sent.Load())
	for i := range n / 2 {
		ssrc := cs[i].RtpParameters().Encodings[0].SSRC
		wait.Until(t, "every packet at the consumers left", func() bool { return len(receivedFrom(dsts[i], ssrc)) >= total })
		if got := len(receivedFrom(dsts[i], ssrc)); got != total {
			t.Fatalf("consumer %d got %d packets, %d sent", i, got, total)
		}
	}
	for i := n / 2; i < n; i++ {
		if !cs[i].Closed() {
			t.Fatalf("consumer %d open after its transport closed", i)
		}
	}
}
