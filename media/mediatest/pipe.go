package mediatest

import (
	"testing"
	"time"

	"github.com/pion/rtcp"

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

// pipedPair is a producer on a router of one worker, piped to a router of
// another, where a plain transport consumes it.
type pipedPair struct {
	r1, r2   media.Router
	src, dst *Endpoint
	in, out  media.PlainTransport
	producer media.Producer
}

func newPipedPair(t *testing.T, api media.API, kind media.MediaKind, params media.RtpParameters) *pipedPair {
	t.Helper()
	ctx := ctxFor(t)
	p := &pipedPair{r1: newRouter(t, newWorker(t, api)), r2: newRouter(t, newWorker(t, api)), src: NewEndpoint(t), dst: NewEndpoint(t)}
	p.in = connectedPlain(t, p.r1, p.src)
	p.producer = check[media.Producer](t)(p.in.Produce(ctx, &media.ProducerOptions{Kind: kind, RtpParameters: params}))
	check[*media.PipeToRouterResult](t)(p.r1.PipeToRouter(ctx, &media.PipeToRouterOptions{ProducerID: p.producer.ID(), Router: p.r2}))
	p.out = connectedPlain(t, p.r2, p.dst)
	return p
}

// testPipeKeyFrame: a consumer of a piped producer that asks for a key
// frame (requestKeyFrame, or its endpoint's PLI) reaches the producing
// endpoint on the other worker.
func testPipeKeyFrame(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	p := newPipedPair(t, api, media.KindVideo, VP8Parameters(7070))
	c := check[media.Consumer](t)(p.out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.producer.ID(), RtpCapabilities: EndpointCaps()}))
	ssrc := c.RtpParameters().Encodings[0].SSRC
	snd := &VP8Sender{SSRC: 7070, PT: 101}
	eventually(t, "RTP through the pipe", func() bool {
		p.src.Send(p.in.Tuple(), snd.Next(t, true, 300))
		return len(p.dst.RTP(ssrc)) > 0
	})
	for _, ask := range []struct {
		what string
		do   func()
	}{
		{"requestKeyFrame", func() {
			if err := c.RequestKeyFrame(ctx); err != nil {
				t.Fatal(err)
			}
		}},
		{"a PLI", func() { p.dst.SendRTCP(p.out.Tuple(), &rtcp.PictureLossIndication{SenderSSRC: 9, MediaSSRC: ssrc}) }},
	} {
		before := keyFrameRequests(p.src, 7070)
		eventually(t, ask.what+" through the pipe at the producing endpoint", func() bool {
			ask.do()
			// The producer holds requests while one is pending: a key
			// frame answers it.
			p.src.Send(p.in.Tuple(), snd.Next(t, true, 300))
			time.Sleep(20 * time.Millisecond)
			return keyFrameRequests(p.src, 7070) > before
		})
	}
}

// testPipeSimulcast: a simulcast producer piped to another worker keeps
// its three streams; a consumer there forwards the highest and switches
// to the lowest when asked.
func testPipeSimulcast(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	params := VP8Parameters(100)
	params.Encodings = []media.RtpEncodingParameters{{SSRC: 100}, {SSRC: 200}, {SSRC: 300}}
	p := newPipedPair(t, api, media.KindVideo, params)
	c := check[media.Consumer](t)(p.out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.producer.ID(), RtpCapabilities: EndpointCaps()}))
	if c.Type() != media.ConsumerSimulcast {
		t.Fatalf("consumer of the piped simulcast producer: type %q", c.Type())
	}
	layers := watchLayers(c)
	senders := [3]*VP8Sender{{SSRC: 100, PT: 101}, {SSRC: 200, PT: 101, seq: 5000}, {SSRC: 300, PT: 101, seq: 9000}}
	ssrc := c.RtpParameters().Encodings[0].SSRC
	fromLayer := func(layer int) func() bool {
		return func() bool {
			for i, s := range senders {
				p.src.Send(p.in.Tuple(), s.Next(t, true, simulcastSizes[i]))
			}
			time.Sleep(2 * time.Millisecond)
			got := p.dst.RTP(ssrc)
			return len(got) >= 3 && len(got[len(got)-1].Payload) == simulcastSizes[layer]
		}
	}
	eventually(t, "the highest layer through the pipe", fromLayer(2))
	layers.wait(t, 2)
	if err := c.SetPreferredLayers(ctx, media.ConsumerLayers{SpatialLayer: 0}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the lowest layer through the pipe", fromLayer(0))
	layers.wait(t, 0)
}

// testPipeObserver: an AudioLevelObserver on another worker's router
// hears a piped producer (its audio level survives the pipe).
func testPipeObserver(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	params := OpusParameters(8080)
	params.HeaderExtensions = []media.RtpHeaderExtensionParameters{{URI: media.ExtAudioLevel, ID: audioLevelID}}
	p := newPipedPair(t, api, media.KindAudio, params)
	obs := check[media.AudioLevelObserver](t)(p.r2.CreateAudioLevelObserver(ctx, &media.AudioLevelObserverOptions{Interval: 250}))
	volumes := make(chan []media.AudioLevelObserverVolume, 64)
	obs.OnVolumes(func(v []media.AudioLevelObserverVolume) {
		select {
		case volumes <- v:
		default:
		}
	})
	if err := obs.AddProducer(ctx, media.RtpObserverAddRemoveProducerOptions{ProducerID: p.producer.ID()}); err != nil {
		t.Fatal(err)
	}
	s := &opusSpeaker{e: p.src, tr: p.in, producer: p.producer, ssrc: 8080}
	eventually(t, "volumes of the piped producer", func() bool {
		s.say(t, 5, 30)
		time.Sleep(10 * time.Millisecond)
		select {
		case v := <-volumes:
			return len(v) == 1 && v[0].Volume == -30 && v[0].Producer != nil && v[0].Producer.ID() == p.producer.ID()
		default:
			return false
		}
	})
}
