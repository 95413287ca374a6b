package conformance

import (
	"strings"

	"github.com/coder/websocket"
	"github.com/ropehq/rope/rope"
)

const ping1 = `{"jsonrpc":"2.0","id":1,"method":"rope.ping"}`

func framingCases() []*Case {
	return []*Case{
		{ID: "rope/3.1.2/1", Level: MUST,
			Title:  `a binary message received by the server MUST be answered with -32600 and "id": null; the connection stays open`,
			Expect: "-32600 with id null, then the connection answers rope.ping",
			Run:    scripted(step{send: ping1, binary: true, code: rope.CodeInvalidRequest, id: "null"})},
		{ID: "rope/3.1.3/1", Level: MUST,
			Title:  `a text message that is not a single valid JSON value MUST be answered with -32700 and "id": null`,
			Expect: "-32700 with id null for truncated JSON, an empty payload and trailing data; the connection stays open",
			Run: scripted(
				errStep(`{"jsonrpc":"2.0","id":16,"method":`, rope.CodeParseError, "null"),
				errStep(``, rope.CodeParseError, "null"),
				errStep(ping1+` {}`, rope.CodeParseError, "null"),
				step{send: " \n" + ping1 + "\t ", id: "1"},
			)},
		{ID: "rope/3.1.4/1", Level: MUST,
			Title:  "a text message that is not valid UTF-8 MUST be answered with -32700 or closed with 1007",
			Expect: "-32700 with id null (connection stays open) or close 1007",
			Run:    runInvalidUTF8},
		{ID: "rope/3.2.1/1", Level: MUST,
			Title:  `a batch MUST be answered with exactly one -32600 with "id": null; no element of the array is executed`,
			Expect: "one -32600 with id null for a batch holding a createCounter call and for []; no rope.created",
			Run:    runBatch},
		{ID: "rope/3.2.2/1", Level: MUST,
			Title:  `a message whose JSON value is not an object or an array MUST be answered with -32600 with "id": null`,
			Expect: "-32600 with id null for a string, a number, true, false and null",
			Run: scripted(
				errStep(`"rope.ping"`, rope.CodeInvalidRequest, "null"),
				errStep(`42`, rope.CodeInvalidRequest, "null"),
				errStep(`true`, rope.CodeInvalidRequest, "null"),
				errStep(`false`, rope.CodeInvalidRequest, "null"),
				errStep(`null`, rope.CodeInvalidRequest, "null"),
			)},
		{ID: "rope/3.3.1/1", Level: MUST,
			Title:  "a JSON object that is not a valid request object MUST be answered with -32600 (id per §3.3.2)",
			Expect: "-32600 echoing the id for a wrong or missing jsonrpc and a non-string method",
			Run: scripted(
				errStep(`{"jsonrpc":"1.0","id":17,"method":"rope.ping"}`, rope.CodeInvalidRequest, "17"),
				errStep(`{"id":"x","method":"rope.ping"}`, rope.CodeInvalidRequest, `"x"`),
				errStep(`{"jsonrpc":"2.0","id":18,"method":5}`, rope.CodeInvalidRequest, "18"),
				errStep(`{"jsonrpc":"2.0","id":19}`, rope.CodeInvalidRequest, "19"),
			)},
		{ID: "rope/3.3.1/2", Level: MUST,
			Title:  "params MUST be absent, an object, an array or null (null is absent); a string/number/boolean params is -32600",
			Expect: `-32600 with the id for params 5, "x", true and rope.call params "fixture"; rope.ping with params null, {} or [] answered`,
			Run: scripted(
				errStep(`{"jsonrpc":"2.0","id":22,"method":"rope.ping","params":5}`, rope.CodeInvalidRequest, "22"),
				errStep(`{"jsonrpc":"2.0","id":23,"method":"rope.ping","params":"x"}`, rope.CodeInvalidRequest, "23"),
				errStep(`{"jsonrpc":"2.0","id":24,"method":"rope.ping","params":true}`, rope.CodeInvalidRequest, "24"),
				errStep(`{"jsonrpc":"2.0","id":18,"method":"rope.call","params":"fixture"}`, rope.CodeInvalidRequest, "18"),
				step{send: `{"jsonrpc":"2.0","id":25,"method":"rope.ping","params":null}`, id: "25"},
				step{send: `{"jsonrpc":"2.0","id":26,"method":"rope.ping","params":{}}`, id: "26"},
				step{send: `{"jsonrpc":"2.0","id":27,"method":"rope.ping","params":[]}`, id: "27"},
			)},
		{ID: "rope/3.3.1/3", Level: MUST,
			Title:  "a method that is the empty string is still a string: a valid request, answered -32601",
			Expect: `-32601 with the id for "method": ""`,
			Run:    scripted(errStep(`{"jsonrpc":"2.0","id":28,"method":""}`, rope.CodeMethodNotFound, "28"))},
		{ID: "rope/3.3.4/1", Level: MUST,
			Title:  "a response object received from a client answers nothing: the server MUST ignore it (no reply)",
			Expect: "no reply to a client-sent result or error response; the connection stays open",
			Run:    runClientResponse},
		{ID: "rope/3.3.2/1", Level: MUST,
			Title:  `an invalid object without an id member is still answered, with "id": null`,
			Expect: "-32600 with id null",
			Run:    scripted(errStep(`{"jsonrpc":"1.0","method":"rope.ping"}`, rope.CodeInvalidRequest, "null"))},
		{ID: "rope/3.4.1/1", Level: MUST,
			Title:  `an invalid id (fraction, true, false, object, array) leads to -32600 with "id": null`,
			Expect: "-32600 with id null for each",
			Run: scripted(
				errStep(`{"jsonrpc":"2.0","id":1.5,"method":"rope.ping"}`, rope.CodeInvalidRequest, "null"),
				errStep(`{"jsonrpc":"2.0","id":true,"method":"rope.ping"}`, rope.CodeInvalidRequest, "null"),
				errStep(`{"jsonrpc":"2.0","id":false,"method":"rope.ping"}`, rope.CodeInvalidRequest, "null"),
				errStep(`{"jsonrpc":"2.0","id":{"a":1},"method":"rope.ping"}`, rope.CodeInvalidRequest, "null"),
				errStep(`{"jsonrpc":"2.0","id":[1],"method":"rope.ping"}`, rope.CodeInvalidRequest, "null"),
			)},
		{ID: "rope/3.4.2/1", Level: MUST,
			Title:  "the server MUST echo a valid id byte-for-byte",
			Expect: `ids "\u0041", 12345678901234567890123, -7, 0 and "" echoed as sent`,
			Run:    runIDEcho},
		{ID: "rope/3.4.3/1", Level: MUST,
			Title:  `"id": null denotes a request: it is executed and answered with "id": null`,
			Expect: `rope.ping with id null answered with {"seq": n} and id null; an unknown method with id null gets -32601 with id null`,
			Run:    runNullID},
		{ID: "rope/3.5.1/1", Level: MUST,
			Title:  "a notification MUST be executed like the request and MUST NOT get any response, neither result nor error",
			Expect: "no response to notifications of rope.ping, unknown methods, failing calls; createCounter and setAppData notifications broadcast rope.created and rope.updated (§8.5.1)",
			Run:    runNotifications},
	}
}

func runInvalidUTF8(t *T) {
	p, _ := t.Connect("a")
	p.Send("{\"jsonrpc\":\"2.0\",\"id\":\"\xff\xfe\",\"method\":\"rope.ping\"}")
	m, err := p.TryRead()
	if err != nil {
		if closedWith(err, websocket.StatusInvalidFramePayloadData) {
			return
		}
		t.Fatalf("%v, want -32700 or close 1007", err)
	}
	t.ExpectError(m, rope.CodeParseError, "null")
	p.Barrier()
}

func runBatch(t *T) {
	p, _ := t.Connect("a")
	for _, batch := range []string{
		`[{"jsonrpc":"2.0","id":15,"method":"rope.call","params":{"object":"fixture","method":"createCounter"}},{"jsonrpc":"2.0","id":16,"method":"rope.ping"}]`,
		`[]`,
	} {
		p.Send(batch)
		t.ExpectError(p.Answer(), rope.CodeInvalidRequest, "null")
	}
	if notes := p.Barrier(); len(notes) > 0 {
		t.Fatalf("a batch element was executed: %.300s", notes[0].Raw)
	}
}

func runClientResponse(t *T) {
	p, _ := t.Connect("a")
	p.Send(`{"jsonrpc":"2.0","id":20,"result":{"seq":1}}`)
	p.Send(`{"jsonrpc":"2.0","id":21,"error":{"code":-32000,"message":"x","data":{"name":"X"}}}`)
	p.Barrier()
}

func runIDEcho(t *T) {
	p, _ := t.Connect("a")
	for _, id := range []string{`"\u0041"`, `12345678901234567890123`, `-7`, `0`, `""`, `"a b"`} {
		p.Send(`{"jsonrpc":"2.0","id":` + id + `,"method":"rope.ping"}`)
		m := p.Response()
		if string(m.ID) != id {
			t.Fatalf("id %s echoed as %s", id, orAbsent(m.ID))
		}
	}
}

func runNullID(t *T) {
	p, _ := t.Connect("a")
	p.Send(`{"jsonrpc":"2.0","id":null,"method":"rope.ping"}`)
	m := p.Response()
	if string(m.ID) != "null" || m.Error != nil || !strings.HasPrefix(string(m.Result), "{") {
		t.Fatalf("got %.300s, want a result with id null", m.Raw)
	}
	p.Send(`{"jsonrpc":"2.0","id":null,"method":"rope.nope"}`)
	t.ExpectError(p.Response(), rope.CodeMethodNotFound, "null")
}

func runNotifications(t *T) {
	p, _ := t.Connect("a")
	p.Notify(rope.MethodPing, nil)
	p.Notify("rope.nope", nil)
	p.Notify("nope", map[string]any{})
	p.Notify(rope.MethodCall, map[string]any{"object": fixtureID, "method": "fail", "params": map[string]any{"kind": "app"}})
	p.Notify(rope.MethodCall, map[string]any{"object": "no-such-object", "method": "close"})
	p.Notify(rope.MethodCall, map[string]any{"object": fixtureID, "method": "createCounter", "params": map[string]any{"value": 7}})
	p.Notify(rope.MethodSetAppData, map[string]any{"object": fixtureID, "appData": map[string]any{"n": 1}})
	notes := p.Barrier()
	for len(notes) < 2 { // the notifications may still be running
		notes = append(notes, p.Read())
		notes = append(notes, p.Barrier()...)
	}
	got := map[string]int{}
	for _, m := range notes {
		got[m.Method]++
	}
	if len(notes) != 2 || got[rope.MethodCreated] != 1 || got[rope.MethodUpdated] != 1 {
		t.Fatalf("got notifications %v, want one rope.created (createCounter) and one rope.updated (setAppData)", got)
	}
}
