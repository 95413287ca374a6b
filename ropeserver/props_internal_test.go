package ropeserver

import (
	"encoding/json"
	"testing"
)

// An object's properties are one JSON object in declaration order, what
// Set changes is replaced whole (the earlier set, held by a snapshot,
// stays as it was), unchanged values are not news, and a value handed
// out cannot be appended over its neighbour.
func TestPropSetKeepsOrderAndSnapshots(t *testing.T) {
	typ := &objectType{}
	for _, n := range []string{"a", "b", "c"} {
		typ.props = append(typ.props, propName{n, appendJSONString(nil, n)})
	}
	first := newPropSet(typ, func(i int) json.RawMessage {
		return map[int]json.RawMessage{0: json.RawMessage(`1`), 2: json.RawMessage(`"x"`)}[i]
	})
	if got := string(first.json); got != `{"a":1,"c":"x"}` {
		t.Fatalf("encoded %s", got)
	}
	if first.value(1) != nil || string(first.value(2)) != `"x"` || first.value(typ.index("zz")) != nil {
		t.Fatalf("values: b %q, c %q", first.value(1), first.value(2))
	}
	enc := map[string]json.RawMessage{"a": json.RawMessage(`1`), "b": json.RawMessage(`[true]`)}
	if !first.changed(typ, enc) || len(enc) != 1 {
		t.Fatalf("changed left %v, want only b", enc)
	}
	next := first.with(typ, enc)
	if got := string(next.json); got != `{"a":1,"b":[true],"c":"x"}` {
		t.Fatalf("after Set: %s", got)
	}
	if got := string(first.json); got != `{"a":1,"c":"x"}` {
		t.Fatalf("the earlier set became %s", got)
	}
	_ = append(next.value(0), '9')
	if got := string(next.json); got != `{"a":1,"b":[true],"c":"x"}` {
		t.Fatalf("appending to a value changed the set: %s", got)
	}
	var none propSet
	if got := string(none.jsonOrEmpty()); got != "{}" {
		t.Fatalf("no properties: %s", got)
	}
}
