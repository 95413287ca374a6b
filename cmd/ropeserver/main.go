// Command ropeserver serves ROPE v1 over WebSocket with the standard test
// fixture and the media objects of spec/media-v1.md (root object
// "media"). With no flags it listens on ws://127.0.0.1:8444/, media
// transports listen on the same address, and each media worker runs in a
// child process of this binary (-workers=in-process keeps them in the
// server's process). -media-mode=mafalda serves a Mafalda instead
// (spec/mafalda-v1.md, root object "mafalda", beside "media" whose
// routers then span several workers). One such server per host, used by
// the host's other processes through mafalda/mafaldaclient, keeps one
// worker per CPU and set of worker settings on the whole host
// (spec/mafalda-v1.md §3.1.6).
//
// Every flag has an environment variable: ROPE_LISTEN, ROPE_PORT,
// ROPE_ANNOUNCED_IP, ROPE_TOKEN, ROPE_SEND_FULL_ERRORS, ROPE_STATIC,
// ROPE_MEDIA, ROPE_MEDIA_MODE, ROPE_WORKERS, ROPE_MAX_WORKERS,
// ROPE_RTC_IP, ROPE_RTC_MIN_PORT, ROPE_RTC_MAX_PORT,
// ROPE_ALLOW_WORKER_CLOSE.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/ropehq/rope/ropeserver"
	"github.com/ropehq/rope/ropeserver/fixture"
)

type config struct {
	listen         string
	port           int
	announcedIP    string
	token          string
	sendFullErrors bool
	static         string
	media          mediaConfig
}

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, slog.New(slog.NewTextHandler(os.Stderr, nil)), nil); err != nil {
		fmt.Fprintln(os.Stderr, "ropeserver:", err)
		os.Exit(1)
	}
}

func parseConfig(args []string, getenv func(string) string) (config, error) {
	fs := flag.NewFlagSet("ropeserver", flag.ContinueOnError)
	var c config
	fs.StringVar(&c.listen, "listen", envOr(getenv, "ROPE_LISTEN", "127.0.0.1"), "listen address (env ROPE_LISTEN)")
	port, err := strconv.Atoi(envOr(getenv, "ROPE_PORT", "8444"))
	if err != nil {
		return c, fmt.Errorf("ROPE_PORT: %w", err)
	}
	fs.IntVar(&c.port, "port", port, "listen port, 0 for any (env ROPE_PORT)")
	fs.StringVar(&c.announcedIP, "announced-ip", getenv("ROPE_ANNOUNCED_IP"), "address clients reach the server at, printed and used by media transports (env ROPE_ANNOUNCED_IP)")
	fs.StringVar(&c.token, "token", getenv("ROPE_TOKEN"), "bearer token clients must present (env ROPE_TOKEN)")
	full, _ := strconv.ParseBool(envOr(getenv, "ROPE_SEND_FULL_ERRORS", "false"))
	fs.BoolVar(&c.sendFullErrors, "send-full-errors", full, "send internal error texts to clients (env ROPE_SEND_FULL_ERRORS)")
	fs.StringVar(&c.static, "static", getenv("ROPE_STATIC"), "serve this directory's files under /static/ (env ROPE_STATIC)")
	if err := c.media.flags(fs, getenv); err != nil {
		return c, err
	}
	return c, fs.Parse(args)
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// run serves until ctx ends. ready, when set, receives the bound address.
func run(ctx context.Context, cfg config, log *slog.Logger, ready chan<- string) error {
	srv := ropeserver.New(&ropeserver.Options{Logger: log, Token: cfg.token, SendFullErrors: cfg.sendFullErrors})
	if _, err := fixture.Register(srv); err != nil {
		return err
	}
	stopMedia, err := registerMedia(srv, cfg, log)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/{$}", srv) // the root only: other paths are 404, not 426
	if cfg.static != "" {
		mux.Handle("/static/", http.StripPrefix("/static/", http.FileServer(http.Dir(cfg.static))))
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.listen, strconv.Itoa(cfg.port)))
	if err != nil {
		if stopMedia != nil {
			_ = stopMedia(context.Background())
		}
		return fmt.Errorf("listen: %w", err)
	}
	host := cfg.announcedIP
	if host == "" {
		host = cfg.listen
	}
	addr := ln.Addr().(*net.TCPAddr)
	url := fmt.Sprintf("ws://%s/", net.JoinHostPort(host, strconv.Itoa(addr.Port)))
	fmt.Println("ropeserver: listening on", url)
	if ready != nil {
		ready <- url
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("ropeserver: shutting down")
	srv.Close()
	if stopMedia != nil {
		if err := stopMedia(context.Background()); err != nil {
			log.Error("ropeserver: stopping media", "err", err)
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	<-errc
	return nil
}
