package conformance

import (
	"encoding/json"
	"net/url"
	"strconv"

	"github.com/ropehq/rope/rope"
)

// sessionCases check §17. They skip against a server that sends no
// session member (§17 is optional). Each waits for the objects it leases
// to close before it ends, so later cases see a quiet server.
func sessionCases() []*Case {
	return []*Case{
		{ID: "rope/17.2.2/1", Level: MUST,
			Title:  "a connection that presents session=new gets rope.init's session member: a non-empty id, lease an unsigned integer or null",
			Expect: `params.session {"id": non-empty, "lease": ms or null, "maxObjects"?: unsigned}`,
			Run:    runSessionNew},
		{ID: "rope/17.2.2/2", Level: MUST,
			Title:  "session=<id> of a session that has not ended keeps that id, with the resume parameters (resumed) and without (snapshot)",
			Expect: "the same session id in both rope.inits, the first resumed, the second a full snapshot",
			Run:    runSessionResume},
		{ID: "rope/17.2.2/3", Level: MUST,
			Title:  "session=<id> naming no session starts a new session with a new id; the handshake is not refused",
			Expect: "a session member whose id differs from the one presented",
			Run:    runSessionUnknown},
		{ID: "rope/17.3.1/1", Level: MUST,
			Title:  "a malformed lease is not refused and leaves a resumed session's lease as it was",
			Expect: "lease=soon on a resume: the lease of the session unchanged",
			Run:    runLeaseMalformed},
		{ID: "rope/17.1.4/1", Level: MUST,
			Title:  "when a session has had no connection for its grace, the server closes the objects leased to it, children first",
			Expect: "after a drop with lease=0: rope.closed of the child, then of the counter, to another connection",
			Run:    runLeaseEnds},
		{ID: "rope/17.1.3/1", Level: MUST,
			Title:  "a session resumed within its grace keeps its objects while it has a connection; a new lease applies when it goes",
			Expect: "the counter stays while a session with lease 0 ends; it closes once the resumed connection (lease=0) drops",
			Run:    runLeaseResumeKeeps},
		{ID: "rope/17.4.1/1", Level: MUST,
			Title:  "a call that would lease more than maxObjects objects fails with -32005 and creates nothing",
			Expect: "maxObjects counters created, then createCounter answers -32005 with no rope.created before it",
			Run:    runSessionObjectLimit},
		{ID: "rope/17.2.5/1", Level: SHOULD,
			Title:  "a server SHOULD NOT send the session member to a connection that presented no session parameter",
			Expect: "no session member in rope.init",
			Run:    runSessionLegacy},
	}
}

// maxLeaseWait is the longest grace the cases wait out (ms): below the
// default case timeout.
const maxLeaseWait = 20000

func sessionQuery(session, lease string) url.Values {
	q := url.Values{rope.QuerySession: {session}}
	if lease != "" {
		q.Set(rope.QueryLease, lease)
	}
	return q
}

// dialSession connects a peer with the session parameters and returns its
// session, skipping the case when the server has no sessions.
func dialSession(t *T, name, session, lease string, resume url.Values) (*Peer, *Init, rope.SessionInfo) {
	q := sessionQuery(session, lease)
	for k, v := range resume {
		q[k] = v
	}
	p := t.Dial(name, DialOptions{Query: q})
	in := p.Init()
	raw, ok := in.Members["session"]
	if !ok {
		t.Skipf("%s: rope.init has no session member: the server does not implement §17", name)
	}
	var se struct {
		ID         *string          `json:"id"`
		Lease      *json.RawMessage `json:"lease"`
		MaxObjects *json.Number     `json:"maxObjects"`
	}
	if err := json.Unmarshal(raw, &se); err != nil || se.ID == nil || *se.ID == "" || se.Lease == nil {
		t.Fatalf("%s: session member %s: want {\"id\": non-empty string, \"lease\": ms or null}", name, raw)
	}
	if string(*se.Lease) != "null" {
		if n, err := strconv.ParseUint(string(*se.Lease), 10, 64); err != nil || n > 1<<53-1 {
			t.Fatalf("%s: session.lease %s: want an unsigned integer or null", name, *se.Lease)
		}
	}
	if se.MaxObjects != nil {
		if _, err := strconv.ParseUint(string(*se.MaxObjects), 10, 64); err != nil {
			t.Fatalf("%s: session.maxObjects %s: want an unsigned integer", name, *se.MaxObjects)
		}
	}
	return p, in, *in.Session
}

func leaseText(se rope.SessionInfo) string {
	if se.Lease == nil {
		return "null"
	}
	return strconv.FormatInt(*se.Lease, 10)
}

// shortLease skips the case unless the session's grace is one the case
// can wait out.
func shortLease(t *T, se rope.SessionInfo) {
	if se.Lease == nil || *se.Lease > maxLeaseWait {
		t.Skipf("the server gave lease %s: the case waits out at most %d ms", leaseText(se), maxLeaseWait)
	}
}

// waitClosed reads on p until every id has closed and returns the order in
// which they did.
func waitClosed(t *T, p *Peer, ids ...string) []string {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var order []string
	for len(order) < len(ids) {
		m := p.Read()
		if m.Method == rope.MethodClosed && want[m.ObjectID()] {
			order = append(order, m.ObjectID())
		}
	}
	return order
}

func runSessionNew(t *T) {
	dialSession(t, "a", rope.SessionNew, "", nil)
}

func runSessionResume(t *T) {
	a, in, se := dialSession(t, "a", rope.SessionNew, "", nil)
	// a stays connected, so the session cannot have ended (§17.1.6).
	_, in2, se2 := dialSession(t, "a2", se.ID, "", resumeQuery(in.Epoch, a.LastSeq))
	if se2.ID != se.ID || !in2.Resumed {
		t.Fatalf("with resume parameters: session %q resumed=%v, want session %q resumed", se2.ID, in2.Resumed, se.ID)
	}
	_, in3, se3 := dialSession(t, "a3", se.ID, "", nil)
	if se3.ID != se.ID || in3.Resumed {
		t.Fatalf("without resume parameters: session %q resumed=%v, want session %q and a snapshot", se3.ID, in3.Resumed, se.ID)
	}
}

func runSessionUnknown(t *T) {
	const bogus = "no-such-session-e2a9"
	_, _, se := dialSession(t, "a", bogus, "", nil)
	if se.ID == bogus {
		t.Fatalf("the server adopted the unknown session id %q", bogus)
	}
}

func runLeaseMalformed(t *T) {
	_, _, se := dialSession(t, "a", rope.SessionNew, "1234", nil)
	_, _, se2 := dialSession(t, "a2", se.ID, "soon", nil)
	if se2.ID != se.ID || leaseText(se2) != leaseText(se) {
		t.Fatalf("lease=soon: session %q lease %s, want session %q lease %s", se2.ID, leaseText(se2), se.ID, leaseText(se))
	}
}

func runLeaseEnds(t *T) {
	b, _ := t.Connect("b")
	a, _, se := dialSession(t, "a", rope.SessionNew, "0", nil)
	shortLease(t, se)
	counter := a.CreateCounter(0)
	kid := childOf(t, a, counter, "k")
	a.Drop()
	order := waitClosed(t, b, counter, kid)
	if order[0] != kid {
		t.Fatalf("closed %v, want the child before the counter (§6.5.2)", order)
	}
}

func runLeaseResumeKeeps(t *T) {
	b, _ := t.Connect("b")
	a, in, se := dialSession(t, "a", rope.SessionNew, "60000", nil)
	counter := a.CreateCounter(0)
	s := a.LastSeq
	a.Drop()
	a2, in2, se2 := dialSession(t, "a2", se.ID, "0", resumeQuery(in.Epoch, s))
	if se2.ID != se.ID || !in2.Resumed {
		t.Fatalf("resuming: session %q resumed=%v, want session %q resumed", se2.ID, in2.Resumed, se.ID)
	}
	shortLease(t, se2)
	// A session with the same grace, started and dropped after a's resume,
	// ends: a's would have too, had it had no connection.
	c, _, _ := dialSession(t, "c", rope.SessionNew, "0", nil)
	clock := c.CreateCounter(0)
	c.Drop()
	waitClosed(t, b, clock)
	b.Ping()
	for _, m := range b.Seen {
		if m.Method == rope.MethodClosed && m.ObjectID() == counter {
			t.Fatalf("a's counter closed while its session had a connection: %.300s", m.Raw)
		}
	}
	a2.Drop()
	waitClosed(t, b, counter)
}

func runSessionObjectLimit(t *T) {
	b, _ := t.Connect("b")
	a, _, se := dialSession(t, "a", rope.SessionNew, "0", nil)
	if se.MaxObjects == 0 {
		t.Skipf("the session announces no maxObjects")
	}
	if se.MaxObjects > t.target.maxDrive()/10 {
		t.Skipf("maxObjects %d: more counters than the case creates (%d)", se.MaxObjects, t.target.maxDrive()/10)
	}
	shortLease(t, se)
	ids := createCounters(t, a, se.MaxObjects)
	notes, resp := a.Call(fixtureID, "createCounter", nil)
	for _, m := range notes {
		if m.Method == rope.MethodCreated {
			t.Fatalf("the refused call created %.300s", m.Raw)
		}
	}
	t.ExpectError(resp, rope.CodeOverloaded, string(resp.ID))
	a.Drop()
	waitClosed(t, b, ids...)
}

// createCounters creates n counters, up to 100 requests in flight (the
// in-flight limit is at least that, §10.4.1), and returns their ids.
func createCounters(t *T, p *Peer, n int) []string {
	ids := make([]string, 0, n)
	for len(ids) < n {
		batch := min(n-len(ids), 100)
		pending := map[string]bool{}
		for range batch {
			pending[p.Request("rope.call", map[string]any{"object": fixtureID, "method": "createCounter"})] = true
		}
		for len(pending) > 0 {
			m := p.Read()
			if !m.IsResponse() || !pending[string(m.ID)] {
				continue
			}
			delete(pending, string(m.ID))
			var r struct{ ID string }
			if m.Error != nil || json.Unmarshal(m.Result, &r) != nil || r.ID == "" {
				t.Fatalf("createCounter %d of %d: %.300s", len(ids)+1, n, m.Raw)
			}
			ids = append(ids, r.ID)
		}
	}
	return ids
}

func runSessionLegacy(t *T) {
	_, in := t.Connect("a")
	if raw, ok := in.Members["session"]; ok {
		t.Fatalf("rope.init carries session %s without a session parameter", raw)
	}
}
