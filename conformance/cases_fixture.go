package conformance

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ropehq/rope/rope"
)

// fixtureCases check the fixture's own rules (§15) that other cases do not.
func fixtureCases() []*Case {
	return []*Case{
		{ID: "rope/15.1.3/2", Level: MUST,
			Title:  "every fixture int has a range and is written as an integer; outside it or written 1.0/1e2 → -32602",
			Expect: "-32602 for value and by ±2^53, 1.0, 1e2; times 0 and 1001; ms -1, 10001 and 1e1; value ±(2^53−1) and times 1000 accepted",
			Run:    runIntegerRanges},
		{ID: "rope/15.1.3/3", Level: MUST,
			Title:  "a fixture param member set to null is absent: its default applies, a required one is missing",
			Expect: `createCounter {"value":null,"appData":null} → value 0, appData {}; increment {"by":null,"times":null} adds 1 once; sleep/createChild/fail with a null required member → -32602`,
			Run:    runNullMembers},
		{ID: "rope/15.2/1", Level: MUST,
			Title:  "sleep {ms} answers null, not before ms milliseconds have passed",
			Expect: `sleep {"ms":300} answered null no sooner than 300 ms after it was sent`,
			Run:    runSleepWaits},
		{ID: "rope/15.2.2/1", Level: MUST,
			Title:  "echo returns its params JSON-equal, numbers compared as doubles",
			Expect: "numbers written 1.0, 1e2, -0, 0.1 and 12345678901234567890123 come back JSON-equal",
			Run: scripted(step{send: call("1", fixtureID, "echo", `[1.0,1e2,-0,0.1,12345678901234567890123,{"a":[-1.5e-3]}]`),
				id: "1", result: `[1,100,0,0.1,1.2345678901234568e22,{"a":[-0.0015]}]`})},
		{ID: "rope/15.3.1/2", Level: MUST,
			Title:  "an increment that would take value out of ±(2^53−1) fails with -32003 before any iteration",
			Expect: "-32003 and no notification for +3 from 2^53−3 and for -1 from −(2^53−1); +2 from 2^53−3 reaches 2^53−1",
			Run:    runIncrementOverflow},
		{ID: "rope/15.4/1", Level: MUST,
			Title:  `Child.ping answers "pong" and changes nothing`,
			Expect: `result "pong", no notification before it`,
			Run:    runChildPing},
	}
}

func runIntegerRanges(t *T) {
	p, _ := t.Connect("a")
	notes, _ := p.MustCall(fixtureID, "createCounter", json.RawMessage(`{"value":9007199254740991}`))
	if v := createdValue(t, notes); !jsonEqual([]byte(v), []byte("9007199254740991")) {
		t.Fatalf("createCounter value 2^53−1 made value %s", v)
	}
	p.MustCall(fixtureID, "createCounter", json.RawMessage(`{"value":-9007199254740991}`))
	counter := p.CreateCounter(0)
	for _, c := range []struct{ object, method, params string }{
		{fixtureID, "createCounter", `{"value":9007199254740992}`},
		{fixtureID, "createCounter", `{"value":-9007199254740992}`},
		{fixtureID, "createCounter", `{"value":1.0}`},
		{fixtureID, "createCounter", `{"value":1e2}`},
		{counter, "increment", `{"times":0}`},
		{counter, "increment", `{"times":1001}`},
		{counter, "increment", `{"times":2.0}`},
		{counter, "increment", `{"by":9007199254740992}`},
		{counter, "increment", `{"by":-9007199254740992}`},
		{counter, "increment", `{"by":1e0}`},
		{fixtureID, "sleep", `{"ms":-1}`},
		{fixtureID, "sleep", `{"ms":10001}`},
		{fixtureID, "sleep", `{"ms":1e1}`},
	} {
		notes, resp := p.Call(c.object, c.method, json.RawMessage(c.params))
		if resp.Error == nil || resp.Code() != int(rope.CodeInvalidParams) || len(notes) > 0 {
			t.Fatalf("%s %s: %.300s after %d notifications, want -32602 and no change", c.method, c.params, resp.Raw, len(notes))
		}
	}
	notes, res := p.MustCall(counter, "increment", json.RawMessage(`{"times":1000}`))
	if len(notes) != 2000 || !jsonEqual(res, []byte(`{"value":1000}`)) {
		t.Fatalf("increment times 1000: %s after %d notifications, want {\"value\":1000} after 2000", res, len(notes))
	}
}

func runNullMembers(t *T) {
	p, _ := t.Connect("a")
	notes, res := p.MustCall(fixtureID, "createCounter", json.RawMessage(`{"value":null,"appData":null}`))
	var created rope.CreatedParams
	for _, m := range notes {
		if m.Method == rope.MethodCreated {
			_ = json.Unmarshal(m.Params, &created)
		}
	}
	o := created.Object
	if !jsonEqual(o.Props["value"], []byte("0")) || !jsonEqual(o.AppData, []byte("{}")) {
		t.Fatalf("createCounter with null value and appData: rope.created %s, want value 0 and appData {}", rawOf(notes[0]))
	}
	var r rope.CreateResult
	_ = json.Unmarshal(res, &r)
	notes, res = p.MustCall(r.ID, "increment", json.RawMessage(`{"by":null,"times":null}`))
	if len(notes) != 2 || !jsonEqual(res, []byte(`{"value":1}`)) {
		t.Fatalf("increment with null by and times: %s after %d notifications, want {\"value\":1} after 2", res, len(notes))
	}
	for _, c := range []struct{ object, method, params string }{
		{fixtureID, "sleep", `{"ms":null}`},
		{fixtureID, "fail", `{"kind":null}`},
		{r.ID, "createChild", `{"name":null}`},
	} {
		notes, resp := p.Call(c.object, c.method, json.RawMessage(c.params))
		if resp.Code() != int(rope.CodeInvalidParams) || len(notes) > 0 {
			t.Fatalf("%s %s: %.300s, want -32602 (a required member is missing)", c.method, c.params, resp.Raw)
		}
	}
}

func runSleepWaits(t *T) {
	p, _ := t.Connect("a")
	const ms = 300
	start := time.Now()
	_, resp := p.Call(fixtureID, "sleep", map[string]int{"ms": ms})
	took := time.Since(start)
	t.ExpectResult(resp, "null")
	if took < ms*time.Millisecond {
		t.Fatalf("sleep {\"ms\":%d} answered after %v", ms, took)
	}
}

func runIncrementOverflow(t *T) {
	p, _ := t.Connect("a")
	top := p.CreateCounter(rope.MaxInteger - 3)
	expectNoChange := func(object, params string) {
		notes, resp := p.Call(object, "increment", json.RawMessage(params))
		if resp.Code() != int(rope.CodeInvalidState) || len(notes) > 0 {
			t.Fatalf("increment %s: %.300s after %d notifications, want -32003 and no change", params, resp.Raw, len(notes))
		}
	}
	expectNoChange(top, `{"times":4}`)
	if _, res := p.MustCall(top, "increment", json.RawMessage(`{"times":3}`)); !jsonEqual(res, fmt.Appendf(nil, `{"value":%d}`, rope.MaxInteger)) {
		t.Fatalf("increment to 2^53−1: %s", res)
	}
	expectNoChange(top, `{}`)
	bottom := p.CreateCounter(-rope.MaxInteger)
	expectNoChange(bottom, `{"by":-1}`)
}

func runChildPing(t *T) {
	p, _ := t.Connect("a")
	kid := childOf(t, p, p.CreateCounter(0), "k")
	notes, res := p.MustCall(kid, "ping", nil)
	if len(notes) > 0 || !jsonEqual(res, []byte(`"pong"`)) {
		t.Fatalf("Child.ping: %s after %d notifications, want \"pong\" and no change", res, len(notes))
	}
	if _, res := p.MustCall(kid, "ping", map[string]int{"x": 1}); !jsonEqual(res, []byte(`"pong"`)) {
		t.Fatalf("Child.ping with params: %s, want \"pong\" (params ignored)", res)
	}
}
