package conformance

import (
	"encoding/json"
	"strings"

	"github.com/ropehq/rope/rope"
)

// secret is the text of the fixture's internal error (§15.2.1).
const secret = "fixture-secret"

func errorCases() []*Case {
	return []*Case{
		{ID: "rope/8.4.1/1", Level: MUST,
			Title:  "a rope.-prefixed method not defined by the spec MUST be answered with -32601",
			Expect: "-32601 with the request's id",
			Run:    scripted(errStep(`{"jsonrpc":"2.0","id":13,"method":"rope.frobnicate"}`, rope.CodeMethodNotFound, "13"))},
		{ID: "rope/8.4.2/1", Level: MUST,
			Title:  "an extra method the server does not define MUST be answered with -32601",
			Expect: "-32601 with the request's id",
			Run:    scripted(errStep(`{"jsonrpc":"2.0","id":"u","method":"conformance.noSuchMethod"}`, rope.CodeMethodNotFound, `"u"`))},
		{ID: "rope/9.2/1", Level: SHOULD,
			Title:  "-32601 MethodNotFound data SHOULD carry method",
			Expect: `data {"name":"MethodNotFound","method":"rope.frobnicate"}`,
			Run:    runMethodNotFoundData},
		{ID: "rope/8.1.2/1", Level: MUST,
			Title:  "rope.call params that are not an object with non-empty string object and method MUST get -32602",
			Expect: "-32602 with the request's id for an array, absent params, a missing, numeric or empty object, a missing or empty method",
			Run: scripted(
				errStep(`{"jsonrpc":"2.0","id":1,"method":"rope.call","params":[1]}`, rope.CodeInvalidParams, "1"),
				errStep(`{"jsonrpc":"2.0","id":2,"method":"rope.call","params":{"method":"echo"}}`, rope.CodeInvalidParams, "2"),
				errStep(`{"jsonrpc":"2.0","id":3,"method":"rope.call","params":{"object":5,"method":"echo"}}`, rope.CodeInvalidParams, "3"),
				errStep(`{"jsonrpc":"2.0","id":4,"method":"rope.call","params":{"object":"fixture"}}`, rope.CodeInvalidParams, "4"),
				errStep(`{"jsonrpc":"2.0","id":5,"method":"rope.call"}`, rope.CodeInvalidParams, "5"),
				errStep(`{"jsonrpc":"2.0","id":6,"method":"rope.call","params":{"object":"","method":"echo"}}`, rope.CodeInvalidParams, "6"),
				errStep(`{"jsonrpc":"2.0","id":7,"method":"rope.call","params":{"object":"fixture","method":""}}`, rope.CodeInvalidParams, "7"),
			)},
		{ID: "rope/8.1.2/2", Level: MUST,
			Title:  "a call on an object that does not exist MUST get -32001 ObjectNotFound with data.object",
			Expect: `-32001 with data.object "no-such-object"`,
			Run:    runObjectNotFound},
		{ID: "rope/8.1.2/3", Level: MUST,
			Title:  "a method not in the type's methods MUST get -32002 UnknownMethod with data.type and data.method",
			Expect: `-32002 with data.type "Fixture", data.method "nope"`,
			Run:    runUnknownMethod},
		{ID: "rope/8.1.2/4", Level: MUST,
			Title:  "a method's unacceptable params MUST get -32602",
			Expect: `-32602 for increment {"by":"x"} and sleep {"ms":-1}`,
			Run:    runMethodParams},
		{ID: "rope/8.1.2/5", Level: MUST,
			Title:  "the server MUST check, in this order, and answer the first failure: shape, object, method, method params",
			Expect: "an unknown object with an unknown method → -32001; an unknown method with bad params → -32002; bad shape on an unknown object → -32602",
			Run: scripted(
				errStep(call("1", "no-such-object", "nope", `{"by":"x"}`), rope.CodeObjectNotFound, "1"),
				errStep(call("2", fixtureID, "nope", `{"ms":"x"}`), rope.CodeUnknownMethod, "2"),
				errStep(`{"jsonrpc":"2.0","id":3,"method":"rope.call","params":{"object":"no-such-object","method":5}}`, rope.CodeInvalidParams, "3"),
			)},
		{ID: "rope/1.4.2/1", Level: MUST,
			Title:  "receivers MUST ignore members they do not know (envelopes, params)",
			Expect: "rope.call, rope.setAppData and rope.ping with unknown members in the envelope and in params succeed",
			Run: scripted(
				step{send: `{"jsonrpc":"2.0","id":1,"method":"rope.call","x":1,"params":{"object":"fixture","method":"echo","params":[2],"x":true}}`, id: "1", result: `[2]`},
				step{send: `{"jsonrpc":"2.0","id":2,"method":"rope.setAppData","params":{"object":"fixture","appData":{},"x":true}}`, id: "2", result: `null`},
				step{send: `{"jsonrpc":"2.0","id":3,"method":"rope.ping","params":{"x":true}}`, id: "3"},
			)},
		{ID: "rope/8.2.1/1", Level: MUST,
			Title:  "rope.setAppData: bad shape → -32602; no live object → -32001",
			Expect: "-32602 for appData [1], null or missing and an empty object id; -32001 for an unknown object",
			Run: scripted(
				errStep(`{"jsonrpc":"2.0","id":1,"method":"rope.setAppData","params":{"object":"fixture","appData":[1]}}`, rope.CodeInvalidParams, "1"),
				errStep(`{"jsonrpc":"2.0","id":2,"method":"rope.setAppData","params":{"object":"fixture","appData":null}}`, rope.CodeInvalidParams, "2"),
				errStep(`{"jsonrpc":"2.0","id":3,"method":"rope.setAppData","params":{"object":"fixture"}}`, rope.CodeInvalidParams, "3"),
				errStep(`{"jsonrpc":"2.0","id":4,"method":"rope.setAppData","params":{"object":"no-such-object","appData":{}}}`, rope.CodeObjectNotFound, "4"),
				errStep(`{"jsonrpc":"2.0","id":5,"method":"rope.setAppData","params":{"object":"","appData":{}}}`, rope.CodeInvalidParams, "5"),
			)},
		{ID: "rope/9.3.3/1", Level: MUST,
			Title:  "unless sendFullErrors is on, no detail of an internal error may leave the server: generic message, data only name and errorId",
			Expect: "-32603 with data {name: InternalError, errorId: string} only; fixture-secret in no message to any connection; connection stays open",
			Run:    runInternalError},
		{ID: "rope/9.5/1", Level: MUST,
			Title:  "in no case does a bad message from one connection affect the server or other connections",
			Expect: "after a burst of bad input on one connection, another connection got nothing and still answers; the first still answers",
			Run:    runBadInputIsolated},
		{ID: "rope/15.2.1/1", Level: MUST,
			Title:  `fail {"kind":"state"} answers -32003 InvalidState`,
			Expect: "-32003, data.name InvalidState",
			Run:    scripted(errStep(call("1", fixtureID, "fail", `{"kind":"state"}`), rope.CodeInvalidState, "1"))},
		{ID: "rope/15.2.1/2", Level: MUST,
			Title:  `fail {"kind":"app"} answers -32010 with data.name "FixtureError"`,
			Expect: "-32010, data.name FixtureError",
			Run:    runAppError},
		{ID: "rope/15.2.1/3", Level: MUST,
			Title:  `fail {"kind":"params"}, a missing or unknown kind answer -32602`,
			Expect: "-32602 for kind params, no kind and kind bogus",
			Run: scripted(
				errStep(call("1", fixtureID, "fail", `{"kind":"params"}`), rope.CodeInvalidParams, "1"),
				errStep(call("2", fixtureID, "fail", `{}`), rope.CodeInvalidParams, "2"),
				errStep(call("3", fixtureID, "fail", `{"kind":"bogus"}`), rope.CodeInvalidParams, "3"),
			)},
	}
}

func dataString(m *Msg, key string) string {
	v, _ := m.ErrorData()[key].(string)
	return v
}

func runMethodNotFoundData(t *T) {
	p, _ := t.Connect("a")
	p.Send(`{"jsonrpc":"2.0","id":13,"method":"rope.frobnicate"}`)
	m := p.Response()
	t.ExpectError(m, rope.CodeMethodNotFound, "13")
	if got := dataString(m, "method"); got != "rope.frobnicate" {
		t.Fatalf("data %s has no method \"rope.frobnicate\"", m.Error.Data)
	}
}

func runObjectNotFound(t *T) {
	p, _ := t.Connect("a")
	p.Send(call("6", "no-such-object", "close", ""))
	m := p.Response()
	t.ExpectError(m, rope.CodeObjectNotFound, "6")
	if got := dataString(m, "object"); got != "no-such-object" {
		t.Fatalf("data %s, want object \"no-such-object\"", m.Error.Data)
	}
}

func runUnknownMethod(t *T) {
	p, _ := t.Connect("a")
	p.Send(call("12", fixtureID, "nope", ""))
	m := p.Response()
	t.ExpectError(m, rope.CodeUnknownMethod, "12")
	if dataString(m, "type") != "Fixture" || dataString(m, "method") != "nope" {
		t.Fatalf("data %s, want type \"Fixture\" and method \"nope\"", m.Error.Data)
	}
}

func runMethodParams(t *T) {
	p, _ := t.Connect("a")
	counter := p.CreateCounter(0)
	p.Send(call("8", counter, "increment", `{"by":"x"}`))
	t.ExpectError(p.Response(), rope.CodeInvalidParams, "8")
	p.Send(call("9", fixtureID, "sleep", `{"ms":-1}`))
	t.ExpectError(p.Response(), rope.CodeInvalidParams, "9")
}

func runInternalError(t *T) {
	a, _ := t.Connect("a")
	b, _ := t.Connect("b")
	a.Send(call("10", fixtureID, "fail", `{"kind":"internal"}`))
	m := a.Response()
	t.ExpectError(m, rope.CodeInternalError, "10")
	if strings.Contains(string(m.Raw), secret) {
		t.Fatalf("the response leaks %q: %s", secret, m.Raw)
	}
	var data map[string]json.RawMessage
	_ = json.Unmarshal(m.Error.Data, &data)
	var errID string
	if json.Unmarshal(data["errorId"], &errID) != nil || errID == "" {
		t.Fatalf("data %s: errorId must be a non-empty string (§9.3.2)", m.Error.Data)
	}
	for k := range data {
		if k != "name" && k != "errorId" {
			t.Fatalf("data %s has %q: only name and errorId may be sent (§9.3.3)", m.Error.Data, k)
		}
	}
	for _, p := range []*Peer{a, b} {
		for _, n := range p.Barrier() {
			if strings.Contains(string(n.Raw), secret) {
				t.Fatalf("%s received %q: %s", p.name, secret, n.Raw)
			}
		}
	}
}

func runAppError(t *T) {
	p, _ := t.Connect("a")
	p.Send(call("11", fixtureID, "fail", `{"kind":"app"}`))
	m := p.Response()
	t.ExpectError(m, rope.CodeApplicationError, "11")
	if got := dataString(m, "name"); got != "FixtureError" {
		t.Fatalf("data.name %q, want %q", got, "FixtureError")
	}
}

// badInputs are messages every server must answer with an error and
// survive.
var badInputs = []string{
	`{"jsonrpc":"2.0","id":1,`, ``, `[]`, `[1,2]`, `"x"`, `null`, `{}`, `{"jsonrpc":"2.0","id":[],"method":"x"}`,
	`{"jsonrpc":"2.0","id":2,"method":"rope.call","params":{"object":{},"method":[]}}`,
	`{"jsonrpc":"2.0","id":3,"method":"rope.setAppData","params":{"object":"fixture","appData":"x"}}`,
	`{"jsonrpc":"2.0","id":4,"method":"rope.call","params":{"object":"fixture","method":"fail","params":{"kind":"internal"}}}`,
	`{"jsonrpc":"2.0","id":5,"method":"rope.call","params":{"object":"fixture","method":"sleep","params":{"ms":"x"}}}`,
	`{"jsonrpc":"2.0","id":6,"method":"rope.call","params":{"object":"fixture","method":"echo","params":{"a":{"b":{"c":[[[[[[[[[[1]]]]]]]]]]}}}}}`,
}

func runBadInputIsolated(t *T) {
	a, _ := t.Connect("a")
	b, _ := t.Connect("b")
	for _, in := range badInputs {
		a.Send(in)
	}
	for range badInputs {
		if m := a.Response(); m.Error == nil && string(m.ID) != "6" {
			t.Fatalf("a: %.300s, want an error", m.Raw)
		}
	}
	a.Barrier()
	if notes := b.Barrier(); len(notes) > 0 {
		t.Fatalf("b received %.300s", notes[0].Raw)
	}
}
