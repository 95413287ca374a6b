package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/ropehq/rope/rope"
)

// viewCases check §18 through the fixture's views (§18.8): a token
// "fixture-view:<id>" gives a connection the subtree of <id>, and the calls
// increment (Counter) and ping (Child); "fixture-own:<subject>" every
// object but the Counters another subject owns. They skip against a server
// that refuses such a token or whose rope.init then carries no "view":
// true (§18 is optional).
func viewCases() []*Case {
	return []*Case{
		{ID: "rope/18.1.2/1", Level: MUST,
			Title:  "a counter created by a view's leasing call is owned by its subject: the fixture's owner views see their own counters only",
			Expect: "fixture-own:<s>: rope.init without Counters; its createCounter's rope.created before the response; another subject sees neither that counter nor its child",
			Run:    runViewOwners},
		{ID: "rope/18.2.1/1", Level: MUST,
			Title:  `a view's rope.init has "view": true and holds exactly the objects the view sees, each with its parent named`,
			Expect: "the view of a counter: objects [counter, its child], the counter's parent \"fixture\"; no other counter, no fixture",
			Run:    runViewInit},
		{ID: "rope/18.3.1/1", Level: MUST,
			Title:  "a view gets the sequenced notifications of the objects it sees, with their global seq, and none of the others",
			Expect: "changes on two counters: the view gets the seen counter's, byte-equal to a full connection's, seq increasing with gaps",
			Run:    runViewNotifications},
		{ID: "rope/18.4.1/1", Level: MUST,
			Title:  "a call the grant does not allow, rope.setAppData included, answers -32004 with data.type and data.method",
			Expect: `createChild and rope.setAppData on the seen counter: -32004, data.type "Counter", data.method "createChild" / "setAppData"; increment passes`,
			Run:    runViewRefused},
		{ID: "rope/18.6.1/1", Level: MUST,
			Title:  "a call on a live object outside the view answers -32001 as for an unknown object",
			Expect: "increment on the other counter, echo on fixture, rope.setAppData on the other counter: -32001 with data.object",
			Run:    runViewUnknown},
		{ID: "rope/18.5.1/1", Level: MUST,
			Title:  "a view resumed within the window gets exactly what it would have seen live, in order, then live ones",
			Expect: "after a drop and changes inside and outside the view: resumed true, the replay equal to a live view's notifications",
			Run:    runViewResume},
		{ID: "rope/18.7.1/1", Level: MUST,
			Title:  "an owner change moves a counter and its child into and out of views: rope.created in, rope.closed out, an empty rope.updated to full access",
			Expect: "fixture.take (§15.2.3) by alice, bob, then a full connection: alice gets created counter, child before take's response; bob's take closes child, counter in alice's view and creates counter, child in bob's; the full connection's take closes them in bob's; the full connection gets only rope.updated {\"props\": {}}",
			Run:    runViewMoves},
	}
}

const (
	viewTokenPrefix = "fixture-view:"
	ownTokenPrefix  = "fixture-own:"
)

// dialView connects a peer with the fixture view of root; it skips the
// case when the server has no fixture views.
func dialView(t *T, name, root string, q url.Values) (*Peer, *Init) {
	return dialToken(t, name, viewTokenPrefix+root, q)
}

// dialToken connects a peer presenting a fixture view token.
func dialToken(t *T, name, token string, q url.Values) (*Peer, *Init) {
	h := http.Header{"Authorization": {"Bearer " + token}}
	p, err := t.TryDial(name, DialOptions{NoToken: true, Header: h, Query: q})
	if err != nil {
		if p.HTTPResponse != nil && p.HTTPResponse.StatusCode == http.StatusUnauthorized {
			t.Skipf("%s: the server refused a fixture view token (HTTP 401): it has no fixture views", name)
		}
		t.Fatalf("%s: %v", name, err)
	}
	in := p.Init()
	if string(in.Members["view"]) != "true" {
		t.Skipf("%s: rope.init has no \"view\": true: the server has no fixture views", name)
	}
	return p, in
}

// viewScene makes two counters with a child each; the view will see the
// first.
func viewScene(t *T, op *Peer) (a, a1, b, b1 string) {
	a, b = op.CreateCounter(1), op.CreateCounter(2)
	return a, childOf(t, op, a, "a1"), b, childOf(t, op, b, "b1")
}

func runViewInit(t *T) {
	op, opIn := t.Connect("op")
	a, a1, b, _ := viewScene(t, op)
	_, in := dialView(t, "v", a, nil)
	if in.Epoch == "" || in.Resumed {
		t.Fatalf("view rope.init: epoch %q resumed %v", in.Epoch, in.Resumed)
	}
	var ids []string
	for _, o := range in.Objects {
		ids = append(ids, o.ID)
	}
	slices.Sort(ids)
	want := []string{a, a1}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("the view's rope.init holds %v, want %v (counter %s, child %s; not %s or %s)", ids, want, a, a1, b, fixtureID)
	}
	if o, _ := in.Object(a); o.Parent == nil || *o.Parent != fixtureID {
		t.Fatalf("the root's parent %v, want %q named though outside the view (§18.2.2)", o.Parent, fixtureID)
	}
	_ = opIn
}

func runViewNotifications(t *T) {
	op, _ := t.Connect("op")
	a, a1, b, b1 := viewScene(t, op)
	v, in := dialView(t, "v", a, nil)
	op.CatchUp(in.Seq)
	before := op.LastSeq
	op.MustCall(b, "increment", nil)
	op.MustCall(a, "increment", map[string]any{"by": 3})
	op.MustCall(b1, "close", nil)
	op.MustCall(a1, "close", nil)
	S, _ := op.Ping()
	var want []*Msg
	for seq := before + 1; seq <= S; seq++ {
		if m := op.Seen[seq]; m != nil && (m.ObjectID() == a || m.ObjectID() == a1) {
			want = append(want, m)
		}
	}
	got := v.Barrier()
	if len(got) != len(want) {
		t.Fatalf("the view got %d notifications, want %d (those of %s and %s): %s", len(got), len(want), a, a1, rawsOf(got))
	}
	for i, m := range got {
		if m.Method != want[i].Method || !bytes.Equal(m.Params, want[i].Params) {
			t.Fatalf("notification %d: got %s, want %s (§18.3.1: the same message, global seq)", i, rawOf(m), rawOf(want[i]))
		}
	}
}

func rawsOf(ms []*Msg) string {
	var b bytes.Buffer
	for _, m := range ms {
		fmt.Fprintf(&b, "%.200s; ", m.Raw)
	}
	return b.String()
}

func runViewRefused(t *T) {
	op, _ := t.Connect("op")
	a, _, _, _ := viewScene(t, op)
	v, _ := dialView(t, "v", a, nil)
	check := func(what string, resp *Msg, method string) {
		if resp.Code() != int(rope.CodeUnauthorized) {
			t.Fatalf("%s: %.300s, want -32004 (§18.4.1)", what, resp.Raw)
		}
		d := resp.ErrorData()
		if d["type"] != "Counter" || d["method"] != method {
			t.Fatalf("%s: data %v, want type \"Counter\" and method %q", what, d, method)
		}
	}
	_, resp := v.Call(a, "createChild", map[string]any{"name": "x"})
	check("createChild", resp, "createChild")
	_, resp = v.Until(v.Request(rope.MethodSetAppData, map[string]any{"object": a, "appData": map[string]any{"x": 1}}))
	check("rope.setAppData", resp, "setAppData")
	v.MustCall(a, "increment", nil)
}

func runViewUnknown(t *T) {
	op, _ := t.Connect("op")
	a, _, b, _ := viewScene(t, op)
	v, _ := dialView(t, "v", a, nil)
	check := func(what, id string, resp *Msg) {
		if resp.Code() != int(rope.CodeObjectNotFound) || resp.ErrorData()["object"] != id {
			t.Fatalf("%s: %.300s, want -32001 with data.object %q (§18.6.1)", what, resp.Raw, id)
		}
	}
	_, resp := v.Call(b, "increment", nil)
	check("increment on the other counter", b, resp)
	_, resp = v.Call(fixtureID, "echo", 1)
	check("echo on fixture", fixtureID, resp)
	_, resp = v.Until(v.Request(rope.MethodSetAppData, map[string]any{"object": b, "appData": map[string]any{}}))
	check("rope.setAppData on the other counter", b, resp)
}

func runViewResume(t *T) {
	op, _ := t.Connect("op")
	a, a1, b, b1 := viewScene(t, op)
	live, _ := dialView(t, "live", a, nil)
	v, in := dialView(t, "v", a, nil)
	s := in.Seq
	v.Drop()
	op.MustCall(a, "increment", nil)
	op.MustCall(b, "increment", nil)
	a2 := childOf(t, op, a, "a2")
	childOf(t, op, b, "b2")
	op.MustCall(b1, "close", nil)
	op.MustCall(a1, "close", nil)
	op.MustCall(a2, "close", nil)
	want := live.Barrier()
	r, rin := dialView(t, "v2", a, resumeQuery(in.Epoch, s))
	if !rin.Resumed || rin.Seq != s {
		t.Fatalf("rope.init resumed=%v seq=%d, want resumed=true seq=%d (§18.5.1)", rin.Resumed, rin.Seq, s)
	}
	got := r.Barrier()
	if len(got) != len(want) {
		t.Fatalf("the resumed view got %d notifications, a live one %d: %s", len(got), len(want), rawsOf(got))
	}
	for i, m := range got {
		if m.Method != want[i].Method || !bytes.Equal(m.Params, want[i].Params) {
			t.Fatalf("replay %d: got %s, the live view %s", i, rawOf(m), rawOf(want[i]))
		}
	}
	op.MustCall(a, "increment", nil)
	if m := r.Read(); m.Method != rope.MethodUpdated || m.ObjectID() != a {
		t.Fatalf("after the replay: %s, want the live rope.updated of %s", rawOf(m), a)
	}
}

func runViewOwners(t *T) {
	suffix := strconv.FormatInt(time.Now().UnixNano(), 36)
	alice, ain := dialToken(t, "alice", ownTokenPrefix+"alice-"+suffix, nil)
	bob, _ := dialToken(t, "bob", ownTokenPrefix+"bob-"+suffix, nil)
	for _, o := range ain.Objects {
		if o.Type == "Counter" || o.Type == "Child" {
			t.Fatalf("a new subject's rope.init holds %s %s, owned by no subject", o.Type, o.ID)
		}
	}
	notes, res := alice.MustCall(fixtureID, "createCounter", nil)
	var r struct{ ID string }
	if json.Unmarshal(res, &r) != nil || r.ID == "" {
		t.Fatalf("createCounter result %s", res)
	}
	created := false
	for _, m := range notes {
		created = created || m.Method == rope.MethodCreated && m.ObjectID() == r.ID
	}
	if !created {
		t.Fatalf("alice got %s before createCounter's response, want its counter's rope.created (§18.3.3)", rawsOf(notes))
	}
	kid := childOf(t, alice, r.ID, "k")
	alice.MustCall(r.ID, "increment", nil)
	for _, m := range bob.Barrier() {
		if id := m.ObjectID(); id == r.ID || id == kid {
			t.Fatalf("bob got %s of alice's objects", rawOf(m))
		}
	}
	if _, resp := bob.Call(r.ID, "increment", nil); resp.Code() != int(rope.CodeObjectNotFound) {
		t.Fatalf("bob's increment on alice's counter: %.300s, want -32001 (§18.6.1)", resp.Raw)
	}
	alice.MustCall(r.ID, "close", nil)
}

// runViewMoves moves a counter with a child between subjects with the
// fixture's take (§15.2.3): nobody (a full connection created it) → alice
// → bob → nobody. It skips against a fixture without take.
func runViewMoves(t *T) {
	suffix := strconv.FormatInt(time.Now().UnixNano(), 36)
	alice, _ := dialToken(t, "alice", ownTokenPrefix+"alice-"+suffix, nil)
	bob, _ := dialToken(t, "bob", ownTokenPrefix+"bob-"+suffix, nil)
	op, _ := t.Connect("op")
	c := op.CreateCounter(7)
	k := childOf(t, op, c, "k")
	moved := []string{c, k}
	from := op.LastSeq
	notes, resp := alice.Call(fixtureID, "take", map[string]any{"id": c})
	if resp.Code() == int(rope.CodeUnknownMethod) {
		t.Skipf("the fixture has no take (§15.1.2): %.200s", resp.Raw)
	}
	if resp.Error != nil {
		t.Fatalf("alice's take: %.300s", resp.Raw)
	}
	// In: parents first, before the response (§18.7.2, §18.3.3).
	wantMoves(t, "alice's take, alice", notes, moved, rope.MethodCreated, c, k)
	if o := createdObject(t, notes, c); o.Parent == nil || *o.Parent != fixtureID || string(o.Props["value"]) != "7" {
		t.Fatalf("the moved-in counter %+v, want parent %q and value 7 (its current state)", o, fixtureID)
	}
	wantMoves(t, "alice's take, bob", bob.Barrier(), moved, "")
	notes, _ = bob.MustCall(fixtureID, "take", map[string]any{"id": c})
	wantMoves(t, "bob's take, bob", notes, moved, rope.MethodCreated, c, k)
	// Out: children first (§6.5.2).
	wantMoves(t, "bob's take, alice", alice.Barrier(), moved, rope.MethodClosed, k, c)
	if _, resp := alice.Call(c, "increment", nil); resp.Code() != int(rope.CodeObjectNotFound) {
		t.Fatalf("alice's increment on the counter moved out: %.300s, want -32001 (§18.7.3)", resp.Raw)
	}
	op.MustCall(fixtureID, "take", map[string]any{"id": c})
	wantMoves(t, "op's take, bob", bob.Barrier(), moved, rope.MethodClosed, k, c)
	wantMoves(t, "op's take, alice", alice.Barrier(), moved, "")
	S, _ := op.Ping()
	if op.Gap != "" {
		t.Fatalf("the full connection has a gap: %s (§18.7.1: it gets every seq)", op.Gap)
	}
	n := 0
	for seq := from + 1; seq <= S; seq++ {
		m := op.Seen[seq]
		if m == nil || m.ObjectID() != c && m.ObjectID() != k {
			continue // another case's
		}
		if n++; m.Method != rope.MethodUpdated || !emptyUpdate(m) {
			t.Fatalf("the full connection got %s for a move, want rope.updated with \"props\": {} (§18.7.1)", rawOf(m))
		}
	}
	if n != 12 {
		t.Fatalf("the full connection got %d notifications for three moves of a counter with a child, want 12 (two passes of two, §18.7.2)", n)
	}
}

// wantMoves checks that the sequenced notifications in ms about the
// objects moved are exactly method for ids, in order (none when ids is
// empty).
func wantMoves(t *T, what string, ms []*Msg, moved []string, method string, ids ...string) {
	var got []*Msg
	for _, m := range ms {
		if _, ok := m.Seq(); ok && slices.Contains(moved, m.ObjectID()) {
			got = append(got, m)
		}
	}
	ok := len(got) == len(ids)
	for i := 0; ok && i < len(ids); i++ {
		ok = got[i].Method == method && got[i].ObjectID() == ids[i]
	}
	if !ok {
		t.Fatalf("%s: got %s, want %s of %v in this order (§18.7)", what, rawsOf(got), method, ids)
	}
}

// createdObject is the object of id's rope.created in ms.
func createdObject(t *T, ms []*Msg, id string) rope.ObjectState {
	var p struct {
		Object rope.ObjectState `json:"object"`
	}
	for _, m := range ms {
		if m.Method == rope.MethodCreated && m.ObjectID() == id {
			if err := json.Unmarshal(m.Params, &p); err != nil {
				t.Fatalf("rope.created %s: %v", m.Raw, err)
			}
		}
	}
	return p.Object
}

func emptyUpdate(m *Msg) bool {
	var p struct {
		Props map[string]json.RawMessage `json:"props"`
	}
	return json.Unmarshal(m.Params, &p) == nil && p.Props != nil && len(p.Props) == 0
}
