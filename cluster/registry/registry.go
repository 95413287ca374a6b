package registry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// Subjects (spec/cluster-v1.md §3).
const (
	// SubjectPrefix starts every subject of this protocol version.
	SubjectPrefix = "rope.cluster.v1"
	// WhoSubject carries the who-is-there request of a joining server.
	WhoSubject = SubjectPrefix + ".who"
)

// HeartbeatSubject is where the server id publishes its Record.
func HeartbeatSubject(id string) string { return SubjectPrefix + ".hb." + id }

// GoodbyeSubject is where the server id says goodbye.
func GoodbyeSubject(id string) string { return SubjectPrefix + ".bye." + id }

// Defaults of Options.
const (
	DefaultInterval   = time.Second
	DefaultMisses     = 3
	DefaultJoinWait   = 250 * time.Millisecond
	DefaultMaxServers = 1024
	// DefaultMaxRecordBytes bounds every message received.
	DefaultMaxRecordBytes = defaultMaxRecordSize
	// msgBuffer is how many received messages wait to be handled; beyond
	// it NATS drops them (a slow consumer), and the next heartbeat heals.
	msgBuffer = 256
)

// Options configure a Registry. ServerID and, unless Observer, RopeURL
// are required.
type Options struct {
	// Observer joins to watch only (spec/cluster-v1.md §5.6): the
	// registry publishes no record, no heartbeat and no goodbye, asks who
	// is there with an empty request, and its view holds every server. A
	// program that drives the cluster's media without serving any (a
	// cluster endpoint, an application) observes. Default false.
	Observer bool
	// ServerID names this server: 1 to 64 of A-Z a-z 0-9 _ -, unique in
	// the cluster (ValidID).
	ServerID string
	// RopeURL is where others reach this server's ROPE endpoint.
	RopeURL string
	// MediaAddresses are what other servers reach this server's media
	// transports at (at most MaxMediaAddresses). Default none.
	MediaAddresses []string
	// MaxWorkers is the most media workers this server runs; 0: no limit.
	MaxWorkers int
	// Version is the software version published. Default: the main
	// module's version from the build info.
	Version string
	// Interval between heartbeats, MinInterval to MaxInterval. Default
	// DefaultInterval (1 s).
	Interval time.Duration
	// Misses is how many of a server's intervals may pass without a word
	// from it before it is lost; at least 2. Default DefaultMisses (3).
	Misses int
	// JoinWait is how long New waits for the answers to its who-is-there
	// request, so that Servers is complete when it returns. Default
	// DefaultJoinWait; negative: do not wait.
	JoinWait time.Duration
	// MaxServers bounds the servers in the view; records of further new
	// servers are dropped and counted (Stats.Full). Default
	// DefaultMaxServers.
	MaxServers int
	// MaxRecordBytes bounds a message received; larger ones are dropped and
	// counted (Stats.Oversized). Default DefaultMaxRecordBytes (64 KiB).
	MaxRecordBytes int
	// Logger receives joins, departures, losses and dropped messages.
	// Default: slog.Default().
	Logger *slog.Logger
}

// Server is a server as the view holds it.
type Server struct {
	Record
	// LastSeen is when its latest record arrived.
	LastSeen time.Time
}

// Stats counts what the registry received and sent.
type Stats struct {
	Received       uint64 // messages received
	Malformed      uint64 // dropped: not a valid message (§4)
	Oversized      uint64 // dropped: larger than MaxRecordBytes
	Stale          uint64 // dropped: seq not above the last one seen
	Full           uint64 // dropped: a new server beyond MaxServers
	Conflicts      uint64 // records with this server's id from another incarnation
	Published      uint64 // messages sent
	PublishErrors  uint64 // messages that could not be sent
	BytesPublished uint64 // payload bytes sent
}

type counters struct {
	received, malformed, oversized, stale, full, conflicts atomic.Uint64
	published, publishErrors, bytesPublished               atomic.Uint64
}

// Registry is this server's membership in the cluster and its view of
// the other servers. Its methods are safe for concurrent use.
type Registry struct {
	nc          *nats.Conn
	opts        Options
	log         *slog.Logger
	inbox       string
	incarnation string

	subs   []*nats.Subscription
	msgs   chan *nats.Msg
	status chan nats.Status
	kick   chan struct{}
	quit   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
	stats  counters

	// mu guards self, peers, watchers and closed.
	mu       sync.Mutex
	self     Record
	peers    map[string]*Server
	watchers map[*watcher]struct{}
	closed   bool
}

// New joins the cluster over nc: it subscribes to the others' messages,
// asks who is there, waits Options.JoinWait for the answers, and from
// then on publishes this server's record every interval and on change.
// If nc is not connected yet, it joins once nc connects. nc stays the
// caller's: close the Registry first, then nc.
func New(ctx context.Context, nc *nats.Conn, o *Options) (*Registry, error) {
	opts, err := withDefaults(o)
	if err != nil {
		return nil, err
	}
	incarnation := newIncarnation()
	r := &Registry{
		nc: nc, opts: opts, log: opts.Logger.With("component", "registry", "server", opts.ServerID),
		inbox: nc.NewInbox(), incarnation: incarnation,
		msgs: make(chan *nats.Msg, msgBuffer), kick: make(chan struct{}, 1), quit: make(chan struct{}),
		peers: map[string]*Server{}, watchers: map[*watcher]struct{}{},
		self: Record{
			V: ProtocolVersion, ID: opts.ServerID, Incarnation: incarnation,
			IntervalMS: opts.Interval.Milliseconds(), RopeURL: opts.RopeURL,
			MediaAddresses: slices.Clone(opts.MediaAddresses), Workers: []Worker{},
			MaxWorkers: opts.MaxWorkers, Version: opts.Version,
		},
	}
	if r.self.MediaAddresses == nil {
		r.self.MediaAddresses = []string{}
	}
	if err := validSelf(r.self); err != nil && !opts.Observer {
		return nil, fmt.Errorf("%w: %w", ErrBadOptions, err)
	}
	if err := r.subscribe(); err != nil {
		r.unsubscribe()
		return nil, err
	}
	r.status = nc.StatusChanged(nats.CONNECTED)
	joined := nc.IsConnected()
	if joined {
		if err := nc.FlushWithContext(ctx); err != nil {
			joined = false
		} else {
			r.join()
		}
	}
	r.wg.Add(1)
	go r.run()
	if joined && opts.JoinWait > 0 {
		t := time.NewTimer(opts.JoinWait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			_ = r.Close(context.Background())
			return nil, fmt.Errorf("registry: joining: %w", ctx.Err())
		}
	}
	return r, nil
}

func withDefaults(o *Options) (Options, error) {
	if o == nil {
		return Options{}, fmt.Errorf("%w: none given", ErrBadOptions)
	}
	opts := *o
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&opts.Misses, DefaultMisses)
	def(&opts.MaxServers, DefaultMaxServers)
	def(&opts.MaxRecordBytes, DefaultMaxRecordBytes)
	if opts.Interval == 0 {
		opts.Interval = DefaultInterval
	}
	if opts.JoinWait == 0 {
		opts.JoinWait = DefaultJoinWait
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Version == "" {
		opts.Version = buildVersion()
	}
	if opts.Observer && opts.ServerID == "" {
		opts.ServerID = "observer" // names it in logs only
	}
	switch {
	case !ValidID(opts.ServerID):
		return opts, fmt.Errorf("%w: ServerID %q: want 1 to %d of A-Z a-z 0-9 _ -", ErrBadOptions, opts.ServerID, MaxIDLen)
	case opts.Interval < MinInterval || opts.Interval > MaxInterval || opts.Interval%time.Millisecond != 0:
		return opts, fmt.Errorf("%w: Interval %s: want whole milliseconds from %s to %s", ErrBadOptions, opts.Interval, MinInterval, MaxInterval)
	case opts.Misses < 2:
		return opts, fmt.Errorf("%w: Misses %d: want at least 2", ErrBadOptions, opts.Misses)
	}
	return opts, nil
}

func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return strings.TrimSpace(bi.Main.Path + " " + bi.Main.Version)
	}
	return ""
}

func newIncarnation() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (r *Registry) subscribe() error {
	for _, subject := range []string{HeartbeatSubject("*"), GoodbyeSubject("*"), WhoSubject, r.inbox} {
		s, err := r.nc.ChanSubscribe(subject, r.msgs)
		if err != nil {
			return fmt.Errorf("registry: subscribe %s: %w", subject, err)
		}
		r.subs = append(r.subs, s)
	}
	return nil
}

func (r *Registry) unsubscribe() {
	for _, s := range r.subs {
		_ = s.Unsubscribe()
	}
}

// ID is this server's id.
func (r *Registry) ID() string { return r.opts.ServerID }

// Observer reports whether the registry only watches (Options.Observer).
func (r *Registry) Observer() bool { return r.opts.Observer }

// Self returns this server's current record (an observer's is never
// published).
func (r *Registry) Self() Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.self.Clone()
}

// Servers returns the other servers in the view, by id.
func (r *Registry) Servers() []Server {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Server, 0, len(r.peers))
	for _, s := range r.peers {
		out = append(out, Server{Record: s.Record.Clone(), LastSeen: s.LastSeen})
	}
	slices.SortFunc(out, func(a, b Server) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Server returns the server id from the view.
func (r *Registry) Server(id string) (Server, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.peers[id]
	if !ok {
		return Server{}, false
	}
	return Server{Record: s.Record.Clone(), LastSeen: s.LastSeen}, true
}

// Update changes this server's record with fn (which gets a copy; its
// changes to V, ID, Incarnation, Seq and IntervalMS are ignored) and
// publishes it soon: at once, unless a record left less than a tenth of
// an interval ago. A record fn makes invalid is refused.
func (r *Registry) Update(fn func(*Record)) error {
	if r.opts.Observer {
		return fmt.Errorf("registry: update: %w", ErrObserver)
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrClosed
	}
	rec := r.self.Clone()
	fn(&rec)
	rec.V, rec.ID, rec.Incarnation, rec.Seq, rec.IntervalMS = r.self.V, r.self.ID, r.self.Incarnation, r.self.Seq, r.self.IntervalMS
	if rec.MediaAddresses == nil {
		rec.MediaAddresses = []string{}
	}
	if rec.Workers == nil {
		rec.Workers = []Worker{}
	}
	if err := validSelf(rec); err != nil {
		r.mu.Unlock()
		return fmt.Errorf("registry: update: %w", err)
	}
	changed := !sameState(&rec, &r.self)
	r.self = rec
	r.mu.Unlock()
	if changed {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// validSelf validates this server's own record, which may not have been
// sent yet (seq 0).
func validSelf(rec Record) error {
	rec.Seq = max(rec.Seq, 1)
	return rec.Validate()
}

// Stats returns the counters.
func (r *Registry) Stats() Stats {
	c := &r.stats
	return Stats{
		Received: c.received.Load(), Malformed: c.malformed.Load(), Oversized: c.oversized.Load(),
		Stale: c.stale.Load(), Full: c.full.Load(), Conflicts: c.conflicts.Load(),
		Published: c.published.Load(), PublishErrors: c.publishErrors.Load(), BytesPublished: c.bytesPublished.Load(),
	}
}

// Close leaves the cluster: it stops publishing, says goodbye (if the
// connection is up, flushing it within ctx), unsubscribes and ends every
// Watch. It does not close the NATS connection. It is idempotent.
func (r *Registry) Close(ctx context.Context) error {
	var err error
	r.once.Do(func() {
		r.mu.Lock()
		r.closed = true
		for w := range r.watchers {
			w.stop()
		}
		r.mu.Unlock()
		close(r.quit)
		r.wg.Wait()
		r.nc.RemoveStatusListener(r.status)
		r.unsubscribe()
		err = r.goodbye(ctx)
	})
	return err
}

func (r *Registry) goodbye(ctx context.Context) error {
	if r.opts.Observer || !r.nc.IsConnected() {
		return nil
	}
	data, _ := json.Marshal(Goodbye{V: ProtocolVersion, ID: r.opts.ServerID, Incarnation: r.incarnation})
	if err := r.publish(GoodbyeSubject(r.opts.ServerID), "", data); err != nil {
		return fmt.Errorf("registry: goodbye: %w", err)
	}
	if err := r.nc.FlushWithContext(ctx); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return fmt.Errorf("registry: goodbye: %w", err)
	}
	return nil
}

func (r *Registry) publish(subject, reply string, data []byte) error {
	err := r.nc.PublishMsg(&nats.Msg{Subject: subject, Reply: reply, Data: data})
	if err != nil {
		r.stats.publishErrors.Add(1)
		return err
	}
	r.stats.published.Add(1)
	r.stats.bytesPublished.Add(uint64(len(data)))
	return nil
}
