package conformance

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/ropehq/rope/rope"
)

func syncCases() []*Case {
	return []*Case{
		{ID: "rope/6.1.1/1", Level: MUST,
			Title:  "every state change and event MUST be broadcast to every connection as exactly one sequenced notification",
			Expect: "three connections see the same created/updated/event/closed notifications, JSON-equal params, same seqs",
			Run:    runBroadcast},
		{ID: "rope/6.2.2/1", Level: MUST,
			Title:  "every connection receives the same notifications in increasing seq order, without gaps or duplicates",
			Expect: "with three connections mutating at once, each sees seq init.seq+1, +2, … up to the same last seq",
			Run:    runContiguous},
		{ID: "rope/6.5.2/1", Level: MUST,
			Title:  "when an object closes, its live descendants close first, each with its own rope.closed, children before parents",
			Expect: "closing a counter with two children: both children's rope.closed precede the counter's on every connection, nothing follows it",
			Run:    runCascade},
		{ID: "rope/6.5.1/1", Level: MUST,
			Title:  "after rope.closed the object is not live and calls on it fail with -32001, whoever closed it",
			Expect: "B's increment on a counter A closed gets -32001; a child B closes reaches A as rope.closed and A's ping on it gets -32001",
			Run:    runCloseUnderOthers},
		{ID: "rope/6.5.1/2", Level: MUST,
			Title:  "two connections closing the same object at once: it closes once, each change is exactly one notification",
			Expect: "both closes answered null or -32001; each connection sees one rope.closed for the child, then one for the counter",
			Run:    runConcurrentClose},
		{ID: "rope/6.6.1/1", Level: MUST,
			Title:  "rope.event is sent to every connection with event and data (data MUST be present)",
			Expect: "the other connection gets rope.event {id, event: incremented, data: {value, by}} with seq",
			Run:    runEventBroadcast},
		{ID: "rope/6.7.1/1", Level: MUST,
			Title:  "every sequenced notification caused by a request MUST be sent to the caller before that request's response",
			Expect: "createCounter's rope.created, increment's updated/event pairs, createChild's created and close's closeds all precede the response",
			Run:    runOrderingRule},
	}
}

func runBroadcast(t *T) {
	a, ia := t.Connect("a")
	b, _ := t.Connect("b")
	c, _ := t.Connect("c")
	counter := a.CreateCounter(0)
	b.MustCall(counter, "increment", nil)
	c.Until(c.Request(rope.MethodSetAppData, map[string]any{"object": counter, "appData": map[string]any{"k": 1}}))
	a.MustCall(counter, "createChild", map[string]any{"name": "x"})
	c.MustCall(counter, "close", nil)
	last, _ := c.Ping()
	// created, updated, event, updated (appData), created, closed, closed
	if last-ia.Seq < 7 {
		t.Fatalf("only %d notifications for 7 changes", last-ia.Seq)
	}
	for _, p := range []*Peer{a, b, c} {
		p.CatchUp(last)
	}
	for s := ia.Seq + 1; s <= last; s++ {
		ref := a.Seen[s]
		checkUpdated(t, ref)
		for _, p := range []*Peer{b, c} {
			got := p.Seen[s]
			if got == nil || ref == nil || got.Method != ref.Method || !jsonEqual(got.Params, ref.Params) {
				t.Fatalf("seq %d: %s got %s, a got %s", s, p.name, rawOf(got), rawOf(ref))
			}
		}
	}
}

// checkUpdated checks §6.4.1: a rope.updated has props or appData.
func checkUpdated(t *T, m *Msg) {
	if m == nil || m.Method != rope.MethodUpdated {
		return
	}
	var u map[string]json.RawMessage
	_ = json.Unmarshal(m.Params, &u)
	if u["props"] == nil && u["appData"] == nil {
		t.Fatalf("rope.updated without props and appData (§6.4.1): %.300s", m.Raw)
	}
}

func rawOf(m *Msg) string {
	if m == nil {
		return "nothing"
	}
	return fmt.Sprintf("%.300s", m.Raw)
}

func runContiguous(t *T) {
	peers := make([]*Peer, 3)
	counters := make([]string, 3)
	for i := range peers {
		peers[i], _ = t.Connect(fmt.Sprintf("p%d", i))
		counters[i] = peers[i].CreateCounter(0)
	}
	var wg sync.WaitGroup
	for i, p := range peers {
		wg.Go(func() { p.MustCall(counters[i], "increment", map[string]any{"times": 20}) })
	}
	wg.Wait()
	last, _ := peers[0].Ping()
	for _, p := range peers {
		p.CatchUp(last)
		if p.Gap != "" {
			t.Fatalf("%s", p.Gap)
		}
		if p.LastSeq != last {
			t.Fatalf("%s ended at seq %d, want %d", p.name, p.LastSeq, last)
		}
	}
}

func runCascade(t *T) {
	a, _ := t.Connect("a")
	b, _ := t.Connect("b")
	counter := a.CreateCounter(0)
	k1 := childOf(t, a, counter, "k1")
	k2 := childOf(t, a, counter, "k2")
	grand := a.LastSeq
	b.CatchUp(grand)
	notes, _ := b.MustCall(counter, "close", nil)
	last, _ := b.Ping()
	checkCascade(t, "b", notes, counter, k1, k2)
	checkCascade(t, "a", a.CatchUp(last), counter, k1, k2)
}

func childOf(t *T, p *Peer, counter, name string) string {
	_, res := p.MustCall(counter, "createChild", map[string]any{"name": name})
	var r struct{ ID string }
	if json.Unmarshal(res, &r) != nil || r.ID == "" {
		t.Fatalf("createChild result %s", res)
	}
	return r.ID
}

func checkCascade(t *T, who string, notes []*Msg, counter string, kids ...string) {
	closed := map[string]bool{}
	for _, m := range notes {
		id := m.ObjectID()
		if closed[counter] && (id == counter || id == kids[0] || id == kids[1]) {
			t.Fatalf("%s: %.300s after the counter's rope.closed (§6.5.3)", who, m.Raw)
		}
		if m.Method != rope.MethodClosed {
			continue
		}
		if id == counter {
			for _, k := range kids {
				if !closed[k] {
					t.Fatalf("%s: the counter closed while its child %s was live", who, k)
				}
			}
		}
		closed[id] = true
	}
	if !closed[counter] {
		t.Fatalf("%s: no rope.closed for the counter", who)
	}
}

func runCloseUnderOthers(t *T) {
	a, _ := t.Connect("a")
	b, _ := t.Connect("b")
	counter := a.CreateCounter(0)
	b.CatchUp(a.LastSeq)
	b.MustCall(counter, "increment", nil)
	a.MustCall(counter, "close", nil)
	_, resp := b.Call(counter, "increment", nil)
	t.ExpectError(resp, rope.CodeObjectNotFound, fmt.Sprint(b.nextID))
	if got := dataString(resp, "object"); got != counter {
		t.Fatalf("data.object %q, want %q", got, counter)
	}
	other := a.CreateCounter(0)
	kid := childOf(t, a, other, "kid")
	b.CatchUp(a.LastSeq)
	notes, _ := b.MustCall(kid, "close", nil)
	if len(notes) != 1 || notes[0].Method != rope.MethodClosed || notes[0].ObjectID() != kid {
		t.Fatalf("b's close of %s: %d notifications before the response, want its rope.closed", kid, len(notes))
	}
	seen := a.CatchUp(b.LastSeq)
	if len(seen) == 0 || seen[len(seen)-1].Method != rope.MethodClosed || seen[len(seen)-1].ObjectID() != kid {
		t.Fatalf("a did not receive rope.closed of %s", kid)
	}
	_, resp = a.Call(kid, "ping", nil)
	t.ExpectError(resp, rope.CodeObjectNotFound, fmt.Sprint(a.nextID))
}

func runEventBroadcast(t *T) {
	a, _ := t.Connect("a")
	b, _ := t.Connect("b")
	counter := a.CreateCounter(10)
	a.MustCall(counter, "increment", map[string]any{"by": 5})
	for _, m := range b.CatchUp(a.LastSeq) {
		if m.Method != rope.MethodEvent {
			continue
		}
		var e map[string]json.RawMessage
		_ = json.Unmarshal(m.Params, &e)
		if string(e["id"]) != `"`+counter+`"` || string(e["event"]) != `"incremented"` || !jsonEqual(e["data"], []byte(`{"value":15,"by":5}`)) {
			t.Fatalf("rope.event %s, want id %s, event incremented, data {value:15, by:5}", m.Params, counter)
		}
		return
	}
	t.Fatalf("b received no rope.event")
}

func runOrderingRule(t *T) {
	p, _ := t.Connect("a")
	notes, resp := p.Call(fixtureID, "createCounter", map[string]any{"value": 5})
	var r struct{ ID string }
	if resp.Error != nil || json.Unmarshal(resp.Result, &r) != nil || r.ID == "" {
		t.Fatalf("createCounter answered %.300s", resp.Raw)
	}
	expectBefore(t, "createCounter", notes, rope.MethodCreated+" "+r.ID)
	notes, _ = p.MustCall(r.ID, "increment", map[string]any{"times": 3})
	u, e := rope.MethodUpdated+" "+r.ID, rope.MethodEvent+" "+r.ID
	expectBefore(t, "increment", notes, u, e, u, e, u, e)
	kid := childOf(t, p, r.ID, "x")
	notes, _ = p.MustCall(r.ID, "close", nil)
	expectBefore(t, "close", notes, rope.MethodClosed+" "+kid, rope.MethodClosed+" "+r.ID)
	if late := p.Barrier(); len(late) > 0 {
		t.Fatalf("%.300s arrived after the response of the call that caused it", late[0].Raw)
	}
}

func expectBefore(t *T, what string, notes []*Msg, want ...string) {
	var got []string
	for _, m := range notes {
		got = append(got, m.Method+" "+m.ObjectID())
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("before the %s response: %v, want %v", what, got, want)
	}
}

func runConcurrentClose(t *T) {
	a, _ := t.Connect("a")
	b, _ := t.Connect("b")
	counter := a.CreateCounter(0)
	kid := childOf(t, a, counter, "k")
	start := a.LastSeq
	b.CatchUp(start)
	ida := a.Request(rope.MethodCall, map[string]any{"object": counter, "method": "close"})
	idb := b.Request(rope.MethodCall, map[string]any{"object": counter, "method": "close"})
	for _, pr := range []struct {
		p  *Peer
		id string
	}{{a, ida}, {b, idb}} {
		_, resp := pr.p.Until(pr.id)
		if resp.Error == nil && string(resp.Result) == "null" {
			continue
		}
		t.ExpectError(resp, rope.CodeObjectNotFound, pr.id)
	}
	last, _ := a.Ping()
	b.CatchUp(last)
	for _, p := range []*Peer{a, b} {
		var closed []string
		for s := start + 1; s <= last; s++ {
			if m := p.Seen[s]; m != nil && m.Method == rope.MethodClosed {
				closed = append(closed, m.ObjectID())
			}
		}
		if fmt.Sprint(closed) != fmt.Sprint([]string{kid, counter}) {
			t.Fatalf("%s saw rope.closed for %v, want %v once each", p.name, closed, []string{kid, counter})
		}
	}
}
