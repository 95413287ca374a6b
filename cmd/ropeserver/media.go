package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/mafalda/mafaldaserver"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/mediaserver"
	"github.com/ropehq/rope/media/workerproc"
	"github.com/ropehq/rope/ropeserver"
)

// Media modes (-media-mode).
const (
	// modeMedia serves the media objects of spec/media-v1.md.
	modeMedia = "media"
	// modeMafalda serves a Mafalda (spec/mafalda-v1.md) and its media API.
	modeMafalda = "mafalda"
)

// clusterCPUs is a cluster endpoint's Mafalda's CPUs: as many workers
// per set of settings as the cluster's servers will run.
const clusterCPUs = 1 << 16

// Where workers run (-workers).
const (
	// workersProcess runs each worker in a child process (this binary).
	workersProcess = "process"
	// workersInProcess runs the workers in the server's process.
	workersInProcess = "in-process"
)

// mediaConfig is what serving the media objects needs.
type mediaConfig struct {
	enabled          bool
	mode             string
	workers          string
	maxWorkers       int
	maxWorkersConn   int
	rtcIP            string
	rtcMinPort       uint
	rtcMaxPort       uint
	anyRtcListen     bool
	udpReusePort     bool
	allowWorkerClose bool
	allowWorkerFiles bool
	// maxConsumersPerWorker is the Mafalda's MaxConsumersPerWorker.
	maxConsumersPerWorker int
	// maxPacketSubs is mediaserver's MaxPacketSubscriptions.
	maxPacketSubs int
}

func (m *mediaConfig) flags(fs *flag.FlagSet, getenv func(string) string) error {
	on, _ := strconv.ParseBool(envOr(getenv, "ROPE_MEDIA", "true"))
	fs.BoolVar(&m.enabled, "media", on, "serve the media objects, root object \"media\" (env ROPE_MEDIA)")
	fs.StringVar(&m.mode, "media-mode", envOr(getenv, "ROPE_MEDIA_MODE", modeMedia),
		"\"media\": the media objects of spec/media-v1.md; \"mafalda\": also a Mafalda (root object \"mafalda\", spec/mafalda-v1.md), routers spanning several workers (env ROPE_MEDIA_MODE)")
	fs.StringVar(&m.workers, "workers", envOr(getenv, "ROPE_WORKERS", workersProcess),
		"\"process\": each media worker in a child process of this binary; \"in-process\": in the server's process (env ROPE_WORKERS)")
	fs.StringVar(&m.rtcIP, "rtc-ip", getenv("ROPE_RTC_IP"), "IP media transports listen on when a client gives none; default the listen address (env ROPE_RTC_IP)")
	for _, p := range []struct {
		v           *uint
		name, env   string
		def         string
		description string
	}{
		{&m.rtcMinPort, "rtc-min-port", "ROPE_RTC_MIN_PORT", "10000", "lowest UDP port of media transports"},
		{&m.rtcMaxPort, "rtc-max-port", "ROPE_RTC_MAX_PORT", "59999", "highest UDP port of media transports"},
	} {
		n, err := strconv.ParseUint(envOr(getenv, p.env, p.def), 10, 16)
		if err != nil {
			return fmt.Errorf("%s: %w", p.env, err)
		}
		fs.UintVar(p.v, p.name, uint(n), fmt.Sprintf("%s (env %s)", p.description, p.env))
	}
	maxWorkers, err := strconv.Atoi(envOr(getenv, "ROPE_MAX_WORKERS", strconv.Itoa(mediaserver.DefaultMaxWorkers)))
	if err != nil {
		return fmt.Errorf("ROPE_MAX_WORKERS: %w", err)
	}
	fs.IntVar(&m.maxWorkers, "max-workers", maxWorkers, "most media workers open at once, whoever creates them (clients, or a Mafalda's placements); negative: no limit (env ROPE_MAX_WORKERS)")
	perWorker, err := strconv.Atoi(envOr(getenv, "ROPE_MAX_CONSUMERS_PER_WORKER", "0"))
	if err != nil {
		return fmt.Errorf("ROPE_MAX_CONSUMERS_PER_WORKER: %w", err)
	}
	fs.IntVar(&m.maxConsumersPerWorker, "max-consumers-per-worker", perWorker,
		"with -media-mode=mafalda, a worker carrying this many consumers takes no more of a room's transports; 0: no limit, load decides (env ROPE_MAX_CONSUMERS_PER_WORKER)")
	perConn, err := strconv.Atoi(envOr(getenv, "ROPE_MAX_WORKERS_PER_CONN", strconv.Itoa(mediaserver.DefaultMaxWorkersPerConn)))
	if err != nil {
		return fmt.Errorf("ROPE_MAX_WORKERS_PER_CONN: %w", err)
	}
	fs.IntVar(&m.maxWorkersConn, "max-workers-per-conn", perConn, "most media workers one client connection may have open at once; negative: no limit (env ROPE_MAX_WORKERS_PER_CONN)")
	packetSubs, err := strconv.Atoi(envOr(getenv, "ROPE_MAX_PACKET_SUBSCRIPTIONS", strconv.Itoa(mediaserver.DefaultMaxPacketSubscriptions)))
	if err != nil {
		return fmt.Errorf("ROPE_MAX_PACKET_SUBSCRIPTIONS: %w", err)
	}
	fs.IntVar(&m.maxPacketSubs, "max-packet-subscriptions", packetSubs,
		"most packet streams (a direct transport consumer's rtp, a direct transport's rtcp) one client connection subscribes to; negative: no limit (env ROPE_MAX_PACKET_SUBSCRIPTIONS)")
	anyListen, _ := strconv.ParseBool(envOr(getenv, "ROPE_ALLOW_ANY_RTC_LISTEN", "false"))
	fs.BoolVar(&m.anyRtcListen, "allow-any-rtc-listen", anyListen, "let clients have media transports listen on any address and port; default only -rtc-ip and -listen, ports -rtc-min-port to -rtc-max-port (env ROPE_ALLOW_ANY_RTC_LISTEN)")
	reuse, _ := strconv.ParseBool(envOr(getenv, "ROPE_ALLOW_UDP_REUSE_PORT", "false"))
	fs.BoolVar(&m.udpReusePort, "allow-udp-reuse-port", reuse, "let clients set the udpReusePort flag of listen infos, with which transports share a port (env ROPE_ALLOW_UDP_REUSE_PORT)")
	allow, _ := strconv.ParseBool(envOr(getenv, "ROPE_ALLOW_WORKER_CLOSE", "false"))
	fs.BoolVar(&m.allowWorkerClose, "allow-worker-close", allow, "let clients close media workers (env ROPE_ALLOW_WORKER_CLOSE)")
	files, _ := strconv.ParseBool(envOr(getenv, "ROPE_ALLOW_WORKER_FILES", "false"))
	fs.BoolVar(&m.allowWorkerFiles, "allow-worker-files", files,
		"let clients name server files (createWorker's dtlsCertificateFile, dtlsPrivateKeyFile) that workers then read (env ROPE_ALLOW_WORKER_FILES)")
	return nil
}

// registerMedia serves the media objects on srv as cfg.media says, and
// returns what stops them and the workers; nil when disabled. base, when
// set, is where workers are created (a cluster endpoint's horizontal
// API) instead of -workers.
func registerMedia(srv *ropeserver.Server, cfg config, base media.API, log *slog.Logger) (stop func(context.Context) error, ws *workerSet, err error) {
	m := cfg.media
	if !m.enabled {
		return nil, nil, nil
	}
	endpoint := base != nil
	if m.rtcMinPort > 65535 || m.rtcMaxPort > 65535 || m.rtcMinPort > m.rtcMaxPort {
		return nil, nil, fmt.Errorf("media: bad RTC port range %d-%d", m.rtcMinPort, m.rtcMaxPort)
	}
	if m.maxWorkers == 0 {
		return nil, nil, errors.New("media: -max-workers 0: want a positive limit, or negative for none")
	}
	if m.maxWorkersConn == 0 {
		return nil, nil, errors.New("media: -max-workers-per-conn 0: want a positive limit, or negative for none")
	}
	if m.maxPacketSubs == 0 {
		return nil, nil, errors.New("media: -max-packet-subscriptions 0: want a positive limit, or negative for none")
	}
	switch {
	case base != nil:
	case m.workers == workersProcess:
		base = workerproc.New(&workerproc.Options{Logger: log})
	case m.workers == workersInProcess:
		base = engine.New(nil)
	default:
		return nil, nil, fmt.Errorf("media: -workers %q: want %q or %q", m.workers, workersProcess, workersInProcess)
	}
	workers := newWorkerSet(base, m.maxWorkers)
	ip := m.rtcIP
	if ip == "" {
		ip = cfg.listen
	}
	li := &media.TransportListenInfo{Protocol: media.ProtocolUDP, IP: ip, AnnouncedAddress: cfg.announcedIP}
	opts := &mediaserver.Options{
		MaxWorkers:        m.maxWorkers,
		MaxWorkersPerConn: m.maxWorkersConn,
		// A cluster member's connections are endpoints', each carrying
		// many clients' subscriptions (memberDefaults).
		MaxPacketSubscriptions: m.maxPacketSubs,
		AllowWorkerClose:       m.allowWorkerClose,
		AllowWorkerFiles:       m.allowWorkerFiles,
		ListenInfo:             li,
		WorkerSettings:         &media.WorkerSettings{RtcMinPort: uint16(m.rtcMinPort), RtcMaxPort: uint16(m.rtcMaxPort)},
		Logger:                 log,
	}
	switch {
	case endpoint:
		// A cluster endpoint's transports live on the cluster's servers:
		// each fills in its own listen info and worker ports, and checks
		// what clients ask for against its own.
		opts.ListenInfo, opts.WorkerSettings = nil, nil
	case !m.anyRtcListen:
		opts.Listen = &mediaserver.ListenPolicy{IPs: []string{ip}, MinPort: uint16(m.rtcMinPort), MaxPort: uint16(m.rtcMaxPort),
			AllowUDPReusePort: m.udpReusePort}
		if cfg.listen != ip {
			opts.Listen.IPs = append(opts.Listen.IPs, cfg.listen)
		}
	}
	switch m.mode {
	case modeMedia:
		ms, err := mediaserver.Register(srv, workers, opts)
		if err != nil {
			return nil, nil, fmt.Errorf("media: %w", err)
		}
		return func(ctx context.Context) error { return errors.Join(ms.Close(ctx), workers.closeAll(ctx)) }, workers, nil
	case modeMafalda:
		mopts := mafalda.Options{MaxConsumersPerWorker: m.maxConsumersPerWorker}
		if cfg.cluster.endpoint {
			// The cluster's workers are not this host's CPUs: the servers'
			// own -max-workers bound them.
			mopts.CPUs = clusterCPUs
		}
		maf := mafalda.New(workers, &mopts)
		mfs, err := mafaldaserver.Register(srv, maf, &mafaldaserver.Options{Media: opts})
		if err != nil {
			return nil, nil, fmt.Errorf("mafalda: %w", err)
		}
		return func(ctx context.Context) error {
			return errors.Join(mfs.Close(ctx), maf.Close(ctx), workers.closeAll(ctx))
		}, workers, nil
	default:
		return nil, nil, fmt.Errorf("media: -media-mode %q: want %q or %q", m.mode, modeMedia, modeMafalda)
	}
}
