package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/ropehq/rope/cluster/natsutil"
	"github.com/ropehq/rope/cluster/registry"
)

// defaultNATSPort is the embedded NATS server's port when -nats-listen
// names none.
const defaultNATSPort = "4222"

// clusterConfig is what joining the registry of servers needs (-cluster,
// spec/cluster-v1.md).
type clusterConfig struct {
	enabled    bool
	endpoint   bool
	natsURLs   string
	natsCreds  string
	natsToken  string
	natsListen string
	serverID   string
	heartbeat  time.Duration
}

func (c *clusterConfig) flags(fs *flag.FlagSet, getenv func(string) string) error {
	on, _ := strconv.ParseBool(envOr(getenv, "ROPE_CLUSTER", "false"))
	fs.BoolVar(&c.enabled, "cluster", on, "join the registry of servers on NATS, spec/cluster-v1.md (env ROPE_CLUSTER)")
	ep, _ := strconv.ParseBool(envOr(getenv, "ROPE_CLUSTER_ENDPOINT", "false"))
	fs.BoolVar(&c.endpoint, "cluster-endpoint", ep,
		"serve the cluster's media objects from this endpoint: workers are placed on the cluster's servers, none run here; implies -cluster (env ROPE_CLUSTER_ENDPOINT)")
	fs.StringVar(&c.natsURLs, "nats", getenv("ROPE_NATS"),
		"NATS server URLs, comma-separated (nats://host:4222); none: run an embedded NATS server on -nats-listen that others can join (env ROPE_NATS)")
	fs.StringVar(&c.natsCreds, "nats-creds", getenv("ROPE_NATS_CREDS"), "NATS credentials file (user JWT and nkey seed) (env ROPE_NATS_CREDS)")
	fs.StringVar(&c.natsToken, "nats-token", getenv("ROPE_NATS_TOKEN"),
		"NATS token: presented to the NATS servers, and required by the embedded one (env ROPE_NATS_TOKEN)")
	fs.StringVar(&c.natsListen, "nats-listen", getenv("ROPE_NATS_LISTEN"),
		"host:port of the embedded NATS server; default the listen address, port "+defaultNATSPort+" (0: any free port); beyond loopback it needs -nats-token (env ROPE_NATS_LISTEN)")
	fs.StringVar(&c.serverID, "server-id", getenv("ROPE_SERVER_ID"),
		"this server's id in the cluster (A-Z a-z 0-9 _ -); default its ROPE URL's host and port, e.g. 10-0-0-5-8444 (env ROPE_SERVER_ID)")
	hb, err := time.ParseDuration(envOr(getenv, "ROPE_CLUSTER_HEARTBEAT", registry.DefaultInterval.String()))
	if err != nil {
		return fmt.Errorf("ROPE_CLUSTER_HEARTBEAT: %w", err)
	}
	fs.DurationVar(&c.heartbeat, "cluster-heartbeat", hb, "interval between heartbeats; a server is lost after 3 missed (env ROPE_CLUSTER_HEARTBEAT)")
	return nil
}

// clusterMember is this server's membership: the registry, its NATS
// connection, the embedded NATS server if any, and the goroutine that
// publishes the workers' loads.
type clusterMember struct {
	ns     *natsutil.Server
	nc     *nats.Conn
	reg    *registry.Registry
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// startCluster joins the registry of servers as cfg.cluster says, with
// ropeURL as this server's address and workers' loads in its record;
// nil (and a no-op stop) without -cluster. A cluster endpoint joined
// already, as an observer (startEndpoint).
func startCluster(ctx context.Context, cfg config, ropeURL string, workers *workerSet, log *slog.Logger) (stop func(), err error) {
	c := cfg.cluster
	if !c.enabled || c.endpoint {
		return func() {}, nil
	}
	id := c.serverID
	if id == "" {
		id = defaultServerID(ropeURL)
	}
	opts := &registry.Options{
		ServerID: id, RopeURL: ropeURL, MediaAddresses: mediaAddresses(cfg), Interval: c.heartbeat, Logger: log,
	}
	if cfg.media.enabled && cfg.media.maxWorkers > 0 {
		opts.MaxWorkers = cfg.media.maxWorkers
	}
	m, err := joinCluster(ctx, cfg, opts, log)
	if err != nil {
		return nil, err
	}
	log.Info("ropeserver: in the cluster", "id", id)
	sctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go func() {
		defer close(m.done)
		if workers != nil {
			newLoadSampler(workers, m.reg).run(sctx, c.heartbeat)
		}
	}()
	return m.close, nil
}

// joinCluster connects to NATS (or starts the embedded server) and joins
// the registry with opts.
func joinCluster(ctx context.Context, cfg config, opts *registry.Options, log *slog.Logger) (_ *clusterMember, err error) {
	c := cfg.cluster
	m := &clusterMember{done: make(chan struct{})}
	defer func() {
		if err != nil {
			m.close()
		}
	}()
	urls, err := m.natsURLs(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	m.nc, err = natsutil.Connect(&natsutil.ConnectOptions{
		URLs: urls, Name: "ropeserver " + opts.ServerID, CredsFile: c.natsCreds, Token: c.natsToken, Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if m.reg, err = registry.New(ctx, m.nc, opts); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	cfg.monitor.view.set(m.reg) // the monitor lists the cluster's servers
	return m, nil
}

// natsURLs returns the -nats URLs or, without them, starts the embedded
// NATS server and returns its URL.
func (m *clusterMember) natsURLs(ctx context.Context, cfg config, log *slog.Logger) ([]string, error) {
	c := cfg.cluster
	if c.natsURLs != "" {
		return strings.Split(c.natsURLs, ","), nil
	}
	listen := c.natsListen
	if listen == "" {
		listen = net.JoinHostPort(cfg.listen, defaultNATSPort)
	}
	host, portStr, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("cluster: -nats-listen %q: %w", listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("cluster: -nats-listen %q: %w", listen, err)
	}
	if !isLoopback(host) && c.natsToken == "" {
		return nil, fmt.Errorf("cluster: the embedded NATS server on %s is reachable from other hosts: set -nats-token (spec/cluster-v1.md §7.4)", listen)
	}
	m.ns, err = natsutil.StartServer(ctx, &natsutil.ServerOptions{Host: host, Port: port, Token: c.natsToken, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("cluster: embedded NATS: %w", err)
	}
	log.Info("ropeserver: embedded NATS listening", "url", m.ns.ClientURL())
	return []string{m.ns.ClientURL()}, nil
}

// close leaves the cluster (goodbye), then closes the connection and the
// embedded NATS server. It is idempotent.
func (m *clusterMember) close() {
	m.once.Do(func() {
		if m.cancel != nil {
			m.cancel()
			<-m.done
		}
		if m.reg != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = m.reg.Close(ctx)
			cancel()
		}
		if m.nc != nil {
			m.nc.Close()
		}
		if m.ns != nil {
			m.ns.Close()
		}
	})
}

// defaultServerID makes an id of the ROPE URL's host and port, unique in
// a cluster because the URL is: ws://10.0.0.5:8444/ gives 10-0-0-5-8444.
func defaultServerID(ropeURL string) string {
	u, err := url.Parse(ropeURL)
	host := ropeURL
	if err == nil {
		host = u.Host
	}
	id := strings.Trim(strings.Map(func(r rune) rune {
		if r < 128 && registry.ValidID(string(r)) {
			return r
		}
		return '-'
	}, host), "-")
	if len(id) > registry.MaxIDLen {
		id = id[len(id)-registry.MaxIDLen:]
	}
	if id == "" {
		id = "ropeserver"
	}
	return id
}

// mediaAddresses is where other servers reach this server's media
// transports: the address they listen on (-rtc-ip, else -listen), which
// a pipe between servers binds and the cluster's network reaches, and
// not -announced-ip, which is for browsers and may be a NAT's address
// the server cannot bind; that only when the listen address is
// unspecified (0.0.0.0, ::).
func mediaAddresses(cfg config) []string {
	for _, a := range []string{cfg.media.rtcIP, cfg.listen, cfg.announcedIP} {
		if ip, err := netip.ParseAddr(a); a == "" || (err == nil && ip.IsUnspecified()) {
			continue
		}
		return []string{a}
	}
	return nil
}

// loadSampler publishes the workers and their CPU loads every interval.
type loadSampler struct {
	workers *workerSet
	reg     *registry.Registry
	ids     map[*trackedWorker]string
	nextID  int
	last    map[*trackedWorker]cpuSample
}

type cpuSample struct {
	at    time.Time
	cpuMS int64
}

func newLoadSampler(ws *workerSet, reg *registry.Registry) *loadSampler {
	return &loadSampler{workers: ws, reg: reg, ids: map[*trackedWorker]string{}, last: map[*trackedWorker]cpuSample{}}
}

func (s *loadSampler) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		s.sample(ctx, interval)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sample measures every open worker and updates the record: each
// worker's CPU percent since the last sample, and the server's load, the
// CPU of its worker processes (in-process workers share one) over what
// the host's CPUs give.
func (s *loadSampler) sample(ctx context.Context, timeout time.Duration) {
	s.workers.mu.Lock()
	open := make([]*trackedWorker, 0, len(s.workers.open))
	for w := range s.workers.open {
		open = append(open, w)
	}
	s.workers.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var out []registry.Worker
	perPID := map[int]float64{}
	seen := map[*trackedWorker]bool{}
	for _, w := range open {
		seen[w] = true
		load, ok := s.load(ctx, w)
		if !ok {
			continue
		}
		out = append(out, registry.Worker{ID: s.id(w), PID: w.PID(), Load: load})
		perPID[w.PID()] = load
	}
	s.forgetClosed(seen)
	total := 0.0
	for _, l := range perPID {
		total += l
	}
	slices.SortFunc(out, func(a, b registry.Worker) int { return strings.Compare(a.ID, b.ID) })
	_ = s.reg.Update(func(r *registry.Record) {
		r.Workers, r.Load = out, total/float64(runtime.NumCPU())
	})
}

// load is w's CPU percent since the last sample, 0 on the first.
func (s *loadSampler) load(ctx context.Context, w *trackedWorker) (float64, bool) {
	ru, err := w.GetResourceUsage(ctx)
	if err != nil {
		return 0, false
	}
	now := time.Now()
	cur := cpuSample{at: now, cpuMS: ru.UTime + ru.STime}
	prev, ok := s.last[w]
	s.last[w] = cur
	if wall := now.Sub(prev.at).Milliseconds(); ok && wall > 0 && cur.cpuMS >= prev.cpuMS {
		return float64(cur.cpuMS-prev.cpuMS) * 100 / float64(wall), true
	}
	return 0, true
}

// id names w in the record: its own id, else w1, w2, … in order of
// first sight.
func (s *loadSampler) id(w *trackedWorker) string {
	if id, ok := s.ids[w]; ok {
		return id
	}
	id := w.ID()
	if id == "" || len(id) > registry.MaxIDLen {
		s.nextID++
		id = "w" + strconv.Itoa(s.nextID)
	}
	s.ids[w] = id
	return id
}

func (s *loadSampler) forgetClosed(open map[*trackedWorker]bool) {
	for w := range s.ids {
		if !open[w] {
			delete(s.ids, w)
			delete(s.last, w)
		}
	}
}
