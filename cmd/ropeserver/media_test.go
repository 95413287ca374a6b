package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediaclient"
	"github.com/ropehq/rope/ropeclient"
	"github.com/ropehq/rope/ropeserver/fixture"
)

// TestServesMediaByDefault drives the media objects of a default server
// (plus the fixture) with mediaclient: a transport created without
// listenInfo listens on the server's address, in the RTC port range.
func TestServesMediaByDefault(t *testing.T) {
	cfg, err := parseConfig([]string{"-port", "0", "-rtc-min-port", "41000", "-rtc-max-port", "41099"}, func(string) string { return "" })
	if err != nil || !cfg.media.enabled {
		t.Fatalf("config %+v %v", cfg, err)
	}
	ctx, stop := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() { done <- run(ctx, cfg, log, ready) }()
	url := <-ready
	cctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rc, err := ropeclient.Dial(cctx, url, &ropeclient.Options{Logger: log, NoReconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rc.Object(fixture.RootID); !ok {
		t.Fatal("no fixture")
	}
	api := mediaclient.New(rc, nil)
	w, err := api.CreateWorker(cctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := w.CreateRouter(cctx, &media.RouterOptions{MediaCodecs: []media.RtpCodecCapability{{Kind: media.KindAudio, MimeType: "audio/opus", ClockRate: 48000, Channels: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := r.CreatePlainTransport(cctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tu := tr.Tuple(); tu.LocalAddress != "127.0.0.1" || tu.LocalPort < 41000 || tu.LocalPort > 41099 {
		t.Fatalf("tuple %+v", tu)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	rc.Close()
}
