package mediaclient_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/ropehq/rope/internal/cuttest"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediatest"
	"github.com/ropehq/rope/ropeclient"
)

// TestRtpAfterReconnect: a consumer's OnRtp subscribes its connection to
// the packets; after the connection is cut and made again the client
// subscribes again and packets flow; removing the last listener ends the
// subscription on the server.
func TestRtpAfterReconnect(t *testing.T) {
	srv := startServer(t, nil)
	a, _ := srv.dial(t, nil)
	var cut cuttest.Cutter
	b, brc := srv.dial(t, &ropeclient.Options{HTTPClient: cut.Client(), MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})
	ctx := ctxT(t)
	w := must[media.Worker](t)(a.CreateWorker(ctx, nil))
	r := must[media.Router](t)(w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: codecs}))
	src := must[media.DirectTransport](t)(r.CreateDirectTransport(ctx, nil))
	dst := must[media.DirectTransport](t)(r.CreateDirectTransport(ctx, nil))
	p := must[media.Producer](t)(src.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(4242)}))
	c := must[media.Consumer](t)(dst.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: mediatest.EndpointCaps()}))

	bc := mirrorOf[media.Consumer](t, b, c.ID())
	var got atomic.Int64
	off := bc.OnRtp(func([]byte) { got.Add(1) })
	if n := srv.media.PacketSubscriptions(); n != 1 {
		t.Fatalf("%d subscriptions after OnRtp", n)
	}
	snd := &mediatest.VP8Sender{SSRC: 4242, PT: 101}
	sendUntil := func(what string, n int64) {
		t.Helper()
		wait.Until(t, what, func() bool {
			if err := p.Send(snd.Next(t, true, 300)); err != nil {
				t.Fatal(err)
			}
			return got.Load() >= n
		})
	}
	sendUntil("a packet at B", 1)

	disconnected := make(chan struct{}, 1)
	brc.OnDisconnected(func(error) {
		select {
		case disconnected <- struct{}{}:
		default:
		}
	})
	cut.Cut()
	<-disconnected
	wait.Until(t, "B reconnects", func() bool { return brc.ReadyState() == ropeclient.Connected })
	sendUntil("a packet at B after the reconnection", got.Load()+1)

	off()
	wait.Until(t, "the subscription ended", func() bool { return srv.media.PacketSubscriptions() == 0 })
}

// BenchmarkDirectRtp sends RTP packets of 1,000 bytes of payload through
// Producer.Send over ROPE (one call each, in order) to a consumer whose
// OnRtp this client subscribed to, and waits for them all: packets per
// second through the server and back.
func BenchmarkDirectRtp(b *testing.B) {
	srv := startServer(b, nil)
	api, _ := srv.dial(b, nil)
	ctx := ctxT(b)
	w := must[media.Worker](b)(api.CreateWorker(ctx, nil))
	r := must[media.Router](b)(w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: codecs}))
	src := must[media.DirectTransport](b)(r.CreateDirectTransport(ctx, nil))
	dst := must[media.DirectTransport](b)(r.CreateDirectTransport(ctx, nil))
	p := must[media.Producer](b)(src.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(77)}))
	c := must[media.Consumer](b)(dst.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
	var got atomic.Int64
	c.OnRtp(func([]byte) { got.Add(1) })
	snd := &mediatest.VP8Sender{SSRC: 77, PT: 101}
	pkts := make([][]byte, 64)
	for i := range pkts {
		pkts[i] = snd.Next(b, i == 0, 1000)
	}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if err := p.Send(pkts[i%len(pkts)]); err != nil {
			b.Fatal(err)
		}
	}
	wait.Until(b, "every packet", func() bool { return got.Load() >= int64(b.N) })
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pkts/s")
}
