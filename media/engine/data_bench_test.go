package engine_test

import (
	"bytes"
	"sync/atomic"
	"testing"
	"time"

	pion "github.com/pion/webrtc/v4"

	"github.com/ropehq/rope/internal/peertest"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
)

// dataSink counts the messages that reach the end of a data path and
// wakes a waiting sender.
type dataSink struct {
	n    atomic.Int64
	wake chan struct{}
}

func newDataSink() *dataSink { return &dataSink{wake: make(chan struct{}, 1)} }

func (s *dataSink) arrived() {
	s.n.Add(1)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// waitFor blocks until n messages arrived, or fails after 30 s.
func (s *dataSink) waitFor(b *testing.B, n int64) {
	// Generous: a datagram lost on a loaded machine waits for SCTP's
	// retransmission timeout (seconds).
	deadline := time.After(30 * time.Second)
	for s.n.Load() < n {
		select {
		case <-s.wake:
		case <-deadline:
			b.Fatalf("%d of %d messages arrived", s.n.Load(), n)
		}
	}
}

// dataPath is how a direct data producer's messages reach a sink.
type dataPath func(b *testing.B, f *fixture, dp media.DataProducer, sink *dataSink)

// directPath: a direct data consumer of the same router (no SCTP).
func directPath(b *testing.B, f *fixture, dp media.DataProducer, sink *dataSink) {
	d := must[media.DirectTransport](b)(f.router.CreateDirectTransport(f.ctx, nil))
	dc := must[media.DataConsumer](b)(d.ConsumeData(f.ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}))
	dc.OnMessage(func([]byte, int) { sink.arrived() })
}

// plainPath: an SCTP association over UDP between two plain transports
// of one worker (a data consumer on one, a data producer on the other),
// then a direct data consumer.
func plainPath(b *testing.B, f *fixture, dp media.DataProducer, sink *dataSink) {
	opts := &media.PlainTransportOptions{ListenInfo: &media.TransportListenInfo{IP: lo}, EnableSctp: true}
	a := must[media.PlainTransport](b)(f.router.CreatePlainTransport(f.ctx, opts))
	c := must[media.PlainTransport](b)(f.router.CreatePlainTransport(f.ctx, opts))
	for _, x := range [][2]media.PlainTransport{{a, c}, {c, a}} {
		to := x[1].Tuple()
		if err := x[0].Connect(f.ctx, &media.PlainTransportConnectOptions{IP: to.LocalAddress, Port: to.LocalPort}); err != nil {
			b.Fatal(err)
		}
	}
	wait.Until(b, "SCTP connected", func() bool {
		return a.SctpState() == media.SctpConnected && c.SctpState() == media.SctpConnected
	})
	out := must[media.DataConsumer](b)(a.ConsumeData(f.ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}))
	in := must[media.DataProducer](b)(c.ProduceData(f.ctx, &media.DataProducerOptions{SctpStreamParameters: out.SctpStreamParameters()}))
	directPath(b, f, in, sink)
}

// pipePath: PipeToRouter of the data producer to a router of a second
// worker (pipe transports with SCTP), then a direct data consumer there.
func pipePath(b *testing.B, f *fixture, dp media.DataProducer, sink *dataSink) {
	w2 := must[media.Worker](b)(f.api.CreateWorker(f.ctx, nil))
	b.Cleanup(func() { w2.Close(f.ctx) })
	r2 := must[media.Router](b)(w2.CreateRouter(f.ctx, &media.RouterOptions{MediaCodecs: mediaCodecs()}))
	must[*media.PipeToRouterResult](b)(f.router.PipeToRouter(f.ctx, &media.PipeToRouterOptions{DataProducerID: dp.ID(), Router: r2}))
	d := must[media.DirectTransport](b)(r2.CreateDirectTransport(f.ctx, nil))
	dc := must[media.DataConsumer](b)(d.ConsumeData(f.ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}))
	dc.OnMessage(func([]byte, int) { sink.arrived() })
}

// webRtcPath: a data consumer on a WebRtcTransport (SCTP over DTLS) and a
// pion peer reading its data channel, as a browser would.
func webRtcPath(b *testing.B, f *fixture, dp media.DataProducer, sink *dataSink) {
	tr := f.webRtc(&media.WebRtcTransportOptions{ListenInfos: []media.TransportListenInfo{{IP: lo}}, EnableSctp: true})
	dc := must[media.DataConsumer](b)(tr.ConsumeData(f.ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}))
	peer := peertest.NewBrowser(b, 0, false)
	ch, open, _ := peer.DataChannel(b, "bench", uint16(dc.SctpStreamParameters().StreamID))
	ch.OnMessage(func(pion.DataChannelMessage) { sink.arrived() })
	offer, dtls := peer.Offer(b)
	if err := tr.Connect(f.ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: dtls}); err != nil {
		b.Fatal(err)
	}
	peer.Answer(b, offer, tr, 0)
	select {
	case <-open:
	case <-time.After(10 * time.Second):
		b.Fatal("data channel not open")
	}
	wait.Until(b, "SCTP connected", func() bool { return tr.SctpState() == media.SctpConnected })
}

// BenchmarkDataMessages sends 200-byte messages from a direct data
// producer along each path: "throughput" keeps up to 256 in flight and
// reports messages per second; "latency" sends one at a time, so ns/op
// is the time from Send to the message's arrival. cpu-µs/msg is the
// process's CPU per message, both ends of every association included
// (the pion peer's too).
func BenchmarkDataMessages(b *testing.B) {
	paths := []struct {
		name string
		path dataPath
	}{
		{"direct", directPath},
		{"plain-sctp-1-worker", plainPath},
		{"pipe-sctp-2-workers", pipePath},
		{"webrtc-sctp-1-worker", webRtcPath},
	}
	msg := bytes.Repeat([]byte("m"), 200)
	for _, p := range paths {
		for _, mode := range []struct {
			name   string
			window int64
		}{{"throughput", 256}, {"latency", 1}} {
			b.Run(p.name+"/"+mode.name, func(b *testing.B) {
				f := newFixture(b)
				src := must[media.DirectTransport](b)(f.router.CreateDirectTransport(f.ctx, nil))
				dp := must[media.DataProducer](b)(src.ProduceData(f.ctx, nil))
				sink := newDataSink()
				p.path(b, f, dp, sink)
				warmUp(b, dp, sink, msg)
				base := sink.n.Load()
				b.SetBytes(int64(len(msg)))
				b.ResetTimer()
				start, cpu := time.Now(), processCPU()
				for i := range int64(b.N) {
					sink.waitFor(b, base+i+1-mode.window)
					if err := dp.Send(msg, nil); err != nil {
						b.Fatal(err)
					}
				}
				sink.waitFor(b, base+int64(b.N))
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
				b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N), "cpu-µs/msg")
			})
		}
	}
}

// warmUp sends until a message arrives: an association drops messages
// until it is up, as mediasoup's does.
func warmUp(b *testing.B, dp media.DataProducer, sink *dataSink, msg []byte) {
	deadline := time.Now().Add(10 * time.Second)
	for sink.n.Load() == 0 {
		if time.Now().After(deadline) {
			b.Fatal("no message along the path")
		}
		if err := dp.Send(msg, nil); err != nil {
			b.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // the warm-up's stragglers
}
