package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeserver"
)

// RootID is the ROPE id of the Monitor object.
const RootID = "monitor"

// TypeMonitor is the ROPE type of the Monitor object.
const TypeMonitor = "Monitor"

// MethodFigures is the unsequenced notification a subscribed connection
// receives once per interval; its params are a Figures.
const MethodFigures = "monitor.figures"

// Defaults of Options.
const (
	DefaultInterval       = time.Second
	DefaultMaxObjects     = 2000
	DefaultMaxSubscribers = 16
	DefaultParallel       = 4
	DefaultMaxStatsCalls  = 256
)

// Options configure Register. Nil means defaults.
type Options struct {
	// Interval is how often figures are collected and sent to the
	// subscribers. Default DefaultInterval; at least 100 ms.
	Interval time.Duration
	// MaxObjects bounds the per-object entries of one Figures (workers,
	// transports and producers first, then the consumers with the worst
	// score and loss); the totals count every object. Default
	// DefaultMaxObjects (about 100 KiB of figures).
	MaxObjects int
	// MaxSubscribers bounds the connections subscribed at once; one more
	// subscribe answers -32005 Overloaded. Default DefaultMaxSubscribers.
	MaxSubscribers int
	// Parallel bounds the stats calls one collection runs at once (each is
	// a request to a worker process with -workers=process). Default
	// DefaultParallel.
	Parallel int
	// MaxStatsCalls bounds the stats calls of one collection besides the
	// workers': with more transports, producers and consumers they take
	// turns, and each keeps the figures of its last turn (with 1,000
	// consumers, a consumer's figures are refreshed every 4 intervals).
	// This bounds what the monitor costs the server, however many objects
	// it has. Default DefaultMaxStatsCalls.
	MaxStatsCalls int
	// Server describes this server in the Monitor's "server" property.
	Server ServerInfo
	// Servers, when set, lists the cluster's servers (the "servers" of
	// each Figures), e.g. from cluster/registry. Default: none.
	Servers func() []ServerInfo
	// Metrics, when set, receives the figures for /metrics (NewMetrics).
	Metrics *Metrics
	// Logger receives failures no caller sees, with the object id under
	// "object". Default slog.Default().
	Logger *slog.Logger
}

// ServerInfo describes one server.
type ServerInfo struct {
	ID   string `json:"id"`
	URL  string `json:"url,omitempty"`
	Name string `json:"name,omitempty"`
	// Workers and Load are what a cluster server's record says.
	Workers int     `json:"workers,omitempty"`
	Load    float64 `json:"load,omitempty"`
	Self    bool    `json:"self,omitempty"`
}

// Monitor is the Monitor object: it collects the figures of the media
// objects of its ROPE server and sends them to its subscribers.
type Monitor struct {
	rs      *ropeserver.Server
	opts    Options
	log     *slog.Logger
	obj     *ropeserver.Object
	started time.Time
	stop    chan struct{}
	// wg counts the tick loop.
	wg sync.WaitGroup

	// collectMu serialises collections; c holds what they carry over.
	collectMu sync.Mutex
	c         collector
	// last is the latest collection's figures, never changed once stored.
	last atomic.Pointer[Figures]

	// mu guards the fields below.
	mu sync.Mutex
	// subs holds the connections that ever subscribed and are open (each
	// with one close hook that forgets it): true while subscribed. nsubs
	// counts the true ones.
	subs   map[*ropeserver.Conn]bool
	nsubs  int
	closed bool
	sent   uint64 // notifications sent
	bytes  uint64 // and an estimate of their bytes (the figures' JSON)
}

// Register creates the Monitor object (id RootID) on rs and starts its
// ticks; Close stops them.
func Register(rs *ropeserver.Server, opts *Options) (*Monitor, error) {
	m := &Monitor{rs: rs, stop: make(chan struct{}), subs: map[*ropeserver.Conn]bool{}, started: time.Now()}
	if opts != nil {
		m.opts = *opts
	}
	if m.opts.Interval <= 0 {
		m.opts.Interval = DefaultInterval
	}
	m.opts.Interval = max(m.opts.Interval, 100*time.Millisecond)
	if m.opts.MaxObjects <= 0 {
		m.opts.MaxObjects = DefaultMaxObjects
	}
	if m.opts.MaxSubscribers <= 0 {
		m.opts.MaxSubscribers = DefaultMaxSubscribers
	}
	if m.opts.Parallel <= 0 {
		m.opts.Parallel = DefaultParallel
	}
	if m.opts.MaxStatsCalls <= 0 {
		m.opts.MaxStatsCalls = DefaultMaxStatsCalls
	}
	m.log = m.opts.Logger
	if m.log == nil {
		m.log = slog.Default()
	}
	m.c = newCollector()
	err := rs.RegisterType(ropeserver.Type{
		Name:       TypeMonitor,
		Properties: []string{"server", "interval", "maxObjects"},
		Methods: map[string]ropeserver.MethodFunc{
			"subscribe":   m.subscribe,
			"unsubscribe": m.unsubscribe,
			"snapshot":    m.snapshot,
		},
		OnSetAppData: func(context.Context, *ropeserver.Object, json.RawMessage) error {
			return rope.NewError(rope.CodeUnauthorized, "the Monitor is read-only")
		},
	})
	if err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	m.obj, err = rs.Create(TypeMonitor, &ropeserver.ObjectOptions{ID: RootID, Props: map[string]any{
		"server": m.opts.Server, "interval": m.opts.Interval.Milliseconds(), "maxObjects": m.opts.MaxObjects,
	}})
	if err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	if m.opts.Metrics != nil {
		m.opts.Metrics.attach(m)
	}
	m.wg.Add(1)
	go m.loop()
	return m, nil
}

// Close stops the ticks and forgets the subscribers; the Monitor object
// stays until the ROPE server closes. It is idempotent.
func (m *Monitor) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.subs, m.nsubs = map[*ropeserver.Conn]bool{}, 0
	m.mu.Unlock()
	close(m.stop)
	m.wg.Wait()
	return nil
}

// SetServer replaces the Monitor's "server" property (e.g. once the
// server knows its port).
func (m *Monitor) SetServer(info ServerInfo) error {
	return m.obj.SetProp("server", info)
}

// Subscribers is the number of connections subscribed.
func (m *Monitor) Subscribers() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.nsubs
}

// Sent returns how many figures notifications went out, and their bytes.
func (m *Monitor) Sent() (notifications, bytes uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sent, m.bytes
}

// loop collects and sends the figures each interval while anyone is
// subscribed.
func (m *Monitor) loop() {
	defer m.wg.Done()
	t := time.NewTicker(m.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		if m.Subscribers() == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), m.opts.Interval)
		f := m.Collect(ctx)
		cancel()
		m.broadcast(f)
	}
}

// broadcast sends f to every subscriber.
func (m *Monitor) broadcast(f *Figures) {
	m.mu.Lock()
	subs := make([]*ropeserver.Conn, 0, m.nsubs)
	for c, on := range m.subs {
		if on {
			subs = append(subs, c)
		}
	}
	m.mu.Unlock()
	if len(subs) == 0 {
		return
	}
	raw, err := f.encode()
	if err != nil {
		m.log.Error("monitor: encode figures", "err", err)
		return
	}
	n := 0
	for _, c := range subs {
		if err := c.Notify(MethodFigures, raw); err != nil {
			m.log.Warn("monitor: send figures", "err", err)
			continue
		}
		n++
	}
	m.mu.Lock()
	m.sent += uint64(n)
	m.bytes += uint64(n * len(raw))
	m.mu.Unlock()
}

// subscribe adds the caller's connection to the subscribers (until it
// ends or unsubscribes) and answers the latest figures.
func (m *Monitor) subscribe(ctx context.Context, call *ropeserver.Call) (any, error) {
	if err := seesEverything(call); err != nil {
		return nil, err
	}
	c := call.Conn
	m.mu.Lock()
	on, watched := m.subs[c]
	switch {
	case m.closed:
		m.mu.Unlock()
		return nil, rope.NewError(rope.CodeInvalidState, "monitor closed")
	case on:
	case m.nsubs >= m.opts.MaxSubscribers:
		m.mu.Unlock()
		return nil, rope.NewError(rope.CodeOverloaded, "the monitor has %d subscribers, its most", m.opts.MaxSubscribers)
	default:
		m.subs[c] = true
		m.nsubs++
	}
	m.mu.Unlock()
	if !watched {
		// Outside m.mu: a connection that has ended runs the hook at once.
		c.OnClose(func() { m.forget(c) })
	}
	return m.Figures(ctx), nil
}

// forget drops c from the subscribers: its connection ended.
func (m *Monitor) forget(c *ropeserver.Conn) {
	m.mu.Lock()
	if m.subs[c] {
		m.nsubs--
	}
	delete(m.subs, c)
	m.mu.Unlock()
}

// unsubscribe stops the figures to the caller's connection.
func (m *Monitor) unsubscribe(_ context.Context, call *ropeserver.Call) (any, error) {
	m.mu.Lock()
	if on, watched := m.subs[call.Conn]; watched && on {
		m.subs[call.Conn] = false // its close hook stays
		m.nsubs--
	}
	m.mu.Unlock()
	return nil, nil
}

// snapshot answers the latest figures (collected now when older than
// half an interval).
func (m *Monitor) snapshot(ctx context.Context, call *ropeserver.Call) (any, error) {
	if err := seesEverything(call); err != nil {
		return nil, err
	}
	return m.Figures(ctx), nil
}

// seesEverything refuses a caller whose grant hides objects (spec §18):
// the figures name and measure them all.
func seesEverything(call *ropeserver.Call) error {
	if !seesAll(call.Grant()) {
		return rope.NewError(rope.CodeUnauthorized, "the monitor's figures cover every object: this connection's grant does not see them all")
	}
	return nil
}

// Figures returns the latest figures, collecting them first when they
// are older than half an interval.
func (m *Monitor) Figures(ctx context.Context) *Figures {
	if f := m.fresh(); f != nil {
		return f
	}
	m.collectMu.Lock()
	defer m.collectMu.Unlock()
	if f := m.fresh(); f != nil { // another caller collected meanwhile
		return f
	}
	return m.collectLocked(ctx)
}

// fresh is the latest figures if younger than half an interval, else nil.
func (m *Monitor) fresh() *Figures {
	if f := m.last.Load(); f != nil && time.Since(time.UnixMilli(f.Time)) < m.opts.Interval/2 {
		return f
	}
	return nil
}
