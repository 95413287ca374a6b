package mediatest

import (
	"testing"

	"github.com/ropehq/rope/media"
)

// testPipeTransport: what pipeToRouter does, by hand, as an application
// piping between hosts does it: two pipe transports (with SRTP and RTX)
// on routers of two workers, connected to each other; a pipe consumer of
// a producer on one (type "pipe", every stream) feeds a pipe producer with
// the same id on the other, whose consumers get the RTP.
func testPipeTransport(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r1, r2 := newRouter(t, newWorker(t, api)), newRouter(t, newWorker(t, api))
	src := NewEndpoint(t)
	in := connectedPlain(t, r1, src)
	prod := check[media.Producer](t)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: VP8Parameters(4444)}))
	opts := &media.PipeTransportOptions{ListenInfo: listenInfo(), EnableSrtp: true, EnableRtx: true}
	p1 := check[media.PipeTransport](t)(r1.CreatePipeTransport(ctx, opts))
	p2 := check[media.PipeTransport](t)(r2.CreatePipeTransport(ctx, opts))
	for _, tr := range []media.PipeTransport{p1, p2} {
		if tup := tr.Tuple(); tup.LocalAddress != "127.0.0.1" || tup.LocalPort == 0 || tr.SrtpParameters() == nil {
			t.Fatalf("pipe transport tuple %+v srtpParameters %+v", tup, tr.SrtpParameters())
		}
	}
	for _, x := range [][2]media.PipeTransport{{p1, p2}, {p2, p1}} {
		if err := x[0].Connect(ctx, &media.PipeTransportConnectOptions{IP: "127.0.0.1", Port: x[1].Tuple().LocalPort,
			SrtpParameters: x[1].SrtpParameters()}); err != nil {
			t.Fatal(err)
		}
	}
	if tup := p1.Tuple(); tup.RemotePort != p2.Tuple().LocalPort {
		t.Fatalf("pipe tuple after connect %+v", tup)
	}
	pc := check[media.Consumer](t)(p1.Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID()}))
	if pc.Type() != media.ConsumerPipe || len(pc.RtpParameters().Encodings) != 1 {
		t.Fatalf("pipe consumer type %q encodings %+v", pc.Type(), pc.RtpParameters().Encodings)
	}
	pp := check[media.Producer](t)(p2.Produce(ctx, &media.ProducerOptions{ID: prod.ID(), Kind: pc.Kind(),
		RtpParameters: pc.RtpParameters(), Paused: pc.ProducerPaused()}))
	if pp.ID() != prod.ID() || pp.Type() != media.ProducerPipe {
		t.Fatalf("pipe producer %s type %q", pp.ID(), pp.Type())
	}
	dst := NewEndpoint(t)
	c := check[media.Consumer](t)(connectedPlain(t, r2, dst).Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: EndpointCaps()}))
	ssrc := c.RtpParameters().Encodings[0].SSRC
	snd := &VP8Sender{SSRC: 4444, PT: 101}
	eventually(t, "RTP through the pipe transports", func() bool {
		src.Send(in.Tuple(), snd.Next(t, true, 400))
		return len(dst.RTP(ssrc)) >= 5
	})
	if st := check[[]media.TransportStats](t)(p1.GetStats(ctx)); st[0].Type != "pipe-transport" || st[0].RtpBytesSent == 0 {
		t.Fatalf("pipe transport stats %+v", st[0])
	}
	closed := newFlag()
	c.OnProducerClose(closed.set)
	if err := pp.Close(ctx); err != nil {
		t.Fatal(err)
	}
	closed.wait(t, "producerclose when the pipe producer closed")
}

// testPipeToRouterOptions: pipeToRouter with RTX and SRTP between
// workers, and between two routers of one worker.
func testPipeToRouterOptions(t *testing.T, api media.API) {
	for _, tc := range []struct {
		name       string
		rtx, srtp  bool
		sameWorker bool
	}{{"rtx-srtp", true, true, false}, {"same-worker", false, false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxFor(t)
			w1 := newWorker(t, api)
			w2 := w1
			if !tc.sameWorker {
				w2 = newWorker(t, api)
			}
			r1, r2 := newRouter(t, w1), newRouter(t, w2)
			src := NewEndpoint(t)
			in := connectedPlain(t, r1, src)
			prod := check[media.Producer](t)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: VP8Parameters(5555)}))
			res := check[*media.PipeToRouterResult](t)(r1.PipeToRouter(ctx, &media.PipeToRouterOptions{ProducerID: prod.ID(), Router: r2,
				EnableRtx: tc.rtx, EnableSrtp: tc.srtp}))
			if res.PipeProducer == nil || res.PipeProducer.ID() != prod.ID() {
				t.Fatalf("result %+v", res)
			}
			dst := NewEndpoint(t)
			c := check[media.Consumer](t)(connectedPlain(t, r2, dst).Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: EndpointCaps()}))
			ssrc := c.RtpParameters().Encodings[0].SSRC
			snd := &VP8Sender{SSRC: 5555, PT: 101}
			eventually(t, "RTP through the pipe", func() bool {
				src.Send(in.Tuple(), snd.Next(t, true, 400))
				return len(dst.RTP(ssrc)) >= 5
			})
		})
	}
}

// testPipePauseClose: a producer piped to another worker's router
// carries its pause and resume to the consumers there ("producerpause",
// "producerresume"), and its router's close to them ("producerclose").
func testPipePauseClose(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r1, r2 := newRouter(t, newWorker(t, api)), newRouter(t, newWorker(t, api))
	src := NewEndpoint(t)
	in := connectedPlain(t, r1, src)
	prod := check[media.Producer](t)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: VP8Parameters(6666)}))
	check[*media.PipeToRouterResult](t)(r1.PipeToRouter(ctx, &media.PipeToRouterOptions{ProducerID: prod.ID(), Router: r2}))
	dst := NewEndpoint(t)
	c := check[media.Consumer](t)(connectedPlain(t, r2, dst).Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: EndpointCaps()}))
	paused, resumed, closed := newFlag(), newFlag(), newFlag()
	c.OnProducerPause(paused.set)
	c.OnProducerResume(resumed.set)
	c.OnProducerClose(closed.set)
	if err := prod.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	paused.wait(t, "producerpause through the pipe")
	eventually(t, "producerPaused", c.ProducerPaused)
	if err := prod.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	resumed.wait(t, "producerresume through the pipe")
	eventually(t, "not producerPaused", func() bool { return !c.ProducerPaused() })
	ssrc := c.RtpParameters().Encodings[0].SSRC
	snd := &VP8Sender{SSRC: 6666, PT: 101}
	eventually(t, "RTP after resume", func() bool {
		src.Send(in.Tuple(), snd.Next(t, true, 300))
		return len(dst.RTP(ssrc)) > 0
	})
	if err := r1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	closed.wait(t, "producerclose when the producer's router closed")
	eventually(t, "consumer closed", c.Closed)
}
