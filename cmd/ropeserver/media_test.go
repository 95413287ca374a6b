package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/mafalda/mafaldaclient"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediaclient"
	"github.com/ropehq/rope/media/mediatest"
	"github.com/ropehq/rope/ropeclient"
	"github.com/ropehq/rope/ropeserver/fixture"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// startRun runs the server as main would with args (and no environment)
// and returns its URL; the server stops, as on Ctrl-C, at the end of the
// test, which fails if run returns an error.
func startRun(t testing.TB, args ...string) (config, string) {
	t.Helper()
	cfg, err := parseConfig(append([]string{"-port", "0"}, args...), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, quiet, ready) }()
	var url string
	select {
	case url = <-ready:
	case err := <-done:
		stop()
		t.Fatalf("run: %v", err)
	}
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return cfg, url
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

var codecs = []media.RtpCodecCapability{
	{Kind: media.KindAudio, MimeType: "audio/opus", ClockRate: 48000, Channels: 2},
	{Kind: media.KindVideo, MimeType: "video/VP8", ClockRate: 90000},
}

func TestMediaConfig(t *testing.T) {
	def, err := parseConfig(nil, func(string) string { return "" })
	if err != nil || def.media.mode != modeMedia || def.media.workers != workersProcess || !def.media.enabled {
		t.Fatalf("defaults %+v %v", def.media, err)
	}
	env := map[string]string{"ROPE_MEDIA_MODE": "mafalda", "ROPE_WORKERS": "in-process"}
	cfg, err := parseConfig(nil, func(k string) string { return env[k] })
	if err != nil || cfg.media.mode != modeMafalda || cfg.media.workers != workersInProcess {
		t.Fatalf("from env %+v %v", cfg.media, err)
	}
	cfg, err = parseConfig([]string{"-media-mode", "media", "-workers", "process"}, func(k string) string { return env[k] })
	if err != nil || cfg.media.mode != modeMedia || cfg.media.workers != workersProcess {
		t.Fatalf("flags over env %+v %v", cfg.media, err)
	}
	for _, args := range [][]string{{"-media-mode", "nope"}, {"-workers", "threads"}} {
		cfg, _ := parseConfig(append([]string{"-port", "0"}, args...), func(string) string { return "" })
		err := run(context.Background(), cfg, quiet, nil)
		if err == nil || !strings.Contains(err.Error(), args[1]) {
			t.Errorf("%v: run error %v", args, err)
		}
	}
}

// TestServesMediaByDefault drives the media objects of a default server
// (plus the fixture) with mediaclient: the worker is a child process, and
// a transport created without listenInfo listens on the server's address,
// in the RTC port range.
func TestServesMediaByDefault(t *testing.T) {
	_, url := startRun(t, "-rtc-min-port", "41000", "-rtc-max-port", "41099")
	rc, err := ropeclient.Dial(ctxT(t), url, &ropeclient.Options{Logger: quiet, NoReconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, ok := rc.Object(fixture.RootID); !ok {
		t.Fatal("no fixture")
	}
	if _, ok := rc.Object("mafalda"); ok {
		t.Fatal("a Mafalda in media mode")
	}
	api := mediaclient.New(rc, &mediaclient.Options{Logger: quiet})
	w := must[media.Worker](t)(api.CreateWorker(ctxT(t), nil))
	if w.PID() == os.Getpid() || w.PID() == 0 {
		t.Fatalf("worker pid %d, server pid %d: not a child process", w.PID(), os.Getpid())
	}
	r := must[media.Router](t)(w.CreateRouter(ctxT(t), &media.RouterOptions{MediaCodecs: codecs}))
	tr := must[media.PlainTransport](t)(r.CreatePlainTransport(ctxT(t), nil))
	if tu := tr.Tuple(); tu.LocalAddress != "127.0.0.1" || tu.LocalPort < 41000 || tu.LocalPort > 41099 {
		t.Fatalf("tuple %+v", tu)
	}
}

// TestServesMediaInProcess: with -workers=in-process the worker is the
// server's process.
func TestServesMediaInProcess(t *testing.T) {
	_, url := startRun(t, "-workers", "in-process")
	api, err := mediaclient.Dial(ctxT(t), url, &mediaclient.Options{Logger: quiet,
		ROPE: &ropeclient.Options{Logger: quiet, NoReconnect: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	w := must[media.Worker](t)(api.CreateWorker(ctxT(t), nil))
	if w.PID() != os.Getpid() {
		t.Fatalf("worker pid %d, server pid %d", w.PID(), os.Getpid())
	}
}

// TestServesMafalda: in mafalda mode a remote client creates a
// MafaldaRouter, transports without listenInfo in it and a producer and
// consumer; RTP sent to the one reaches the endpoint of the other. The
// Mafalda's workers are child processes, and in-process with -workers.
func TestServesMafalda(t *testing.T) {
	for _, workers := range []string{workersProcess, workersInProcess} {
		t.Run(workers, func(t *testing.T) {
			_, url := startRun(t, "-media-mode", "mafalda", "-workers", workers)
			c, err := mafaldaclient.Dial(ctxT(t), url, &mafaldaclient.Options{Logger: quiet,
				Media: &mediaclient.Options{Logger: quiet}, ROPE: &ropeclient.Options{Logger: quiet, NoReconnect: true}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, ok := c.ROPE().Object(fixture.RootID); !ok {
				t.Fatal("no fixture")
			}
			room := must[*mafaldaclient.MafaldaRouter](t)(c.CreateMafaldaRouter(ctxT(t),
				&mafalda.MafaldaRouterOptions{RouterOptions: media.RouterOptions{MediaCodecs: codecs}}))
			src, dst := mediatest.NewEndpoint(t), mediatest.NewEndpoint(t)
			in := must[media.PlainTransport](t)(room.CreatePlainTransport(ctxT(t), &media.PlainTransportOptions{Comedia: true}))
			out := must[media.PlainTransport](t)(room.CreatePlainTransport(ctxT(t), nil))
			if tu := in.Tuple(); tu.LocalAddress != "127.0.0.1" {
				t.Fatalf("tuple %+v", tu)
			}
			if err := out.Connect(ctxT(t), &media.PlainTransportConnectOptions{IP: "127.0.0.1", Port: dst.Port()}); err != nil {
				t.Fatal(err)
			}
			p := must[media.Producer](t)(in.Produce(ctxT(t), &media.ProducerOptions{Kind: media.KindVideo,
				RtpParameters: mediatest.VP8Parameters(2222)}))
			cons := must[media.Consumer](t)(out.Consume(ctxT(t), &media.ConsumerOptions{ProducerID: p.ID(),
				RtpCapabilities: mediatest.EndpointCaps()}))
			snd := &mediatest.VP8Sender{SSRC: 2222, PT: 101}
			for i := range 10 {
				src.Send(in.Tuple(), snd.Next(t, i == 0, 300))
			}
			ssrc := cons.RtpParameters().Encodings[0].SSRC
			deadline := time.Now().Add(10 * time.Second)
			for len(dst.RTP(ssrc)) < 10 {
				if time.Now().After(deadline) {
					t.Fatalf("%d of 10 packets arrived", len(dst.RTP(ssrc)))
				}
				time.Sleep(5 * time.Millisecond)
			}
			d := must[*mafalda.Dump](t)(c.Dump(ctxT(t)))
			if len(d.Workers) != 1 {
				t.Fatalf("dump %+v", d)
			}
			if child := d.Workers[0].PID != os.Getpid(); child != (workers == workersProcess) {
				t.Fatalf("worker pid %d, server pid %d, workers %s", d.Workers[0].PID, os.Getpid(), workers)
			}
		})
	}
}

// TestMaxWorkersBoundsMafaldaPlacements: -max-workers bounds the workers a
// Mafalda's placements create, though no client creates one itself; a
// room that would need one more worker gets an InvalidStateError.
func TestMaxWorkersBoundsMafaldaPlacements(t *testing.T) {
	_, url := startRun(t, "-media-mode", "mafalda", "-workers", "in-process", "-max-workers", "1")
	c, err := mafaldaclient.Dial(ctxT(t), url, &mafaldaclient.Options{Logger: quiet,
		Media: &mediaclient.Options{Logger: quiet}, ROPE: &ropeclient.Options{Logger: quiet, NoReconnect: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	opts := func(logLevel media.WorkerLogLevel) *mafalda.MafaldaRouterOptions {
		return &mafalda.MafaldaRouterOptions{RouterOptions: media.RouterOptions{MediaCodecs: codecs},
			WorkerSettings: media.WorkerSettings{LogLevel: logLevel}}
	}
	// Rooms with other worker settings do not share workers.
	r1 := must[*mafaldaclient.MafaldaRouter](t)(c.CreateMafaldaRouter(ctxT(t), opts(media.LogLevelWarn)))
	r2 := must[*mafaldaclient.MafaldaRouter](t)(c.CreateMafaldaRouter(ctxT(t), opts(media.LogLevelDebug)))
	must[media.DirectTransport](t)(r1.CreateDirectTransport(ctxT(t), nil))
	_, err = r2.CreateDirectTransport(ctxT(t), nil)
	if !errors.Is(err, media.ErrInvalidState) || !strings.Contains(err.Error(), "at most 1 workers") {
		t.Fatalf("second worker: %v", err)
	}
	if err := r1.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	// The first worker closes with its idle router; then there is room.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err = r2.CreateDirectTransport(ctxT(t), nil)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the first room closed: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
