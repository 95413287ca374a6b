package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/ropehq/rope/cluster/registry"

	"github.com/ropehq/rope/monitor"
	"github.com/ropehq/rope/ropeserver"
)

// monitorConfig is the -monitor, -monitor-interval and -metrics flags,
// and -log-format.
type monitorConfig struct {
	enabled   bool
	metrics   bool
	interval  time.Duration
	logFormat string
	// view is set by run: the registry the monitor lists the cluster's
	// servers from, once this server has joined (joinCluster).
	view *clusterView
}

// clusterView holds the cluster's registry for the monitor.
type clusterView struct {
	reg atomic.Pointer[registry.Registry]
}

// set records the registry; nil-safe.
func (v *clusterView) set(r *registry.Registry) {
	if v != nil {
		v.reg.Store(r)
	}
}

// servers lists this server and the others in the registry's view;
// none outside a cluster.
func (v *clusterView) servers() []monitor.ServerInfo {
	if v == nil {
		return nil
	}
	r := v.reg.Load()
	if r == nil {
		return nil
	}
	self := r.Self()
	out := []monitor.ServerInfo{{ID: r.ID(), URL: self.RopeURL, Workers: len(self.Workers), Load: self.Load, Self: true}}
	for _, s := range r.Servers() {
		out = append(out, monitor.ServerInfo{ID: s.ID, URL: s.RopeURL, Workers: len(s.Workers), Load: s.Load})
	}
	return out
}

// Log formats (-log-format).
const (
	logText = "text"
	logJSON = "json"
)

func (m *monitorConfig) flags(fs *flag.FlagSet, getenv func(string) string) error {
	on, _ := strconv.ParseBool(envOr(getenv, "ROPE_MONITOR", "true"))
	fs.BoolVar(&m.enabled, "monitor", on, "serve the live monitor page at /monitor/ and its read-only Monitor object \"monitor\" (which -metrics needs too); both follow -token (env ROPE_MONITOR)")
	met, _ := strconv.ParseBool(envOr(getenv, "ROPE_METRICS", "true"))
	fs.BoolVar(&m.metrics, "metrics", met, "serve Prometheus metrics at /metrics; it follows -token (env ROPE_METRICS)")
	iv, err := time.ParseDuration(envOr(getenv, "ROPE_MONITOR_INTERVAL", monitor.DefaultInterval.String()))
	if err != nil {
		return fmt.Errorf("ROPE_MONITOR_INTERVAL: %w", err)
	}
	fs.DurationVar(&m.interval, "monitor-interval", iv, "how often the monitor collects figures and sends them to its pages, at least 100ms (env ROPE_MONITOR_INTERVAL)")
	fs.StringVar(&m.logFormat, "log-format", envOr(getenv, "ROPE_LOG_FORMAT", logText), "\"text\" or \"json\": slog's format of the log on stderr (env ROPE_LOG_FORMAT)")
	return nil
}

func (m monitorConfig) check() error {
	if m.logFormat != logText && m.logFormat != logJSON {
		return fmt.Errorf("-log-format %q: want %q or %q", m.logFormat, logText, logJSON)
	}
	return nil
}

// newLogger is the server's log on w, in -log-format at -log-level.
func newLogger(cfg config, w io.Writer) *slog.Logger {
	o := &slog.HandlerOptions{Level: cfg.logLevel}
	if cfg.monitor.logFormat == logJSON {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

// newMetrics returns the metrics when -metrics or -monitor is on (they
// count the server's calls through opts.OnCall), else nil.
func newMetrics(cfg config, opts *ropeserver.Options) *monitor.Metrics {
	if !cfg.monitor.metrics && !cfg.monitor.enabled {
		return nil
	}
	x := monitor.NewMetrics()
	opts.OnCall = x.ObserveCall
	return x
}

// startMonitor registers the Monitor object and mounts /monitor/ and
// /metrics as the flags say; stop ends its ticks. With neither, it does
// nothing and m is nil.
func startMonitor(srv *ropeserver.Server, mux *http.ServeMux, cfg config, x *monitor.Metrics, log *slog.Logger) (m *monitor.Monitor, stop func(), err error) {
	if x == nil {
		return nil, func() {}, nil
	}
	id := cfg.cluster.serverID
	if id == "" {
		id = fmt.Sprintf("%s:%d", cfg.listen, cfg.port)
	}
	m, err = monitor.Register(srv, &monitor.Options{
		Interval: cfg.monitor.interval, Metrics: x, Logger: log,
		Server:  monitor.ServerInfo{ID: id, Name: "ropeserver", Self: true},
		Servers: cfg.monitor.view.servers,
	})
	if err != nil {
		return nil, nil, errors.Join(errors.New("monitor"), err)
	}
	if cfg.monitor.enabled {
		mux.Handle("/monitor/", http.StripPrefix("/monitor", monitor.Handler(srv)))
	}
	if cfg.monitor.metrics {
		mux.Handle("/metrics", monitor.MetricsHandler(srv, x))
	}
	return m, func() { _ = m.Close() }, nil
}

// listeningMonitor names the server after the port it got (unless
// -server-id names it), and logs the monitor's and the metrics' URLs.
func listeningMonitor(cfg config, m *monitor.Monitor, log *slog.Logger, port int, host string) {
	if m == nil {
		return
	}
	if cfg.cluster.serverID == "" {
		info := monitor.ServerInfo{ID: net.JoinHostPort(host, strconv.Itoa(port)), Name: "ropeserver", Self: true}
		if err := m.SetServer(info); err != nil {
			log.Warn("ropeserver: monitor", "err", err)
		}
	}
	base := "http://" + net.JoinHostPort(host, strconv.Itoa(port))
	tok := ""
	if cfg.token != "" {
		tok = " (add ?access_token=<the -token value>)"
	}
	if cfg.monitor.enabled {
		log.Info("ropeserver: monitor"+tok, "url", base+"/monitor/")
	}
	if cfg.monitor.metrics {
		log.Info("ropeserver: metrics"+tok, "url", base+"/metrics")
	}
}
