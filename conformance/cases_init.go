package conformance

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/ropehq/rope/rope"
)

// fixtureTypes are the descriptors §15.1.2 requires.
var fixtureTypes = []rope.TypeInfo{
	{Name: "Fixture", Methods: []string{"createCounter", "echo", "fail", "sleep"}, Events: []string{}, Properties: []string{}},
	{Name: "Counter", Methods: []string{"increment", "createChild", "close"}, Events: []string{"incremented"}, Properties: []string{"value"}},
	{Name: "Child", Methods: []string{"ping", "close"}, Events: []string{}, Properties: []string{"name"}},
}

func initCases() []*Case {
	return []*Case{
		{ID: "rope/5.1.1/1", Level: MUST,
			Title:  "the first message the server sends on every connection MUST be rope.init, even for requests received before it",
			Expect: "rope.init first, then the answer to a rope.ping sent before reading anything (§5.1.2)",
			Run: func(t *T) {
				p := t.Dial("a", DialOptions{})
				id := p.Request(rope.MethodPing, nil)
				p.Init()
				if _, resp := p.Until(id); resp.Error != nil {
					t.Fatalf("early rope.ping answered %s, want a result (§5.1.2)", resp.Raw)
				}
			}},
		{ID: "rope/5.2.1/1", Level: MUST,
			Title:  "rope.init params MUST carry protocol, epoch, seq, resumed, maxMessageSize, replayWindow, types and (full snapshot) objects",
			Expect: `protocol "rope.v1", non-empty epoch, resumed false, maxMessageSize >= 65536, objects present`,
			Run:    func(t *T) { checkInitMembers(t, t.Dial("a", DialOptions{}).Init()) }},
		{ID: "rope/5.2.1/2", Level: SHOULD,
			Title:  "rope.init SHOULD carry server, a string naming the implementation",
			Expect: `a non-empty string "server" member`,
			Run: func(t *T) {
				in := t.Dial("a", DialOptions{}).Init()
				var s string
				if json.Unmarshal(in.Members["server"], &s) != nil || s == "" {
					t.Fatalf("server member %s, want a non-empty string", orAbsent(in.Members["server"]))
				}
			}},
		{ID: "rope/5.3.1/2", Level: SHOULD,
			Title:  "objects in a full snapshot SHOULD be in creation order",
			Expect: "counters c1, c2 and then a child of c1 listed in that order",
			Run:    runSnapshotCreationOrder},
		{ID: "rope/5.3.1/1", Level: MUST,
			Title:  "a full snapshot MUST list every live object exactly once, every object after its parent",
			Expect: "a new connection's snapshot holds fixture, a counter and its child once each, parents first",
			Run:    runSnapshotOrder},
		{ID: "rope/5.3.2/1", Level: MUST,
			Title:  "the snapshot MUST be consistent with seq: it reflects exactly the notifications with seq <= init.seq",
			Expect: "init.seq equals rope.ping's seq on a quiet server, and the snapshot holds the counter's value as of that seq",
			Run:    runSnapshotSeq},
		{ID: "rope/5.6.1/1", Level: MUST,
			Title:  "a type descriptor MUST have name, methods, events and properties; types MUST describe every object in objects",
			Expect: "four members per descriptor, no duplicate names, every snapshot object's type described",
			Run:    runTypeCatalogue},
		{ID: "rope/15.1.1/1", Level: MUST,
			Title:  `the fixture MUST have the live root object {"id":"fixture","type":"Fixture","parent":null} with props {}`,
			Expect: "the snapshot holds the root object as specified",
			Run:    runFixtureRoot},
		{ID: "rope/15.1.2/1", Level: MUST,
			Title:  "types MUST contain exactly the descriptors of Fixture, Counter and Child",
			Expect: "the three descriptors of §15.1.2 (array order not significant)",
			Run:    runFixtureTypes},
	}
}

func checkInitMembers(t *T, in *Init) {
	for _, m := range []string{"protocol", "epoch", "seq", "resumed", "maxMessageSize", "replayWindow", "types", "objects"} {
		if _, ok := in.Members[m]; !ok {
			t.Fatalf("rope.init has no %q member", m)
		}
	}
	switch {
	case in.Protocol != rope.Protocol:
		t.Fatalf("protocol %q, want %q", in.Protocol, rope.Protocol)
	case in.Epoch == "":
		t.Fatalf("empty epoch")
	case in.Resumed:
		t.Fatalf("resumed true on a connection that did not ask to resume")
	case in.MaxMessageSize < rope.MinMaxMessageSize:
		t.Fatalf("maxMessageSize %d, want >= %d", in.MaxMessageSize, rope.MinMaxMessageSize)
	case in.ReplayWindow < 0:
		t.Fatalf("replayWindow %d, want an unsigned integer", in.ReplayWindow)
	case string(in.Members["objects"]) == "null":
		t.Fatalf("objects is null, want an array")
	}
}

func runSnapshotOrder(t *T) {
	a, _ := t.Connect("a")
	counter := a.CreateCounter(1)
	_, res := a.MustCall(counter, "createChild", map[string]any{"name": "kid"})
	var child struct{ ID string }
	_ = json.Unmarshal(res, &child)
	in := t.Dial("b", DialOptions{}).Init()
	seen := map[string]bool{}
	for _, o := range in.Objects {
		if seen[o.ID] {
			t.Fatalf("object %q listed twice", o.ID)
		}
		if o.Parent != nil && !seen[*o.Parent] {
			t.Fatalf("object %q listed before its parent %q", o.ID, *o.Parent)
		}
		seen[o.ID] = true
	}
	for _, id := range []string{fixtureID, counter, child.ID} {
		if !seen[id] {
			t.Fatalf("live object %q missing from the snapshot", id)
		}
	}
}

func runSnapshotCreationOrder(t *T) {
	a, _ := t.Connect("a")
	c1 := a.CreateCounter(1)
	c2 := a.CreateCounter(2)
	k := childOf(t, a, c1, "k")
	in := t.Dial("b", DialOptions{}).Init()
	var order []string
	for _, o := range in.Objects {
		if o.ID == c1 || o.ID == c2 || o.ID == k {
			order = append(order, o.ID)
		}
	}
	if !slices.Equal(order, []string{c1, c2, k}) {
		t.Fatalf("snapshot order %v, want creation order %v", order, []string{c1, c2, k})
	}
}

func runSnapshotSeq(t *T) {
	a, _ := t.Connect("a")
	counter := a.CreateCounter(0)
	a.MustCall(counter, "increment", map[string]any{"by": 3, "times": 2})
	seq, _ := a.Ping()
	in := t.Dial("b", DialOptions{}).Init()
	if in.Seq != seq {
		t.Fatalf("init.seq %d, want %d (rope.ping's seq, nothing happened since)", in.Seq, seq)
	}
	o, ok := in.Object(counter)
	if !ok || string(o.Props["value"]) != "6" {
		t.Fatalf("snapshot counter %+v, want value 6", o)
	}
}

func runTypeCatalogue(t *T) {
	in := t.Dial("a", DialOptions{}).Init()
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(in.Members["types"], &raw); err != nil {
		t.Fatalf("types: %v", err)
	}
	names := map[string]bool{}
	for i, d := range raw {
		for _, m := range []string{"name", "methods", "events", "properties"} {
			if _, ok := d[m]; !ok {
				t.Fatalf("type descriptor %d has no %q", i, m)
			}
		}
		ti := in.Types[i]
		if names[ti.Name] {
			t.Fatalf("two descriptors named %q", ti.Name)
		}
		names[ti.Name] = true
		for _, list := range [][]string{ti.Methods, ti.Events, ti.Properties} {
			if hasDup(list) {
				t.Fatalf("type %q lists a duplicate in %v", ti.Name, list)
			}
		}
	}
	for _, o := range in.Objects {
		if !names[o.Type] {
			t.Fatalf("object %q has type %q, not in types", o.ID, o.Type)
		}
	}
}

func hasDup(list []string) bool {
	s := slices.Clone(list)
	slices.Sort(s)
	return len(slices.Compact(s)) != len(list)
}

func runFixtureRoot(t *T) {
	in := t.Dial("a", DialOptions{}).Init()
	o, ok := in.Object(fixtureID)
	if !ok {
		t.Fatalf("no object %q in the snapshot", fixtureID)
	}
	if o.Type != "Fixture" || o.Parent != nil || len(o.Props) != 0 {
		t.Fatalf("root object %+v, want type Fixture, parent null, props {}", o)
	}
	if len(o.AppData) == 0 || o.AppData[0] != '{' {
		t.Fatalf("root appData %s, want an object", o.AppData)
	}
}

func runFixtureTypes(t *T) {
	in := t.Dial("a", DialOptions{}).Init()
	for _, want := range fixtureTypes {
		i := slices.IndexFunc(in.Types, func(ti rope.TypeInfo) bool { return ti.Name == want.Name })
		if i < 0 {
			t.Fatalf("no type %q in the catalogue", want.Name)
		}
		got := in.Types[i]
		if want.Name == "Fixture" { // take is optional (§15.1.2)
			got.Methods = slices.DeleteFunc(slices.Clone(got.Methods), func(m string) bool { return m == "take" })
		}
		for _, pair := range [][2][]string{{got.Methods, want.Methods}, {got.Events, want.Events}, {got.Properties, want.Properties}} {
			if !sameSet(pair[0], pair[1]) {
				t.Fatalf("type %s: got %s, want %s", want.Name, describe(got), describe(want))
			}
		}
	}
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

func describe(ti rope.TypeInfo) string {
	return "methods [" + strings.Join(ti.Methods, ",") + "] events [" + strings.Join(ti.Events, ",") +
		"] properties [" + strings.Join(ti.Properties, ",") + "]"
}
