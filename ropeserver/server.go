// Package ropeserver serves ROPE v1 over WebSocket: it owns the registry of
// object types, the live objects and their state, the sequenced log that
// every connection receives in one global order, the replay window that lets
// clients resume, the connections themselves (authentication, read
// limits, bounded send queues, keepalive), and the sessions whose objects
// close when their client has been gone past a grace (lease.go).
//
// Lock order (see also state.go): Server.mu, then sendQueue.mu or
// connTimer.mu; Server.mu, then leaseTable.mu. Methods run with no lock
// held; Object mutators take Server.mu themselves.
package ropeserver

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ropehq/rope/rope"
)

// Defaults of Options.
const (
	DefaultMaxMessageSize = 1 << 20
	DefaultReplayWindow   = 16384
	DefaultSendQueueLimit = 65536
	DefaultMaxInFlight    = 256
	DefaultPingInterval   = 30 * time.Second
	DefaultWriteTimeout   = 10 * time.Second
	DefaultMaxConnections = 10000
)

// Defaults of the memory and fairness bounds of Options.
const (
	DefaultSendQueueBytes   = 64 << 20
	DefaultReplayBytes      = 64 << 20
	DefaultMaxObjectBytes   = 1 << 20
	DefaultMaxStateBytes    = 48 << 20
	DefaultMaxInFlightTotal = 4096
)

// Options configure a Server. The zero value (or nil) serves with defaults.
type Options struct {
	// Logger receives the server's logs. Default: slog.Default().
	Logger *slog.Logger
	// Token, when set, is the bearer token every connection must present,
	// as "Authorization: Bearer" or the access_token query parameter.
	Token string
	// Authenticate, when set, decides instead of Token. It gets the token the
	// client presented ("" for none); an error refuses the connection (401).
	Authenticate func(r *http.Request, token string) error
	// Authorize, when set, decides the handshake instead of Token and
	// Authenticate, and returns the connection's grant (spec §18;
	// grant.go): what it sees and may call. It gets the token presented
	// ("" for none; a client presenting different tokens is refused); an
	// error refuses the connection (401), a nil grant is full access.
	Authorize AuthorizeFunc
	// OriginPatterns lists the Origin hosts allowed besides the request's own
	// host (path.Match patterns, as coder/websocket takes them). Default:
	// same origin only; requests without Origin (non-browsers) pass.
	OriginPatterns []string
	// AllowedHosts lists the host names (path.Match patterns, compared
	// without port and case-insensitively) a request's Host may carry
	// besides "localhost", loopback addresses and the address the connection
	// arrived on, which always pass. Other requests get 403 (spec §4.3.2);
	// this stops DNS rebinding, where a page on a name that comes to resolve
	// to this server passes the Origin check as same-origin. Under a DNS name
	// or behind a reverse proxy that keeps the Host, list that name; "*"
	// turns the check off. Default: none besides those.
	AllowedHosts []string
	// MaxConnections bounds the open connections, handshakes being admitted
	// included; beyond it a handshake gets 503 and the open connections go
	// on. Default 10000; negative: no limit.
	MaxConnections int
	// SendFullErrors sends internal error texts to clients. Default off: the
	// client gets a code, a name and an errorId to find in the server log.
	SendFullErrors bool
	// MaxMessageSize bounds inbound messages, in bytes. Default 1 MiB; values
	// under rope.MinMaxMessageSize are raised to it.
	MaxMessageSize int64
	// ReplayWindow is how many sequenced notifications are kept for resume
	// (see ReplayBytes). Default 16384.
	ReplayWindow int
	// SendQueueLimit is how many messages may wait for a connection before
	// it is closed with 4000 as a slow consumer (see SendQueueBytes); it
	// resumes later. Values under rope.MinSendQueueMessages break spec
	// §10.3.1 (tests build such servers on purpose). Default 65536.
	SendQueueLimit int
	// MaxInFlight bounds the requests one connection has running; more get
	// -32005. Default 256.
	MaxInFlight int
	// PingInterval is the keepalive period; negative disables. Default 30 s.
	PingInterval time.Duration
	// PongTimeout is how long a ping may wait for its pong before the
	// connection is closed. Default PingInterval.
	PongTimeout time.Duration
	// WriteTimeout bounds how long a connection being closed (a slow
	// consumer with 4000, or any with 1001 when the server closes) may take
	// to get its close frame out behind what it was writing; past it the
	// connection is dropped without one. A peer that stops reading
	// otherwise is dropped by the keepalive. Default 10 s.
	WriteTimeout time.Duration
	// Payload, when set, returns the extra connection payload of rope.init.
	Payload func(r *http.Request) any
	// Methods are extra server methods, by JSON-RPC method name (not in the
	// reserved "rope." namespace). Call.Object is nil for them.
	Methods map[string]MethodFunc
	// MapError, when set, turns an application error into a wire error; a nil
	// result falls back to an internal error.
	MapError func(error) *rope.Error
	// Name is announced as rope.init's server member. Default "ropehq-go".
	Name string
	// OnCall, when set, is told of every request once it is answered (and
	// of every notification to a method once it ran), with a method label
	// from a bounded set and the error code (CallInfo); it runs on the
	// request's goroutine and must not block. Default none.
	OnCall func(CallInfo)

	// Sessions and object leases (spec §17; lease.go).
	//
	// LeaseGrace is how long the objects leased to a session (Call.Own)
	// outlive its last connection, unless its client asks for another
	// grace; a resume within it keeps them. Default DefaultLeaseGrace;
	// negative: sessions are persistent unless their client asks for a
	// grace.
	LeaseGrace time.Duration
	// MaxLeaseGrace bounds the grace a client may ask for: a longer ask
	// gets MaxLeaseGrace. Default DefaultMaxLeaseGrace, and at least
	// LeaseGrace.
	MaxLeaseGrace time.Duration
	// AllowPersistentLeases lets clients ask for a persistent session
	// (lease=persistent), whose objects outlive it until closed. Default
	// false: the ask gets MaxLeaseGrace (unless LeaseGrace is negative).
	AllowPersistentLeases bool
	// LeaseLegacyClients leases the objects of connections that take no
	// part in sessions (no session parameter) too: they close LeaseGrace
	// after the connection ends, even if its client comes back. Default
	// false: such objects outlive their connection, as before sessions.
	LeaseLegacyClients bool
	// MaxSessionObjects bounds the objects leased to one session (or one
	// legacy connection); creating calls beyond it answer -32005
	// Overloaded. Default DefaultMaxSessionObjects; negative: no limit.
	MaxSessionObjects int

	// Memory and fairness bounds (spec §10). Zero means the default.

	// SendQueueBytes bounds the bytes waiting for one connection: past it,
	// or past SendQueueLimit messages, the connection is closed with 4000
	// as a slow consumer. rope.init and a resume's replay do not count
	// (MaxStateBytes and ReplayBytes bound them). Values under
	// rope.MinSendQueueBytes break spec §10.3.1. Default 64 MiB.
	SendQueueBytes int64
	// ReplayBytes bounds the bytes of the notifications kept for resume
	// (ReplayWindow bounds their number); the oldest leave first. Default
	// 64 MiB.
	ReplayBytes int64
	// MaxObjectBytes bounds one object's state (its props and appData, as a
	// snapshot carries it) and the data of one event. A Create, Set,
	// SetAppData or Emit past it fails with ErrTooLarge; a client's
	// rope.setAppData gets -32602. Default 1 MiB (a router's
	// rtpCapabilities take about 7 KiB).
	MaxObjectBytes int64
	// MaxStateBytes bounds the state of all objects together, and so the
	// size of rope.init. A change past it fails with ErrStateFull (clients
	// get -32005). It also bounds a method's result and an unsequenced
	// notification. The server announces the largest message it may send
	// (from this bound, MaxMessageSize, the type catalogue and the
	// connection payload) in the handshake's Rope-Outbound-Limit header.
	// Values under MaxObjectBytes are raised to it. Default 48 MiB, which
	// keeps every message under the 64 MiB all clients accept.
	MaxStateBytes int64
	// MaxInFlightTotal bounds the requests running over all connections
	// (MaxInFlight bounds one connection's); more get -32005. Default 4096.
	MaxInFlightTotal int
}

func (o *Options) withDefaults() Options {
	var d Options
	if o != nil {
		d = *o
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.MaxMessageSize == 0 {
		d.MaxMessageSize = DefaultMaxMessageSize
	}
	d.MaxMessageSize = max(d.MaxMessageSize, rope.MinMaxMessageSize)
	if d.ReplayWindow <= 0 {
		d.ReplayWindow = DefaultReplayWindow
	}
	if d.SendQueueLimit <= 0 {
		d.SendQueueLimit = DefaultSendQueueLimit
	}
	if d.MaxInFlight <= 0 {
		d.MaxInFlight = DefaultMaxInFlight
	}
	if d.PingInterval == 0 {
		d.PingInterval = DefaultPingInterval
	}
	if d.PongTimeout <= 0 {
		d.PongTimeout = d.PingInterval
	}
	if d.WriteTimeout <= 0 {
		d.WriteTimeout = DefaultWriteTimeout
	}
	if d.MaxConnections == 0 {
		d.MaxConnections = DefaultMaxConnections
	}
	if d.Name == "" {
		d.Name = "ropehq-go"
	}
	d.leaseDefaults()
	d.SendQueueBytes = orDefault(d.SendQueueBytes, DefaultSendQueueBytes)
	d.ReplayBytes = orDefault(d.ReplayBytes, DefaultReplayBytes)
	d.MaxObjectBytes = orDefault(d.MaxObjectBytes, DefaultMaxObjectBytes)
	d.MaxStateBytes = max(orDefault(d.MaxStateBytes, DefaultMaxStateBytes), d.MaxObjectBytes)
	d.MaxInFlightTotal = orDefault(d.MaxInFlightTotal, DefaultMaxInFlightTotal)
	return d
}

// orDefault is v, or def when v is zero or negative.
func orDefault[T int | int64](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Server is a ROPE server. It is an http.Handler: mount it where clients
// connect. Close it to drop every connection.
type Server struct {
	opts  Options
	log   *slog.Logger
	epoch string

	// mu guards the object state, the sequenced log and the connection set.
	mu         sync.Mutex
	types      map[string]*objectType
	objects    map[string]*Object
	created    uint64    // creation counter, orders snapshots
	ordered    []*Object // live objects in creation order, and some closed
	nClosed    int       // closed objects still in ordered
	stateBytes int64     // the objects' states as a snapshot carries them
	seq        uint64
	ring       replayRing
	conns      map[*Conn]struct{}
	full       map[*Conn]struct{}            // the conns without a view: they get every notification
	views      map[*Conn]struct{}            // the conns with a view (view.go)
	rootViews  map[string]map[*Conn]struct{} // the views by the ids of their roots
	closed     bool

	// leases holds the sessions and their leased objects (lease.go).
	leases *leaseTable

	// connsWG counts running connections, so Close can wait for them.
	connsWG sync.WaitGroup
	// connSlots holds a token per connection (MaxConnections); nil: no limit.
	connSlots chan struct{}
	// inFlight counts the requests running over all connections.
	inFlight atomic.Int64
}

// New returns a server with the given options (nil for defaults).
func New(opts *Options) *Server {
	o := opts.withDefaults()
	return &Server{
		opts:      o,
		log:       o.Logger,
		epoch:     randomHex(8),
		types:     make(map[string]*objectType),
		objects:   make(map[string]*Object),
		ring:      newReplayRing(o.ReplayWindow, o.ReplayBytes),
		conns:     make(map[*Conn]struct{}),
		full:      make(map[*Conn]struct{}),
		views:     make(map[*Conn]struct{}),
		rootViews: make(map[string]map[*Conn]struct{}),
		leases:    newLeaseTable(),

		connSlots: newConnSlots(o.MaxConnections),
	}
}

// Epoch is the server's epoch: its sequence numbers are valid within it.
func (s *Server) Epoch() string { return s.epoch }

// Seq is the sequence number of the last notification sent.
func (s *Server) Seq() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seq
}

// ConnCount is the number of open connections.
func (s *Server) ConnCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Close closes every connection with 1001 (going away), refuses new ones,
// waits for the connections to finish, and stops ending sessions (their
// objects stay). It is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	conns := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.closeWith(rope.CloseGoingAway, "server closing")
	}
	s.connsWG.Wait()
	s.leases.stop()
	return nil
}

// NotifyAll sends an unsequenced notification to every connection.
func (s *Server) NotifyAll(method string, params any) error {
	msg, err := s.encodeAppNotification(method, params)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.push(msg)
	}
	return nil
}

// encodeAppNotification encodes an unsequenced notification, bounded by
// MaxStateBytes like a method's result.
func (s *Server) encodeAppNotification(method string, params any) ([]byte, error) {
	msg, err := rope.EncodeNotification(method, params)
	if err != nil {
		return nil, fmt.Errorf("ropeserver: encode %s: %w", method, err)
	}
	if int64(len(msg)) > s.opts.MaxStateBytes {
		return nil, fmt.Errorf("ropeserver: notification %s of %d bytes: %w", method, len(msg), ErrTooLarge)
	}
	return msg, nil
}

// outboundLimit is the largest message the server may send on a
// connection with this payload: rope.init with all the state it may hold,
// or a response (a result up to MaxStateBytes and an id up to
// MaxMessageSize).
func (s *Server) outboundLimit(payload json.RawMessage) int64 {
	s.mu.Lock()
	types := s.typeInfos()
	s.mu.Unlock()
	catalogue, _ := json.Marshal(types)
	const envelope = 1024 // rope.init's other members
	return s.opts.MaxStateBytes + max(int64(len(catalogue)+len(payload)+len(s.opts.Name)), s.opts.MaxMessageSize) + envelope
}

// acquireCall counts a request in flight, unless MaxInFlightTotal are.
func (s *Server) acquireCall() bool {
	if s.inFlight.Add(1) > int64(s.opts.MaxInFlightTotal) {
		s.inFlight.Add(-1)
		return false
	}
	return true
}

func (s *Server) releaseCall() { s.inFlight.Add(-1) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// marshalValue encodes v as JSON; a json.RawMessage goes as it is, once
// checked, since messages are built by appending such values.
func marshalValue(v any) (json.RawMessage, error) {
	if raw, ok := v.(json.RawMessage); ok {
		if raw == nil {
			return json.RawMessage("null"), nil
		}
		if !json.Valid(raw) {
			return nil, errors.New("invalid JSON in a json.RawMessage")
		}
		return raw, nil
	}
	return json.Marshal(v)
}
