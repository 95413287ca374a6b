package ropeserver

// Sessions and object leases (spec §17). A connection that presents the
// session query parameter belongs to a session, which it starts ("new")
// or resumes (an id from an earlier rope.init). Methods lease the objects
// they create for a caller to the caller's session (Call.Own, Call.Create).
// When a session has had no connection for its grace, the server ends it
// and closes its leased objects, each through its Go value's
// Close(context.Context) when it has one, so the value's own events follow
// as when a client closes it; a resume within the grace keeps them.
// Connections without the parameter (legacy clients) get a session of
// their own that no one can resume: its objects are counted against
// MaxSessionObjects and, unless Options.LeaseLegacyClients, released
// (kept, unowned) when the connection ends.
//
// Lock order: Server.mu, then leaseTable.mu (attach reads a session's
// info under Server.mu, Own records the owner under both). Nothing is
// called with leaseTable.mu held.

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/ropehq/rope/rope"
)

// Defaults of the lease options.
const (
	DefaultLeaseGrace        = 30 * time.Second
	DefaultMaxLeaseGrace     = time.Hour
	DefaultMaxSessionObjects = 10000
)

// leaseCloseTimeout bounds the close of one object whose lease ended.
const leaseCloseTimeout = 10 * time.Second

// ErrSessionEnded: Own on a call whose session has ended (a method that
// creates an object after its connection is gone).
var ErrSessionEnded = errors.New("ropeserver: session ended")

// ValueCloser is implemented by the Go values behind objects (Object.Value)
// that close themselves: when a lease ends, the server closes a leased
// object through its value, whose close must close the object. The media
// objects of media/mediaserver are such values.
type ValueCloser interface {
	Close(ctx context.Context) error
}

func (o *Options) leaseDefaults() {
	if o.LeaseGrace == 0 {
		o.LeaseGrace = DefaultLeaseGrace
	}
	if o.MaxLeaseGrace <= 0 {
		o.MaxLeaseGrace = DefaultMaxLeaseGrace
	}
	o.MaxLeaseGrace = max(o.MaxLeaseGrace, o.LeaseGrace)
	if o.MaxSessionObjects == 0 {
		o.MaxSessionObjects = DefaultMaxSessionObjects
	}
}

// session is one client's session, or a legacy connection's.
type session struct {
	id     string
	legacy bool // a connection without the session parameter: not resumable

	// Guarded by leaseTable.mu.
	persistent bool
	grace      time.Duration
	conns      int
	objects    map[*Object]struct{}
	reserved   int         // slots taken by Call.Reserve, not yet used
	timer      *time.Timer // running while the session has no connection
	gen        uint64      // counts timers, so a stale one does nothing
}

func (se *session) info(maxObjects int) *rope.SessionInfo {
	in := &rope.SessionInfo{ID: se.id, MaxObjects: max(maxObjects, 0)}
	if !se.persistent {
		ms := se.grace.Milliseconds()
		in.Lease = &ms
	}
	return in
}

// leaseTable holds the sessions and who owns which object.
type leaseTable struct {
	// ctx is cancelled by stop, so that closes under way end; it is the
	// table's lifetime, not a request's.
	ctx    context.Context
	cancel context.CancelFunc
	// expiring counts the sessions being ended, so stop can wait for them.
	expiring sync.WaitGroup

	// mu guards the fields below and the sessions' fields.
	mu       sync.Mutex
	sessions map[string]*session // resumable sessions, by id
	byConn   map[*Conn]*session
	owners   map[*Object]*session
	// owned counts the live objects each subject owns, by type, and the
	// quota calls reserved (grant.go); counted is the key each owned
	// object counts under.
	owned   map[quotaKey]int
	counted map[*Object]quotaKey
	stopped bool
}

func newLeaseTable() *leaseTable {
	ctx, cancel := context.WithCancel(context.Background())
	return &leaseTable{ctx: ctx, cancel: cancel, sessions: map[string]*session{},
		byConn: map[*Conn]*session{}, owners: map[*Object]*session{},
		owned: map[quotaKey]int{}, counted: map[*Object]quotaKey{}}
}

// stop ends no more sessions and waits for those being ended.
func (l *leaseTable) stop() {
	l.mu.Lock()
	l.stopped = true
	for _, se := range l.sessions {
		if se.timer != nil {
			se.timer.Stop()
			se.timer = nil
		}
	}
	l.mu.Unlock()
	l.cancel()
	l.expiring.Wait()
}

// joinSession gives c its session: the one the request resumes, a new one,
// or for a legacy client one of its own; it applies the lease the client
// asks for.
func (s *Server) joinSession(c *Conn, r *http.Request) {
	q := r.URL.Query()
	l := s.leases
	l.mu.Lock()
	defer l.mu.Unlock()
	legacy := !q.Has(rope.QuerySession)
	se := l.sessions[q.Get(rope.QuerySession)]
	if legacy || se == nil || se.legacy {
		se = s.newSession(legacy)
		l.sessions[se.id] = se
	}
	if !se.legacy {
		s.applyLease(se, q.Get(rope.QueryLease))
	}
	se.conns++
	s.stopTimerLocked(se)
	l.byConn[c] = se
}

func (s *Server) newSession(legacy bool) *session {
	return &session{id: randomHex(16), legacy: legacy, grace: max(s.opts.LeaseGrace, 0),
		persistent: s.opts.LeaseGrace < 0 || legacy && !s.opts.LeaseLegacyClients,
		objects:    map[*Object]struct{}{}}
}

// applyLease sets the lease a client asks for ("" or a malformed value:
// unchanged), within the operator's bounds.
func (s *Server) applyLease(se *session, ask string) {
	if ask == rope.LeasePersistent {
		if s.opts.AllowPersistentLeases || s.opts.LeaseGrace < 0 {
			se.persistent = true
			return
		}
		se.persistent, se.grace = false, s.opts.MaxLeaseGrace
		return
	}
	if !isDigits(ask) {
		return
	}
	ms, err := strconv.ParseUint(ask, 10, 64)
	if err != nil || ms > uint64(s.opts.MaxLeaseGrace.Milliseconds()) {
		ms = uint64(s.opts.MaxLeaseGrace.Milliseconds()) // too large to parse is too long
	}
	se.persistent, se.grace = false, time.Duration(ms)*time.Millisecond
}

func isDigits(v string) bool {
	for _, r := range v {
		if r < '0' || r > '9' {
			return false
		}
	}
	return v != ""
}

// sessionInfo is c's rope.init session member; nil for a legacy client.
// Callers may hold s.mu.
func (s *Server) sessionInfo(c *Conn) *rope.SessionInfo {
	l := s.leases
	l.mu.Lock()
	defer l.mu.Unlock()
	se := l.byConn[c]
	if se == nil || se.legacy {
		return nil
	}
	return se.info(s.opts.MaxSessionObjects)
}

// leaveSession detaches c from its session. The last connection out starts
// the grace, or ends a session that holds nothing (or whose objects
// persist as a legacy client's).
func (s *Server) leaveSession(c *Conn) {
	l := s.leases
	l.mu.Lock()
	defer l.mu.Unlock()
	se := l.byConn[c]
	if se == nil {
		return
	}
	delete(l.byConn, c)
	se.conns--
	switch {
	case se.conns > 0:
	case len(se.objects) == 0 && se.reserved == 0:
		s.endSessionLocked(se)
	case se.legacy && se.persistent:
		for o := range se.objects {
			delete(l.owners, o)
		}
		s.endSessionLocked(se)
	case se.persistent || l.stopped:
	default:
		se.gen++
		gen := se.gen
		se.timer = time.AfterFunc(se.grace, func() { s.expireSession(se, gen) })
	}
}

func (s *Server) stopTimerLocked(se *session) {
	if se.timer != nil {
		se.timer.Stop()
		se.timer = nil
	}
	se.gen++
}

func (s *Server) endSessionLocked(se *session) {
	s.stopTimerLocked(se)
	if s.leases.sessions[se.id] == se {
		delete(s.leases.sessions, se.id)
	}
}

// expireSession ends se when its grace (timer gen) ran out with no
// connection, closing its objects.
func (s *Server) expireSession(se *session, gen uint64) {
	l := s.leases
	l.mu.Lock()
	if l.stopped || se.gen != gen || se.conns > 0 {
		l.mu.Unlock()
		return
	}
	se.timer = nil
	objs := make([]*Object, 0, len(se.objects))
	for o := range se.objects {
		objs = append(objs, o)
		delete(l.owners, o)
	}
	se.objects = map[*Object]struct{}{}
	s.endSessionLocked(se)
	l.expiring.Add(1)
	l.mu.Unlock()
	defer l.expiring.Done()
	s.log.Info("ropeserver: session ended, closing its leased objects", "objects", len(objs), "grace", se.grace)
	s.closeLeased(objs)
}

// closeLeased closes objs in creation order (parents first, so a parent's
// close cascades as usual), each through its value when it is a
// ValueCloser.
func (s *Server) closeLeased(objs []*Object) {
	s.mu.Lock()
	sortByOrder(objs)
	s.mu.Unlock()
	for _, o := range objs {
		if o.Closed() {
			continue
		}
		if vc, ok := o.Value().(ValueCloser); ok {
			ctx, cancel := context.WithTimeout(s.leases.ctx, leaseCloseTimeout)
			err := vc.Close(ctx)
			cancel()
			if err == nil {
				continue // its close closes o
			}
			s.log.Warn("ropeserver: closing a leased object", "object", o.id, "type", o.typ.Name, "err", err)
		}
		o.Close()
	}
}

// callSession is the session of the call's connection, or nil.
func (s *Server) callSession(c *Call) *session {
	if c.Conn == nil {
		return nil
	}
	return s.leases.byConn[c.Conn]
}

// full reports whether se can take no n more objects.
func (s *Server) fullLocked(se *session, n int) bool {
	limit := s.opts.MaxSessionObjects
	return limit > 0 && len(se.objects)+se.reserved+n > limit
}

func (s *Server) errFull() error {
	return rope.NewError(rope.CodeOverloaded, "this session holds the most objects it may (%d)", s.opts.MaxSessionObjects)
}

// Session is the id of the connection's session (spec §17), "" when its
// client takes no part in sessions.
func (c *Conn) Session() string {
	l := c.srv.leases
	l.mu.Lock()
	defer l.mu.Unlock()
	if se := l.byConn[c]; se != nil && !se.legacy {
		return se.id
	}
	return ""
}

// server is the server the call runs on, or nil.
func (c *Call) server() *Server {
	switch {
	case c.Conn != nil:
		return c.Conn.srv
	case c.Object != nil:
		return c.Object.srv
	}
	return nil
}

// Reserve takes n of the object slots of the caller's session for objects
// the call is about to create and Own, so that it can refuse before
// creating anything: past Options.MaxSessionObjects it returns -32005
// Overloaded. Slots Own does not use return when the method does. A call
// without a connection reserves nothing.
func (c *Call) Reserve(n int) error {
	s := c.server()
	if s == nil || n <= 0 {
		return nil
	}
	l := s.leases
	l.mu.Lock()
	defer l.mu.Unlock()
	se := s.callSession(c)
	if se == nil {
		return nil
	}
	if s.fullLocked(se, n) {
		return s.errFull()
	}
	se.reserved += n
	c.reserved += n
	return nil
}

// releaseReserved gives back the slots the call reserved and did not use,
// and the quota it reserved (grant.go).
func (c *Call) releaseReserved() {
	if c.reserved == 0 && len(c.typed) == 0 {
		return
	}
	s := c.server()
	l := s.leases
	l.mu.Lock()
	defer l.mu.Unlock()
	if se := s.callSession(c); se != nil {
		se.reserved -= c.reserved
	}
	c.reserved = 0
	s.releaseTypedLocked(c)
}

// Own leases obj to the caller's session (spec §17): when the session has
// had no connection for its grace, the server closes obj, through its
// value if that is a ValueCloser. An object has one owner at most: Own
// takes it from another session. Own uses a slot Reserve took, or takes
// one, failing with -32005 Overloaded when the session is full. Closing
// obj ends its lease. A call without a connection owns nothing.
//
// Own also records the subject of the caller's grant ("" without one) as
// obj's owner (Object.Owner, spec §18.1.2), within the grant's quota for
// obj's type (a place ReserveType took, or -32005 Overloaded); on a server
// with views an owner that changes moves obj into and out of views
// (§18.7).
func (c *Call) Own(obj *Object) error {
	s := c.server()
	if s == nil || c.Conn == nil {
		return nil
	}
	subject := ""
	if g := c.Conn.grant; g != nil {
		subject = g.Subject
	}
	s.mu.Lock() // the owner's subject changes what views see (view.go)
	first, err := s.ownLocked(c, obj, subject)
	s.mu.Unlock()
	if first {
		obj.OnClose(func() { s.disown(obj) })
	}
	return err
}

// ownLocked is Own under s.mu; first reports whether obj had no owning
// session before.
func (s *Server) ownLocked(c *Call, obj *Object, subject string) (first bool, err error) {
	l := s.leases
	l.mu.Lock()
	se := s.callSession(c)
	if se == nil {
		l.mu.Unlock()
		return false, ErrSessionEnded
	}
	prev := l.owners[obj]
	useSlot := prev != se && c.reserved > 0
	if prev != se && !useSlot && s.fullLocked(se, 1) {
		l.mu.Unlock()
		return false, s.errFull()
	}
	if err := s.countOwnedLocked(c, obj, subject); err != nil {
		l.mu.Unlock()
		return false, err
	}
	if useSlot {
		c.reserved--
		se.reserved--
	}
	if prev != se {
		if prev != nil {
			delete(prev.objects, obj)
			if prev.conns == 0 && len(prev.objects) == 0 {
				s.endSessionLocked(prev)
			}
		}
		l.owners[obj] = se
		se.objects[obj] = struct{}{}
	}
	l.mu.Unlock()
	s.setOwnerLocked(obj, subject)
	return prev == nil, nil
}

// disown ends obj's lease (it closed); a session left with nothing and no
// connection ends.
func (s *Server) disown(obj *Object) {
	l := s.leases
	l.mu.Lock()
	defer l.mu.Unlock()
	s.uncountLocked(obj)
	se := l.owners[obj]
	if se == nil {
		return
	}
	delete(l.owners, obj)
	delete(se.objects, obj)
	if se.conns == 0 && len(se.objects) == 0 && se.reserved == 0 {
		s.endSessionLocked(se)
	}
}

// Create creates an object as Server.Create does, on behalf of the
// caller: leased to its session and owned by its grant's subject (Own),
// and refused with -32005 Overloaded before anything is created when the
// session is full or the subject at its quota (ReserveType).
func (c *Call) Create(typeName string, o *ObjectOptions) (*Object, error) {
	s := c.server()
	if s == nil {
		return nil, errors.New("ropeserver: Call.Create needs a connection or an object")
	}
	if err := c.ReserveType(typeName, 1); err != nil {
		return nil, err
	}
	if g := c.Grant(); g != nil && (o == nil || o.Owner == "") {
		owned := ObjectOptions{}
		if o != nil {
			owned = *o
		}
		owned.Owner = g.Subject // in its owner's view from its rope.created
		o = &owned
	}
	obj, err := s.Create(typeName, o)
	if err != nil {
		return nil, err
	}
	if err := c.Own(obj); err != nil {
		obj.Close()
		return nil, err
	}
	return obj, nil
}
