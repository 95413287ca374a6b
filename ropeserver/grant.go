package ropeserver

// Scoped access and per-connection views (spec §18). A connection's Grant,
// decided at the handshake by Options.Authorize, says which objects it sees
// (its view), which methods it may call, how many objects its subject may
// own, and until when. A nil *Grant is full access: the connection sees
// every object and may call every method, as before views.

import (
	"net/http"
	"time"

	"github.com/ropehq/rope/rope"
)

// Grant is what one connection may see and do (spec §18). A nil *Grant is
// full access (an operator). A Grant is read, never changed, once
// Options.Authorize has returned it.
type Grant struct {
	// Subject is recorded as the owner of the objects this connection's
	// calls own (Call.Own, Call.Create, and so every leased object):
	// Object.Owner. HideOthers, Methods.Own and Quotas compare owners
	// with it. "" is a subject like any other: give each party its own.
	Subject string
	// Roots are the ids of the objects whose subtrees (each root and its
	// descendants) the connection sees; an id may name an object that
	// does not exist yet. Empty: every object.
	Roots []string
	// Hide hides objects by type name: HideOthers hides the objects of
	// that type not owned by Subject, HideAll every object of that type;
	// either hides their descendants too; HideOthersShallow hides the
	// objects of that type not owned by Subject and not their
	// descendants. Only the objects between a
	// visible object and the root that makes it visible (both included)
	// count: an ancestor above the root hides nothing.
	Hide map[string]Hide
	// Calls lists, per type name, the methods the connection may call on
	// the objects of that type it sees; a type absent allows none. A nil
	// Calls allows every method on every visible object. The built-in
	// rope.setAppData counts as the method "setAppData"
	// (MethodSetAppData); the server's extra methods (Options.Methods)
	// are listed in the Any of the type "" (ServerMethods). A refused
	// call answers -32004 Unauthorized naming the type and method.
	Calls map[string]Methods
	// Quotas bounds, per type name, the live objects of that type owned by
	// Subject (over all the subject's connections); a creating call past
	// it answers -32005 Overloaded before anything is created
	// (Call.ReserveType, Call.Create). 0 or absent: no bound beyond
	// Options.MaxSessionObjects.
	Quotas map[string]int
	// Expires ends the grant: at that time the connection is closed with
	// rope.CloseGrantExpired (4003), and calls made from then on answer
	// -32004 Unauthorized. Zero: never.
	Expires time.Time
}

// Hide says which objects of a type a grant hides.
type Hide int

const (
	// HideNone hides nothing (the same as the type being absent).
	HideNone Hide = iota
	// HideOthers hides the objects of the type that the grant's Subject
	// does not own, and their descendants.
	HideOthers
	// HideAll hides every object of the type, and their descendants.
	HideAll
	// HideOthersShallow hides the objects of the type that the grant's
	// Subject does not own, but not their descendants, which stay visible
	// on their own terms: a media participant sees the producers of
	// others, not the transports (and their ICE and DTLS parameters) that
	// carry them.
	HideOthersShallow
)

// Methods are the methods a grant allows on the objects of one type. A
// name "*" stands for every method.
type Methods struct {
	// Any are allowed on every visible object of the type.
	Any []string
	// Own are allowed only on the objects of the type that the grant's
	// Subject owns.
	Own []string
}

// MethodSetAppData is the method name under which Grant.Calls allows the
// built-in rope.setAppData.
const MethodSetAppData = "setAppData"

// ServerMethods is the type name under which Grant.Calls lists the
// server's extra methods (Options.Methods), in Methods.Any.
const ServerMethods = ""

// AuthorizeFunc decides a handshake (Options.Authorize): it gets the token
// the client presented ("" for none) and returns the connection's grant
// (nil: full access), or an error that refuses the connection (401).
type AuthorizeFunc func(r *http.Request, token string) (*Grant, error)

// Grant is the connection's grant; nil: full access.
func (c *Conn) Grant() *Grant { return c.grant }

// Grant is the grant of the connection the call came on; nil for full
// access, or for a call made by the server itself (no connection).
func (c *Call) Grant() *Grant {
	if c.Conn == nil {
		return nil
	}
	return c.Conn.grant
}

// Owner is the subject that owns the object: the Grant.Subject of the
// connection whose call last owned it (Call.Own), "" when no call has, or
// when that connection had full access.
func (o *Object) Owner() string {
	o.srv.mu.Lock()
	defer o.srv.mu.Unlock()
	return o.owner
}

// ReserveType is Reserve for n objects of the named type the call is about
// to create and Own: besides the session's slots it takes n of the
// grant's quota for that type (Grant.Quotas), so that a call past either
// bound answers -32005 Overloaded before anything is created. Own of an
// object of that type uses what it reserved; the rest returns when the
// method does. A call without a connection reserves nothing.
func (c *Call) ReserveType(typeName string, n int) error {
	s := c.server()
	if s == nil || n <= 0 {
		return nil
	}
	limit := 0
	g := c.Grant()
	if g != nil {
		limit = g.Quotas[typeName]
	}
	l := s.leases
	l.mu.Lock()
	defer l.mu.Unlock()
	se := s.callSession(c)
	if se != nil && s.fullLocked(se, n) {
		return s.errFull()
	}
	if limit > 0 {
		k := quotaKey{g.Subject, typeName}
		if l.owned[k]+n > limit {
			return errQuota(typeName, limit)
		}
		l.owned[k] += n
		if c.typed == nil {
			c.typed = map[string]int{}
		}
		c.typed[typeName] += n
	}
	if se != nil { // as Reserve
		se.reserved += n
		c.reserved += n
	}
	return nil
}

// quotaKey counts one subject's objects of one type.
type quotaKey struct{ subject, typ string }

func errQuota(typeName string, limit int) error {
	e := rope.NewError(rope.CodeOverloaded, "this grant may own at most %d objects of type %s", limit, typeName)
	e.Data.Type = typeName
	return e
}

// countOwnedLocked counts obj as owned by subject, from c's reservation
// of its type or, within the grant's quota, anew. Callers hold
// leaseTable.mu.
func (s *Server) countOwnedLocked(c *Call, obj *Object, subject string) error {
	l := s.leases
	k := quotaKey{subject, obj.typ.Name}
	old, had := l.counted[obj]
	if had && old == k {
		return nil
	}
	switch {
	case c.typed[k.typ] > 0:
		c.typed[k.typ]-- // counted when reserved
	default:
		if g := c.Grant(); g != nil && g.Quotas[k.typ] > 0 && l.owned[k]+1 > g.Quotas[k.typ] {
			return errQuota(k.typ, g.Quotas[k.typ])
		}
		l.owned[k]++
	}
	if had {
		l.decOwnedLocked(old)
	}
	l.counted[obj] = k
	return nil
}

// uncountLocked stops counting obj (it closed). Callers hold
// leaseTable.mu.
func (s *Server) uncountLocked(obj *Object) {
	l := s.leases
	if k, ok := l.counted[obj]; ok {
		delete(l.counted, obj)
		l.decOwnedLocked(k)
	}
}

func (l *leaseTable) decOwnedLocked(k quotaKey) {
	if l.owned[k]--; l.owned[k] <= 0 {
		delete(l.owned, k)
	}
}

// releaseTypedLocked gives back the quota c reserved and did not use.
// Callers hold leaseTable.mu.
func (s *Server) releaseTypedLocked(c *Call) {
	g := c.Grant()
	for typ, n := range c.typed {
		for range n {
			s.leases.decOwnedLocked(quotaKey{g.Subject, typ})
		}
	}
	c.typed = nil
}

// setOwnerLocked records o's owner. On a server that serves views
// (Options.Authorize), an owner that changes is published as view moves
// (view.go): one entry for an object alone; for a subtree a leaving pass,
// children first, then an entering pass, parents first. Callers hold s.mu.
func (s *Server) setOwnerLocked(o *Object, owner string) {
	before := o.owner
	if before == owner || o.closed {
		return
	}
	o.owner = owner
	if s.opts.Authorize == nil {
		return // no connection has a view
	}
	var sub []*Object
	o.collectLocked(&sub)
	if len(sub) == 1 {
		s.publishMoveLocked(o, o, before, owner, phaseLeave|phaseEnter)
		return
	}
	sortByOrder(sub) // parents before children
	for i := len(sub) - 1; i >= 0; i-- {
		s.publishMoveLocked(sub[i], o, before, owner, phaseLeave)
	}
	for _, d := range sub {
		s.publishMoveLocked(d, o, before, owner, phaseEnter)
	}
}

// publishMoveLocked publishes one view-move entry for obj, whose owner (or
// whose ancestor owner's) changed from before to after.
func (s *Server) publishMoveLocked(obj, owner *Object, before, after string, phase movePhase) {
	seq := s.seq + 1
	id := append([]byte(`"id":`), obj.qid...)
	m := &viewMove{owner: owner, before: before, after: after, phase: phase}
	if phase&phaseEnter != 0 {
		st := obj.stateLocked()
		body := append([]byte(`"object":`), st.appendJSON(make([]byte, 0, obj.size+16))...)
		m.created = encodeSequenced(rope.MethodCreated, seq, body)
	}
	if phase&phaseLeave != 0 {
		m.closed = encodeSequenced(rope.MethodClosed, seq, id)
	}
	update := encodeSequenced(rope.MethodUpdated, seq, append(id, `,"props":{}`...))
	s.sendLocked(seq, update, obj, noteMove, m)
}

// allowed checks a call of method on obj (nil: an extra server method)
// against c's grant: -32004 Unauthorized when the grant has expired or
// does not list the method (spec §18.4).
func (c *Conn) allowed(obj *Object, method string) error {
	g := c.grant
	if g == nil {
		return nil
	}
	typ := ServerMethods
	if obj != nil {
		typ = obj.typ.Name
	}
	refuse := func(format string, args ...any) error {
		e := rope.NewError(rope.CodeUnauthorized, format, args...)
		e.Data.Type, e.Data.Method = typ, method
		if obj != nil {
			e.Data.Object = obj.id
		}
		return e
	}
	if !g.Expires.IsZero() && !time.Now().Before(g.Expires) {
		return refuse("this connection's grant has expired")
	}
	if g.Calls == nil {
		return nil
	}
	ms := g.Calls[typ]
	if listed(ms.Any, method) {
		return nil
	}
	if listed(ms.Own, method) {
		if obj != nil && obj.Owner() == g.Subject {
			return nil
		}
		return refuse("this connection's grant allows %s only on the %s objects it owns", method, typ)
	}
	if obj == nil {
		return refuse("this connection's grant does not allow the method %s", method)
	}
	return refuse("this connection's grant does not allow %s on %s objects", method, typ)
}

// listed says whether names holds name or "*".
func listed(names []string, name string) bool {
	for _, n := range names {
		if n == name || n == "*" {
			return true
		}
	}
	return false
}

// startExpiry schedules the close of a connection whose grant expires
// (rope.CloseGrantExpired).
func (c *Conn) startExpiry() {
	if c.grant == nil || c.grant.Expires.IsZero() {
		return
	}
	c.expiry.schedule(time.Until(c.grant.Expires), func() {
		c.logger().Info("ropeserver: grant expired, closing the connection")
		c.closeWith(rope.CloseGrantExpired, "grant expired")
	})
}
