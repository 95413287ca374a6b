package ropeserver

// Scoped access and per-connection views (spec §18). A connection's Grant,
// decided at the handshake by Options.Authorize, says which objects it sees
// (its view), which methods it may call, how many objects its subject may
// own, and until when. A nil *Grant is full access: the connection sees
// every object and may call every method, as before views.

import (
	"net/http"
	"time"
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
	// either hides their descendants too. Only the objects between a
	// visible object and the root that makes it visible (both included)
	// count: an ancestor above the root hides nothing.
	Hide map[string]Hide
	// Calls lists, per type name, the methods the connection may call on
	// the objects of that type it sees; a type absent allows none. A nil
	// Calls allows every method on every visible object. The built-in
	// rope.setAppData counts as the method "setAppData".
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
// method does.
func (c *Call) ReserveType(typeName string, n int) error {
	return c.Reserve(n) // TODO(views): quotas
}
