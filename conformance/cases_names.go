package conformance

import (
	"encoding/json"

	"github.com/ropehq/rope/rope"
)

// nameCases check how a server reads member names and strings (§1.4, §3.3).
func nameCases() []*Case {
	return []*Case{
		{ID: "rope/1.4.1/1", Level: MUST,
			Title:  "member names match exactly: a name that differs from a defined one only in case is an unknown member, ignored",
			Expect: `"Method", "JSONRPC" → -32600; "PARAMS", rope.call {"Object","Method"}, setAppData {"AppData"}, sleep {"MS"} → -32602; "Params" ignored by rope.call; "ID" makes a notification; createCounter {"Value":5} makes value 0`,
			Run:    runExactNames},
		{ID: "rope/1.4.1/2", Level: MUST,
			Title:  "member names and strings are read once escapes are decoded",
			Expect: `{"jsonrpc":"2\u002e0","\u0069d":4,"method":"rope\u002eping"} answered with id 4; rope.call of "fi\u0078ture" "\u0065cho" returns its params`,
			Run: scripted(
				step{send: `{"jsonrpc":"2\u002e0","\u0069d":4,"method":"rope\u002eping"}`, id: "4"},
				step{send: `{"jsonrpc":"2.0","id":5,"method":"rope.call","params":{"object":"fi\u0078ture","m\u0065thod":"\u0065cho","params":["\u00e9"]}}`, id: "5", result: `["é"]`},
			)},
		{ID: "rope/1.4.1/3", Level: MUST,
			Title:  "a message in which any object repeats a member name MUST get -32600 and MUST NOT be executed",
			Expect: "-32600 for a repeated method, id (answered with id null), rope.call member, fixture param and appData member, also for a notification; no rope.created",
			Run:    runRepeatedNames},
		{ID: "rope/3.3.1/4", Level: MUST,
			Title:  `"method": null is not a string: the object is not a valid request (-32600)`,
			Expect: "-32600 with the request's id, not -32601",
			Run: scripted(
				errStep(`{"jsonrpc":"2.0","id":29,"method":null}`, rope.CodeInvalidRequest, "29"),
				errStep(`{"jsonrpc":"2.0","id":30,"method":null,"params":{}}`, rope.CodeInvalidRequest, "30"),
			)},
	}
}

func runExactNames(t *T) {
	p, _ := t.Connect("a")
	for _, s := range []step{
		errStep(`{"jsonrpc":"2.0","id":1,"Method":"rope.ping"}`, rope.CodeInvalidRequest, "1"),
		errStep(`{"JSONRPC":"2.0","id":2,"method":"rope.ping"}`, rope.CodeInvalidRequest, "2"),
		errStep(`{"jsonrpc":"2.0","id":3,"method":"rope.call","PARAMS":{"object":"fixture","method":"echo"}}`, rope.CodeInvalidParams, "3"),
		errStep(`{"jsonrpc":"2.0","id":4,"method":"rope.call","params":{"Object":"fixture","Method":"echo"}}`, rope.CodeInvalidParams, "4"),
		{send: `{"jsonrpc":"2.0","id":5,"method":"rope.call","params":{"object":"fixture","method":"echo","Params":[1]}}`, id: "5", result: `null`},
		errStep(`{"jsonrpc":"2.0","id":6,"method":"rope.setAppData","params":{"object":"fixture","AppData":{}}}`, rope.CodeInvalidParams, "6"),
		errStep(call("7", fixtureID, "sleep", `{"MS":0}`), rope.CodeInvalidParams, "7"),
	} {
		s.run(t, p)
	}
	// "ID" is no id: this is a notification, executed and never answered.
	p.Send(`{"jsonrpc":"2.0","ID":8,"method":"rope.ping"}`)
	p.Barrier()
	notes, _ := p.MustCall(fixtureID, "createCounter", json.RawMessage(`{"Value":5}`))
	if v := createdValue(t, notes); v != "0" {
		t.Fatalf(`createCounter {"Value":5} made value %s, want 0 ("Value" is not "value")`, v)
	}
}

// createdValue returns the props.value of the one rope.created in notes.
func createdValue(t *T, notes []*Msg) string {
	for _, m := range notes {
		if m.Method != rope.MethodCreated {
			continue
		}
		var p rope.CreatedParams
		if err := json.Unmarshal(m.Params, &p); err != nil {
			t.Fatalf("rope.created %s: %v", m.Params, err)
		}
		return string(p.Object.Props["value"])
	}
	t.Fatalf("no rope.created before the response")
	return ""
}

func runRepeatedNames(t *T) {
	p, _ := t.Connect("a")
	b, _ := t.Connect("b")
	create := func(id, params string) string { return call(id, fixtureID, "createCounter", params) }
	for _, s := range []step{
		errStep(`{"jsonrpc":"2.0","id":1,"method":"rope.ping","method":"rope.call"}`, rope.CodeInvalidRequest, "1"),
		errStep(`{"jsonrpc":"2.0","id":2,"id":3,"method":"rope.ping"}`, rope.CodeInvalidRequest, "null"),
		errStep(`{"jsonrpc":"2.0","id":4,"method":"rope.call","params":{"object":"fixture","method":"createCounter","method":"echo"}}`, rope.CodeInvalidRequest, "4"),
		errStep(create("5", `{"value":1,"value":2}`), rope.CodeInvalidRequest, "5"),
		errStep(create("6", `{"appData":{"k":{"a":1,"a":2}}}`), rope.CodeInvalidRequest, "6"),
		errStep(create("7", `{"value":1,"v\u0061lue":2}`), rope.CodeInvalidRequest, "7"),
		errStep(`{"jsonrpc":"2.0","method":"rope.call","params":{"object":"fixture","method":"createCounter","params":{"value":1,"value":1}}}`, rope.CodeInvalidRequest, "null"),
	} {
		s.run(t, p)
	}
	for _, peer := range []*Peer{p, b} {
		if notes := peer.Barrier(); len(notes) > 0 {
			t.Fatalf("%s received %.300s: a message with a repeated name was executed", peer.name, notes[0].Raw)
		}
	}
}
