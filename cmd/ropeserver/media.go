package main

import (
	"flag"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/mediaserver"
	"github.com/ropehq/rope/ropeserver"
)

// mediaConfig is what serving the media objects needs.
type mediaConfig struct {
	enabled          bool
	rtcIP            string
	rtcMinPort       uint
	rtcMaxPort       uint
	allowWorkerClose bool
}

func (m *mediaConfig) flags(fs *flag.FlagSet, getenv func(string) string) error {
	on, _ := strconv.ParseBool(envOr(getenv, "ROPE_MEDIA", "true"))
	fs.BoolVar(&m.enabled, "media", on, "serve the media objects, root object \"media\" (env ROPE_MEDIA)")
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
	allow, _ := strconv.ParseBool(envOr(getenv, "ROPE_ALLOW_WORKER_CLOSE", "false"))
	fs.BoolVar(&m.allowWorkerClose, "allow-worker-close", allow, "let clients close media workers (env ROPE_ALLOW_WORKER_CLOSE)")
	return nil
}

// registerMedia serves the local media engine on srv, unless disabled
// (then it returns nil).
func registerMedia(srv *ropeserver.Server, cfg config, log *slog.Logger) (*mediaserver.Server, error) {
	m := cfg.media
	if !m.enabled {
		return nil, nil
	}
	if m.rtcMinPort > 65535 || m.rtcMaxPort > 65535 || m.rtcMinPort > m.rtcMaxPort {
		return nil, fmt.Errorf("media: bad RTC port range %d-%d", m.rtcMinPort, m.rtcMaxPort)
	}
	ip := m.rtcIP
	if ip == "" {
		ip = cfg.listen
	}
	li := &media.TransportListenInfo{Protocol: media.ProtocolUDP, IP: ip, AnnouncedAddress: cfg.announcedIP}
	ms, err := mediaserver.Register(srv, engine.New(nil), &mediaserver.Options{
		AllowWorkerClose: m.allowWorkerClose,
		ListenInfo:       li,
		WorkerSettings:   &media.WorkerSettings{RtcMinPort: uint16(m.rtcMinPort), RtcMaxPort: uint16(m.rtcMaxPort)},
		Logger:           log,
	})
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	return ms, nil
}
