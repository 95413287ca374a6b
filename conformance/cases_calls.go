package conformance

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ropehq/rope/rope"
)

func call(id, object, method, params string) string {
	p := ""
	if params != "" {
		p = `,"params":` + params
	}
	return `{"jsonrpc":"2.0","id":` + id + `,"method":"rope.call","params":{"object":"` + object + `","method":"` + method + `"` + p + `}}`
}

func callCases() []*Case {
	return []*Case{
		{ID: "rope/8.1.1/1", Level: MUST,
			Title:  "rope.call passes params (any JSON value, absent equivalent to null) to the method",
			Expect: "Fixture.echo returns an object, an array, a string and a number unchanged, and null for absent params",
			Run: scripted(
				step{send: call("1", fixtureID, "echo", `{"a":[1,{"b":null}]}`), id: "1", result: `{"a":[1,{"b":null}]}`},
				step{send: call("2", fixtureID, "echo", `[1,"x"]`), id: "2", result: `[1,"x"]`},
				step{send: call("3", fixtureID, "echo", `"fixture"`), id: "3", result: `"fixture"`},
				step{send: call("4", fixtureID, "echo", `-1.25`), id: "4", result: `-1.25`},
				step{send: call("5", fixtureID, "echo", ``), id: "5", result: `null`},
			)},
		{ID: "rope/3.6.2/1", Level: MUST,
			Title:  "a response has exactly one of result or error; result is null when the method returns nothing and MUST be present",
			Expect: `Fixture.sleep {"ms":0} answered {"result": null}`,
			Run:    runNullResult},
		{ID: "rope/8.2.2/1", Level: MUST,
			Title:  "rope.setAppData MUST broadcast exactly one rope.updated with appData and no props, even if unchanged, then answer null",
			Expect: "every connection gets one rope.updated {id, appData} per call (twice the same value → two), before the caller's null result",
			Run:    runSetAppData},
		{ID: "rope/8.3.1/1", Level: MUST,
			Title:  "rope.ping's result is {seq: n}, n the seq of the last sequenced notification issued",
			Expect: "after a createCounter, rope.ping returns the seq of its rope.created",
			Run:    runPingSeq},
		{ID: "rope/8.3.2/1", Level: MUST,
			Title:  "every sequenced notification with seq <= n MUST be sent on the connection before the rope.ping response",
			Expect: "a second connection that pings right after another's increment has seen seq n when the response arrives",
			Run:    runPingCatchUp},
		{ID: "rope/15.1.3/1", Level: MUST,
			Title:  "fixture params: absent or null are {}; a member of the wrong type → -32602; unknown members are ignored",
			Expect: `createCounter with no params, null params and {"value":1,"x":true} succeeds; value "1", 1.5, true → -32602`,
			Run:    runFixtureParams},
		{ID: "rope/15.3.1/1", Level: MUST,
			Title:  "increment performs times iterations, each a rope.updated {value} then a rope.event incremented {value, by}",
			Expect: `increment {"by":2,"times":3} on value 1: updated 3, event, updated 5, event, updated 7, event; result {"value":7}`,
			Run:    runIncrement},
		{ID: "rope/15.3.2/1", Level: MUST,
			Title:  "Counter.createChild takes {name: string} (REQUIRED); a missing or non-string name → -32602",
			Expect: "-32602 for {} and {\"name\":5}",
			Run:    runCreateChildParams},
	}
}

func runNullResult(t *T) {
	p, _ := t.Connect("a")
	_, resp := p.Call(fixtureID, "sleep", map[string]any{"ms": 0})
	if resp.Error != nil || string(resp.Result) != "null" {
		t.Fatalf("got %.300s, want \"result\": null", resp.Raw)
	}
}

func runSetAppData(t *T) {
	a, _ := t.Connect("a")
	b, _ := t.Connect("b")
	counter := a.CreateCounter(0)
	b.CatchUp(a.LastSeq)
	for range 2 {
		notes, resp := a.Until(a.Request(rope.MethodSetAppData, map[string]any{"object": counter, "appData": map[string]any{"label": "B"}}))
		t.ExpectResult(resp, "null")
		checkAppDataUpdate(t, notes, counter)
		checkAppDataUpdate(t, b.CatchUp(a.LastSeq), counter)
	}
}

func checkAppDataUpdate(t *T, notes []*Msg, id string) {
	if len(notes) != 1 || notes[0].Method != rope.MethodUpdated {
		t.Fatalf("got %d messages before the response / on the other connection, want one rope.updated", len(notes))
	}
	var u map[string]json.RawMessage
	_ = json.Unmarshal(notes[0].Params, &u)
	if _, ok := u["props"]; ok || string(u["id"]) != `"`+id+`"` || !jsonEqual(u["appData"], []byte(`{"label":"B"}`)) {
		t.Fatalf("rope.updated %s, want id %q and appData {\"label\":\"B\"} without props", notes[0].Params, id)
	}
}

func runPingSeq(t *T) {
	p, _ := t.Connect("a")
	p.CreateCounter(0)
	if seq, _ := p.Ping(); seq != p.LastSeq {
		t.Fatalf("rope.ping seq %d, want %d (the last seq seen)", seq, p.LastSeq)
	}
}

func runPingCatchUp(t *T) {
	a, _ := t.Connect("a")
	b, _ := t.Connect("b")
	counter := a.CreateCounter(0)
	a.MustCall(counter, "increment", map[string]any{"times": 50})
	n, _ := b.Ping()
	if b.LastSeq < n {
		t.Fatalf("rope.ping answered seq %d when the connection had only seen seq %d", n, b.LastSeq)
	}
}

func runFixtureParams(t *T) {
	p, _ := t.Connect("a")
	for _, params := range []string{``, `null`, `{"value":1,"x":true}`} {
		p.Send(call("1", fixtureID, "createCounter", params))
		if m := p.Response(); m.Error != nil {
			t.Fatalf("createCounter with params %q: %.300s, want a result", params, m.Raw)
		}
	}
	for _, params := range []string{`{"value":"1"}`, `{"value":1.5}`, `{"value":true}`} {
		p.Send(call("2", fixtureID, "createCounter", params))
		t.ExpectError(p.Response(), rope.CodeInvalidParams, "2")
	}
}

func runIncrement(t *T) {
	p, _ := t.Connect("a")
	counter := p.CreateCounter(1)
	notes, res := p.MustCall(counter, "increment", map[string]any{"by": 2, "times": 3})
	if !jsonEqual(res, []byte(`{"value":7}`)) {
		t.Fatalf("result %s, want {\"value\":7}", res)
	}
	var got []string
	for _, m := range notes {
		got = append(got, m.Method+" "+string(m.Params))
	}
	if len(notes) != 6 {
		t.Fatalf("got %d notifications before the response, want 6:\n%s", len(notes), strings.Join(got, "\n"))
	}
	for i, v := range []int{3, 5, 7} {
		checkIncrement(t, notes[2*i], notes[2*i+1], counter, v)
	}
}

func checkIncrement(t *T, upd, ev *Msg, id string, v int) {
	var u struct {
		ID    string
		Props map[string]json.RawMessage
	}
	_ = json.Unmarshal(upd.Params, &u)
	if upd.Method != rope.MethodUpdated || u.ID != id || string(u.Props["value"]) != fmt.Sprint(v) {
		t.Fatalf("got %.300s, want rope.updated of %s with value %d", upd.Raw, id, v)
	}
	var e struct {
		ID    string
		Event string
		Data  json.RawMessage
	}
	_ = json.Unmarshal(ev.Params, &e)
	if ev.Method != rope.MethodEvent || e.ID != id || e.Event != "incremented" ||
		!jsonEqual(e.Data, fmt.Appendf(nil, `{"value":%d,"by":2}`, v)) {
		t.Fatalf("got %.300s, want rope.event incremented {value:%d, by:2} of %s", ev.Raw, v, id)
	}
}

func runCreateChildParams(t *T) {
	p, _ := t.Connect("a")
	counter := p.CreateCounter(0)
	for _, params := range []string{`{}`, `{"name":5}`} {
		p.Send(call("9", counter, "createChild", params))
		t.ExpectError(p.Response(), rope.CodeInvalidParams, "9")
	}
	p.Barrier()
}
