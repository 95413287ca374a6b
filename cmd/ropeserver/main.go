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
// ROPE_ANNOUNCED_IP, ROPE_TOKEN, ROPE_INSECURE_NO_TOKEN,
// ROPE_ALLOWED_HOSTS, ROPE_MAX_CONNECTIONS, ROPE_SEND_FULL_ERRORS,
// ROPE_STATIC, ROPE_LOG_LEVEL, ROPE_MEDIA, ROPE_MEDIA_MODE, ROPE_WORKERS,
// ROPE_MAX_WORKERS, ROPE_MAX_WORKERS_PER_CONN, ROPE_RTC_IP,
// ROPE_RTC_MIN_PORT, ROPE_RTC_MAX_PORT, ROPE_ALLOW_ANY_RTC_LISTEN,
// ROPE_ALLOW_WORKER_CLOSE, ROPE_ALLOW_WORKER_FILES, ROPE_MAX_CONSUMERS_PER_WORKER, ROPE_LEASE_GRACE, ROPE_LEASE_MAX_GRACE,
// ROPE_LEASE_PERSISTENT, ROPE_LEASE_LEGACY, ROPE_MAX_SESSION_OBJECTS,
// ROPE_CLUSTER, ROPE_NATS, ROPE_NATS_CREDS, ROPE_NATS_TOKEN,
// ROPE_NATS_LISTEN, ROPE_SERVER_ID, ROPE_CLUSTER_HEARTBEAT, and for the
// memory and fairness bounds ROPE_SEND_QUEUE_BYTES, ROPE_REPLAY_BYTES,
// ROPE_MAX_OBJECT_BYTES, ROPE_MAX_STATE_BYTES, ROPE_MAX_IN_FLIGHT_TOTAL, ROPE_DEMO,
// and for signed access tokens ROPE_TOKEN_SECRET, ROPE_TOKEN_SECRET_FILE,
// ROPE_TOKEN_PUBLIC_KEY, ROPE_TOKEN_AUDIENCE, ROPE_TOKEN_LEEWAY,
// and for the monitor ROPE_MONITOR, ROPE_METRICS, ROPE_MONITOR_INTERVAL,
// ROPE_LOG_FORMAT.
//
// With the media objects on (the default), it also serves a video-room
// demo at /demo/ (package demo; -demo=false turns it off) and logs its
// URL. It serves a live monitor at /monitor/ and Prometheus metrics at
// /metrics (package monitor; -monitor=false, -metrics=false), both
// behind -token when one is set.
//
// -cluster joins the registry of servers on NATS (spec/cluster-v1.md):
// with -nats it connects to those NATS servers, without it runs an
// embedded NATS server on -nats-listen that other servers join with
// -nats nats://host:port.
//
// -token-secret and -token-public-key verify signed access tokens
// (package ropeauth): each connection gets the grant its token carries
// (spec §18), and -token stays a shared operator token beside them.
// "ropeserver mint-token" prints a token for testing (mint.go).
//
// A -listen other than loopback needs -token, -token-secret or
// -token-public-key (or -insecure-no-token);
// requests must name the server in Host (loopback names, the listen
// address, -announced-ip, -allowed-hosts), which stops DNS rebinding.
// stdout gets one line, "ropeserver: listening on ws://…/", for scripts;
// the log goes to stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ropehq/rope/ropeserver"
	"github.com/ropehq/rope/ropeserver/fixture"
)

type config struct {
	listen          string
	port            int
	announcedIP     string
	token           string
	insecureNoToken bool
	allowedHosts    []string
	maxConnections  int
	sendFullErrors  bool
	static          string
	logLevel        slog.Level
	media           mediaConfig
	lease           leaseConfig
	cluster         clusterConfig
	bounds          boundsConfig
	demo            demoConfig
	tokens          tokenConfig
	monitor         monitorConfig
}

// errUsage marks a flag error the flag package has already printed, with
// the usage.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := mainCode(ctx, os.Args[1:], os.Getenv, os.Stderr)
	stop()
	os.Exit(code)
}

// mainCode is main without the process: it serves until ctx ends and
// returns the exit code: 0 after a clean stop or -h, 2 for a bad
// configuration, 1 when serving fails. The log goes to stderr, in one
// format (slog's text, or JSON with -log-format json); stdout gets the
// one "listening on" line.
func mainCode(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	if isMintCommand(args) {
		return mintToken(args[1:], getenv, os.Stdout, stderr)
	}
	cfg, err := parseConfigTo(stderr, args, getenv)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case err != nil:
		fmt.Fprintln(stderr, "ropeserver:", err)
		return 2
	}
	log := newLogger(cfg, stderr)
	if err := run(ctx, cfg, log, nil); err != nil {
		log.Error("ropeserver: stopped", "err", err)
		return 1
	}
	return 0
}

func parseConfig(args []string, getenv func(string) string) (config, error) {
	return parseConfigTo(os.Stderr, args, getenv)
}

// parseConfigTo reads the flags over their environment variables and
// checks them; usage and flag errors go to out.
func parseConfigTo(out io.Writer, args []string, getenv func(string) string) (config, error) {
	fs := flag.NewFlagSet("ropeserver", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	var c config
	fs.StringVar(&c.listen, "listen", envOr(getenv, "ROPE_LISTEN", "127.0.0.1"), "listen address; other than loopback it needs -token or -insecure-no-token (env ROPE_LISTEN)")
	port, err := strconv.Atoi(envOr(getenv, "ROPE_PORT", "8444"))
	if err != nil {
		return c, fmt.Errorf("ROPE_PORT: %w", err)
	}
	fs.IntVar(&c.port, "port", port, "listen port, 0 for any (env ROPE_PORT)")
	fs.StringVar(&c.announcedIP, "announced-ip", getenv("ROPE_ANNOUNCED_IP"), "address clients reach the server at, printed, allowed as Host and used by media transports (env ROPE_ANNOUNCED_IP)")
	fs.StringVar(&c.token, "token", getenv("ROPE_TOKEN"), "bearer token clients must present (env ROPE_TOKEN)")
	insecure, _ := strconv.ParseBool(envOr(getenv, "ROPE_INSECURE_NO_TOKEN", "false"))
	fs.BoolVar(&c.insecureNoToken, "insecure-no-token", insecure, "serve a non-loopback -listen without a token: anyone who reaches it may read every object and use the media API (env ROPE_INSECURE_NO_TOKEN)")
	c.allowedHosts = splitList(getenv("ROPE_ALLOWED_HOSTS"))
	fs.Func("allowed-hosts", "comma-separated host names (path.Match patterns) clients may use in Host besides localhost, loopback addresses, the listen address and -announced-ip; other requests get 403 (env ROPE_ALLOWED_HOSTS)", func(v string) error {
		c.allowedHosts = splitList(v)
		return nil
	})
	maxConns, err := strconv.Atoi(envOr(getenv, "ROPE_MAX_CONNECTIONS", strconv.Itoa(ropeserver.DefaultMaxConnections)))
	if err != nil {
		return c, fmt.Errorf("ROPE_MAX_CONNECTIONS: %w", err)
	}
	fs.IntVar(&c.maxConnections, "max-connections", maxConns, "most client connections open at once, beyond which a handshake gets 503; negative: no limit (env ROPE_MAX_CONNECTIONS)")
	full, _ := strconv.ParseBool(envOr(getenv, "ROPE_SEND_FULL_ERRORS", "false"))
	fs.BoolVar(&c.sendFullErrors, "send-full-errors", full, "send internal error texts to clients (env ROPE_SEND_FULL_ERRORS)")
	fs.StringVar(&c.static, "static", getenv("ROPE_STATIC"), "serve this directory's files under /static/: public, no listings, no dotfiles, no links out of it (env ROPE_STATIC)")
	if err := c.logLevel.UnmarshalText([]byte(envOr(getenv, "ROPE_LOG_LEVEL", "info"))); err != nil {
		return c, fmt.Errorf("ROPE_LOG_LEVEL: %w", err)
	}
	fs.TextVar(&c.logLevel, "log-level", c.logLevel, "debug, info, warn or error (env ROPE_LOG_LEVEL)")
	if err := c.media.flags(fs, getenv); err != nil {
		return c, err
	}
	if err := c.lease.flags(fs, getenv); err != nil {
		return c, err
	}
	if err := c.cluster.flags(fs, getenv); err != nil {
		return c, err
	}
	if err := c.bounds.flags(fs, getenv); err != nil {
		return c, err
	}
	c.demo.flags(fs, getenv)
	if err := c.tokens.flags(fs, getenv); err != nil {
		return c, err
	}
	if err := c.monitor.flags(fs, getenv); err != nil {
		return c, err
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, fmt.Errorf("%w: %w", errUsage, err)
	}
	c.cluster.enabled = c.cluster.enabled || c.cluster.endpoint
	c.memberDefaults(fs, getenv)
	if err := c.tokens.load(); err != nil {
		return c, err
	}
	return c, c.check()
}

// memberDefaults changes three defaults for a cluster member (-cluster,
// not an endpoint): a cluster endpoint creates and closes workers for all
// of its rooms over one connection, so a member lets clients close
// workers and sets no per-connection worker or packet subscription
// limit, unless the flag or its environment variable says otherwise. Its token (required beyond
// loopback) keeps other clients out.
func (c *config) memberDefaults(fs *flag.FlagSet, getenv func(string) string) {
	if !c.cluster.enabled || c.cluster.endpoint {
		return
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["allow-worker-close"] && getenv("ROPE_ALLOW_WORKER_CLOSE") == "" {
		c.media.allowWorkerClose = true
	}
	if !set["max-workers-per-conn"] && getenv("ROPE_MAX_WORKERS_PER_CONN") == "" {
		c.media.maxWorkersConn = -1
	}
	if !set["max-packet-subscriptions"] && getenv("ROPE_MAX_PACKET_SUBSCRIPTIONS") == "" {
		c.media.maxPacketSubs = -1
	}
}

const usage = `Usage: ropeserver [flags]
       ropeserver mint-token [flags]   (prints a signed access token; -h for its flags)

Serves ROPE v1 over WebSocket on ws://127.0.0.1:8444/ with the test fixture
and the media objects; see README.md and spec/. Every flag has an
environment variable; a flag given wins over it.

`

// check refuses configurations that would expose the server by accident.
func (c config) check() error {
	if c.token == "" && !c.tokens.signed() && !c.insecureNoToken && !isLoopback(c.listen) {
		where := c.listen
		if where == "" {
			where = "every interface"
		}
		return fmt.Errorf("refusing to listen on %s without a token: anyone who reaches it could read every object "+
			"(SRTP keys included), create media workers and open UDP ports. Set -token (ROPE_TOKEN) or -token-secret or -token-public-key, listen on "+
			"127.0.0.1, or pass -insecure-no-token (ROPE_INSECURE_NO_TOKEN) on a network you trust", where)
	}
	for _, p := range c.allowedHosts {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("-allowed-hosts %q: %w", p, err)
		}
	}
	if c.maxConnections == 0 {
		return errors.New("-max-connections 0: want a positive limit, or negative for none")
	}
	return c.monitor.check()
}

// isLoopback says whether a listen address reaches only this host.
func isLoopback(listen string) bool {
	if strings.EqualFold(listen, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(listen)
	return err == nil && ip.Unmap().IsLoopback()
}

// hosts lists the Host names clients may use besides loopback ones and the
// address a connection arrives on: -allowed-hosts, -announced-ip (the
// address clients are told), and -listen when it is a name.
func (c config) hosts() []string {
	hosts := slices.Clone(c.allowedHosts)
	if c.announcedIP != "" {
		hosts = append(hosts, c.announcedIP)
	}
	if _, err := netip.ParseAddr(c.listen); err != nil && c.listen != "" {
		hosts = append(hosts, c.listen)
	}
	return hosts
}

func splitList(v string) []string {
	var out []string
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// run serves until ctx ends. ready, when set, receives the bound address.
func run(ctx context.Context, cfg config, log *slog.Logger, ready chan<- string) error {
	opts := &ropeserver.Options{
		Logger: log, Token: cfg.token, SendFullErrors: cfg.sendFullErrors,
		AllowedHosts: cfg.hosts(), MaxConnections: cfg.maxConnections,
	}
	cfg.lease.apply(opts)
	cfg.bounds.apply(opts)
	auth, err := newServerAuth(cfg, log)
	if err != nil {
		return err
	}
	if auth != nil {
		auth.apply(opts)
	}
	cfg.monitor.view = &clusterView{}
	metrics := newMetrics(cfg, opts)
	srv := ropeserver.New(opts)
	if _, err := fixture.Register(srv); err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/{$}", srv) // the root only: other paths are 404, not 426
	if cfg.static != "" {
		files, root, err := staticFiles(cfg.static)
		if err != nil {
			return err
		}
		defer root.Close()
		mux.Handle("/static/", http.StripPrefix("/static/", files))
	}
	base, stopEndpoint, err := startEndpoint(ctx, cfg, auth, log)
	if err != nil {
		return err
	}
	defer stopEndpoint()
	stopMedia, workers, err := registerMedia(srv, cfg, base, log)
	if err != nil {
		return err
	}
	dm, err := newDemo(srv, mux, cfg, auth, log)
	if err != nil {
		if stopMedia != nil {
			_ = stopMedia(context.Background())
		}
		return err
	}
	mon, stopMonitor, err := startMonitor(srv, mux, cfg, metrics, log)
	if err != nil {
		if stopMedia != nil {
			_ = stopMedia(context.Background())
		}
		return err
	}
	defer stopMonitor()
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
	fmt.Println("ropeserver: listening on", url) // for scripts; stable
	log.Info("ropeserver: listening", "url", url, "token", cfg.token != "", "signed-tokens", auth != nil, "static", cfg.static)
	dm.listening(addr.Port, host)
	listeningMonitor(cfg, mon, log, addr.Port, host)
	stopCluster, err := startCluster(ctx, cfg, url, workers, log)
	if err != nil {
		_ = ln.Close()
		if stopMedia != nil {
			_ = stopMedia(context.Background())
		}
		return err
	}
	defer stopCluster()
	if ready != nil {
		ready <- url
	}
	// Every route behind the Host check: a DNS-rebinding page reaches the
	// static files as it reaches the WebSocket.
	hs := &http.Server{Handler: srv.GuardHost(mux), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("ropeserver: shutting down")
	stopCluster() // goodbye first: others stop sending work here
	if err := dm.close(context.Background()); err != nil {
		log.Error("ropeserver: stopping the demo", "err", err)
	}
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
