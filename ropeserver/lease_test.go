package ropeserver_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeserver"
	"github.com/ropehq/rope/ropeserver/fixture"
)

// sessionURL is base with the session and lease parameters ("" leaves
// one out), and the resume parameters when epoch is set.
func sessionURL(base, session, lease, epoch string, seq uint64) string {
	q := url.Values{}
	if session != "" {
		q.Set(rope.QuerySession, session)
	}
	if lease != "" {
		q.Set(rope.QueryLease, lease)
	}
	if epoch != "" {
		q.Set(rope.QueryEpoch, epoch)
		q.Set(rope.QuerySeq, strconv.FormatUint(seq, 10))
	}
	return base + "?" + q.Encode()
}

// watcher is a legacy peer that reads every notification and remembers
// the objects closed, in order.
type watcher struct {
	*peer
	closed []string
	live   map[string]bool
}

func watch(t *testing.T, url string) *watcher {
	t.Helper()
	w := &watcher{peer: dialPeer(t, url, nil), live: map[string]bool{}}
	w.init()
	return w
}

// untilClosed reads until every id has closed.
func (w *watcher) untilClosed(ids ...string) {
	w.t.Helper()
	for !w.allClosed(ids) {
		w.take(w.read())
	}
}

func (w *watcher) allClosed(ids []string) bool {
	for _, id := range ids {
		if !w.isClosed(id) {
			return false
		}
	}
	return true
}

func (w *watcher) isClosed(id string) bool {
	for _, c := range w.closed {
		if c == id {
			return true
		}
	}
	return false
}

func (w *watcher) take(m *rope.Message) {
	switch m.Method {
	case rope.MethodClosed:
		var p rope.ClosedParams
		_ = json.Unmarshal(m.Params, &p)
		w.closed = append(w.closed, p.ID)
	case rope.MethodCreated:
		var p rope.CreatedParams
		_ = json.Unmarshal(m.Params, &p)
		w.live[p.Object.ID] = true
	}
}

// sync reads everything the server sent before now (a rope.ping round
// trip).
func (w *watcher) sync() {
	w.t.Helper()
	notes, _ := w.until(w.request(rope.MethodPing, nil))
	for _, m := range notes {
		w.take(m)
	}
}

// reapOne shows that the server has ended a session with a grace of
// lease ms since the call: a session created now with that lease, holding
// one counter, is dropped, and w waits for the counter to close. Objects
// whose lease would have ended by then must have closed too.
func (w *watcher) reapOne(base, lease string) {
	w.t.Helper()
	c := dialPeer(w.t, sessionURL(base, rope.SessionNew, lease, "", 0), nil)
	c.init()
	id := c.createCounter(0)
	c.ws.CloseNow()
	w.untilClosed(id)
}

func (p *peer) createChild(counter, name string) string {
	p.t.Helper()
	resp := p.call(counter, "createChild", map[string]any{"name": name})
	var r rope.CreateResult
	if resp.Error != nil || json.Unmarshal(resp.Result, &r) != nil {
		p.t.Fatalf("createChild: %v %s", resp.Error, resp.Result)
	}
	return r.ID
}

func sessionOf(t *testing.T, in rope.InitParams) rope.SessionInfo {
	t.Helper()
	if in.Session == nil || in.Session.ID == "" {
		t.Fatalf("rope.init has no session: %+v", in.Session)
	}
	return *in.Session
}

func leaseMS(s rope.SessionInfo) string {
	if s.Lease == nil {
		return "persistent"
	}
	return strconv.FormatInt(*s.Lease, 10)
}

// TestLeaseEndsAfterGrace: a client that drops its TCP connection without
// a close frame loses the objects it created once the grace has passed;
// another client sees them close, children first.
func TestLeaseEndsAfterGrace(t *testing.T) {
	_, base := startServer(t, &ropeserver.Options{LeaseGrace: 20 * time.Millisecond})
	w := watch(t, base)
	a := dialPeer(t, sessionURL(base, rope.SessionNew, "", "", 0), nil)
	se := sessionOf(t, a.init())
	if leaseMS(se) != "20" || se.MaxObjects != ropeserver.DefaultMaxSessionObjects {
		t.Errorf("session %+v, want lease 20 ms and maxObjects %d", se, ropeserver.DefaultMaxSessionObjects)
	}
	counter := a.createCounter(1)
	kid := a.createChild(counter, "k")
	a.ws.CloseNow()
	w.untilClosed(counter, kid)
	if w.closed[0] != kid || w.closed[1] != counter {
		t.Errorf("closed %v, want the child then the counter", w.closed)
	}
	if _, ok := w.srvObject(t, counter); ok {
		t.Error("the counter is still live on the server")
	}
}

func (w *watcher) srvObject(t *testing.T, id string) (*rope.Message, bool) {
	t.Helper()
	resp := w.call(id, "increment", nil)
	return resp, resp.Error == nil
}

// TestLeaseResumeKeepsObjectsAndSession: a client that comes back within
// the grace, resuming or not, keeps its session and its objects, and may
// change its lease; once its last connection goes the new grace applies.
func TestLeaseResumeKeepsObjectsAndSession(t *testing.T) {
	_, base := startServer(t, nil)
	w := watch(t, base)
	a := dialPeer(t, sessionURL(base, rope.SessionNew, "60000", "", 0), nil)
	in := a.init()
	se := sessionOf(t, in)
	if leaseMS(se) != "60000" {
		t.Errorf("lease %s, want the 60000 asked for", leaseMS(se))
	}
	counter := a.createCounter(0)
	a.ws.CloseNow()
	// Back with the resume parameters: replay, same session.
	a2 := dialPeer(t, sessionURL(base, se.ID, "", in.Epoch, in.Seq), nil)
	in2 := a2.init()
	if !in2.Resumed || sessionOf(t, in2).ID != se.ID || leaseMS(*in2.Session) != "60000" {
		t.Fatalf("resumed=%v session %+v, want a resume of session %s with its lease", in2.Resumed, in2.Session, se.ID)
	}
	// Back again without them (a snapshot), shortening the lease; the
	// session has two connections, then one.
	a3 := dialPeer(t, sessionURL(base, se.ID, "0", "", 0), nil)
	in3 := a3.init()
	if in3.Resumed || sessionOf(t, in3).ID != se.ID || leaseMS(*in3.Session) != "0" {
		t.Fatalf("resumed=%v session %+v, want a snapshot in session %s with lease 0", in3.Resumed, in3.Session, se.ID)
	}
	a2.ws.CloseNow()
	w.reapOne(base, "0") // a grace of 0 would have ended by now
	w.sync()
	if w.isClosed(counter) {
		t.Fatal("the counter closed while its session still had a connection")
	}
	a3.ws.CloseNow()
	w.untilClosed(counter)
}

// TestLeasePersistent: a client may keep its objects past its session when
// the server allows it; otherwise it gets the longest grace.
func TestLeasePersistent(t *testing.T) {
	_, base := startServer(t, &ropeserver.Options{AllowPersistentLeases: true, MaxLeaseGrace: 5 * time.Minute})
	w := watch(t, base)
	a := dialPeer(t, sessionURL(base, rope.SessionNew, rope.LeasePersistent, "", 0), nil)
	if se := sessionOf(t, a.init()); se.Lease != nil {
		t.Fatalf("lease %s, want persistent (null)", leaseMS(se))
	}
	counter := a.createCounter(0)
	a.ws.CloseNow()
	w.reapOne(base, "0")
	w.sync()
	if w.isClosed(counter) {
		t.Fatal("a persistent session's counter closed")
	}

	_, base2 := startServer(t, &ropeserver.Options{MaxLeaseGrace: 5 * time.Minute})
	b := dialPeer(t, sessionURL(base2, rope.SessionNew, rope.LeasePersistent, "", 0), nil)
	if se := sessionOf(t, b.init()); leaseMS(se) != "300000" {
		t.Errorf("lease %s without AllowPersistentLeases, want MaxLeaseGrace (300000)", leaseMS(se))
	}
}

// TestLeaseAsksWithinBounds: the lease a client asks for is clamped to
// MaxLeaseGrace; a malformed ask is ignored; an unknown session id starts
// a new session; a negative LeaseGrace makes sessions persistent.
func TestLeaseAsksWithinBounds(t *testing.T) {
	_, base := startServer(t, &ropeserver.Options{LeaseGrace: 2 * time.Second, MaxLeaseGrace: 10 * time.Second})
	for _, tc := range []struct{ session, lease, want string }{
		{rope.SessionNew, "", "2000"},
		{rope.SessionNew, "500", "500"},
		{rope.SessionNew, "0007", "7"},
		{rope.SessionNew, "60000", "10000"},
		{rope.SessionNew, "99999999999999999999999", "10000"},
		{rope.SessionNew, "-5", "2000"},
		{rope.SessionNew, "1.5", "2000"},
		{rope.SessionNew, "soon", "2000"},
		{"no-such-session", "", "2000"},
		{"", "", ""},
	} {
		p := dialPeer(t, sessionURL(base, tc.session, tc.lease, "", 0), nil)
		in := p.init()
		switch {
		case tc.want == "":
			if in.Session != nil {
				t.Errorf("no session parameter: rope.init has session %+v", in.Session)
			}
		case in.Session == nil:
			t.Errorf("session=%q lease=%q: no session", tc.session, tc.lease)
		case leaseMS(*in.Session) != tc.want:
			t.Errorf("session=%q lease=%q: lease %s, want %s", tc.session, tc.lease, leaseMS(*in.Session), tc.want)
		case in.Session.ID == tc.session || len(in.Session.ID) < 32:
			t.Errorf("session=%q: got id %q, want a new unguessable one", tc.session, in.Session.ID)
		}
		p.ws.CloseNow()
	}

	_, base2 := startServer(t, &ropeserver.Options{LeaseGrace: -1})
	p := dialPeer(t, sessionURL(base2, rope.SessionNew, "", "", 0), nil)
	if se := sessionOf(t, p.init()); se.Lease != nil {
		t.Errorf("negative LeaseGrace: lease %s, want persistent", leaseMS(se))
	}
	p2 := dialPeer(t, sessionURL(base2, rope.SessionNew, "50", "", 0), nil)
	if se := sessionOf(t, p2.init()); leaseMS(se) != "50" {
		t.Errorf("negative LeaseGrace: a client asking 50 ms got %s", leaseMS(se))
	}
}

// TestLeaseLegacyClients: a connection without the session parameter
// keeps its objects after it ends, unless LeaseLegacyClients.
func TestLeaseLegacyClients(t *testing.T) {
	_, base := startServer(t, &ropeserver.Options{LeaseGrace: time.Millisecond})
	w := watch(t, base)
	a := dialPeer(t, base, nil)
	a.init()
	kept := a.createCounter(0)
	a.ws.CloseNow()
	w.reapOne(base, "0")
	w.sync()
	if w.isClosed(kept) {
		t.Fatal("a legacy client's counter closed")
	}

	_, base2 := startServer(t, &ropeserver.Options{LeaseGrace: time.Millisecond, LeaseLegacyClients: true})
	w2 := watch(t, base2)
	b := dialPeer(t, base2, nil)
	b.init()
	gone := b.createCounter(0)
	b.ws.CloseNow()
	w2.untilClosed(gone)
}

// TestSessionObjectLimit: past MaxSessionObjects a creating call fails
// with -32005 and creates nothing; closing an object frees its slot;
// other sessions and legacy connections have limits of their own.
func TestSessionObjectLimit(t *testing.T) {
	_, base := startServer(t, &ropeserver.Options{MaxSessionObjects: 3})
	a := dialPeer(t, sessionURL(base, rope.SessionNew, "", "", 0), nil)
	if se := sessionOf(t, a.init()); se.MaxObjects != 3 {
		t.Errorf("maxObjects %d, want 3", se.MaxObjects)
	}
	c1 := a.createCounter(0)
	a.createChild(c1, "k")
	a.createCounter(0)
	notes, resp := a.until(a.request(rope.MethodCall, map[string]any{"object": fixture.RootID, "method": "createCounter"}))
	errCode(t, resp, rope.CodeOverloaded)
	if len(notes) != 0 {
		t.Errorf("a refused create sent %v", methods(notes))
	}
	errCode(t, a.call(c1, "createChild", map[string]any{"name": "x"}), rope.CodeOverloaded)
	// Closing the counter closes its child too: two slots free.
	if resp := a.call(c1, "close", nil); resp.Error != nil {
		t.Fatal(resp.Error)
	}
	a.createCounter(0)
	a.createCounter(0)
	errCode(t, a.call(fixture.RootID, "createCounter", nil), rope.CodeOverloaded)

	b := dialPeer(t, sessionURL(base, rope.SessionNew, "", "", 0), nil)
	b.init()
	b.createCounter(0)
	legacy := dialPeer(t, base, nil)
	legacy.init()
	for range 3 {
		legacy.createCounter(0)
	}
	errCode(t, legacy.call(fixture.RootID, "createCounter", nil), rope.CodeOverloaded)
}

// TestServerCloseLeavesLeasedObjects: closing the server stops the
// graces under way; objects stay (and no timer goroutine leaks).
func TestServerCloseLeavesLeasedObjects(t *testing.T) {
	srv, base := startServer(t, &ropeserver.Options{LeaseGrace: time.Hour})
	a := dialPeer(t, sessionURL(base, rope.SessionNew, "", "", 0), nil)
	a.init()
	id := a.createCounter(0)
	a.ws.CloseNow()
	srv.Close()
	if o, ok := srv.Object(id); !ok || o.Closed() {
		t.Fatal("the counter closed with the server")
	}
}

// TestOwnMovesTheLease: Own takes an object from the session that held it;
// an extra server method (no object) can create leased objects too.
func TestOwnMovesTheLease(t *testing.T) {
	srv, base := startServer(t, &ropeserver.Options{Methods: map[string]ropeserver.MethodFunc{
		"makePet": func(_ context.Context, call *ropeserver.Call) (any, error) {
			o, err := call.Create("Pet", nil)
			if err != nil {
				return nil, err
			}
			return rope.CreateResult{ID: o.ID()}, nil
		},
	}})
	err := srv.RegisterType(ropeserver.Type{Name: "Pet", Methods: map[string]ropeserver.MethodFunc{
		"adopt": func(_ context.Context, call *ropeserver.Call) (any, error) { return nil, call.Own(call.Object) },
	}})
	if err != nil {
		t.Fatal(err)
	}
	w := watch(t, base)
	a := dialPeer(t, sessionURL(base, rope.SessionNew, "0", "", 0), nil)
	a.init()
	_, resp := a.until(a.request("makePet", nil))
	var pet rope.CreateResult
	if resp.Error != nil || json.Unmarshal(resp.Result, &pet) != nil {
		t.Fatalf("makePet: %+v %s", resp.Error, resp.Result)
	}
	b := dialPeer(t, sessionURL(base, rope.SessionNew, "0", "", 0), nil)
	b.init()
	if resp := b.call(pet.ID, "adopt", nil); resp.Error != nil {
		t.Fatal(resp.Error)
	}
	a.ws.CloseNow()
	w.reapOne(base, "0")
	w.sync()
	if w.isClosed(pet.ID) {
		t.Fatal("the pet closed with the session that gave it up")
	}
	b.ws.CloseNow()
	w.untilClosed(pet.ID)
}
