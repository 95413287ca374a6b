package ropeclient

import (
	"net/url"
	"strconv"

	"github.com/ropehq/rope/rope"
)

// setSessionQuery adds the server session parameters (spec §17): the
// session to resume, else the one the URL names, else "new"; and the lease
// the options ask for.
func setSessionQuery(q url.Values, sessionID string, o *Options) {
	switch {
	case sessionID != "":
		q.Set(rope.QuerySession, sessionID)
	case q.Get(rope.QuerySession) == "":
		q.Set(rope.QuerySession, rope.SessionNew)
	}
	switch {
	case o.PersistentLease:
		q.Set(rope.QueryLease, rope.LeasePersistent)
	case o.Lease > 0:
		q.Set(rope.QueryLease, strconv.FormatInt(max(o.Lease.Milliseconds(), 1), 10))
	}
}

// Session is the id of the server session the client's connection belongs
// to (spec §17), "" before the first rope.init or when the server has no
// sessions. The client presents it when it reconnects, so the objects it
// created stay when it comes back within the server's grace. A new client
// whose URL carries ?session=<id> resumes that session (a process that
// restarts can keep its objects).
func (c *Client) Session() string {
	s, err := c.session()
	if err != nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessionID
}
