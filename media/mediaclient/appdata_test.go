package mediaclient

import (
	"encoding/json"
	"testing"
)

func TestDecodeAppData(t *testing.T) {
	d := decodeAppData(json.RawMessage(`{"i":7,"f":1.5,"big":1e30,"s":"x","a":[1,{"n":2}],"b":true,"z":null}`))
	a := d["a"].([]any)
	if d["i"] != 7 || d["f"] != 1.5 || d["big"] != 1e30 || d["s"] != "x" || a[0] != 1 || a[1].(map[string]any)["n"] != 2 || d["b"] != true || d["z"] != nil {
		t.Fatalf("%#v", d)
	}
	for _, raw := range []string{``, `null`, `[]`, `5`, `{`} {
		if d := decodeAppData(json.RawMessage(raw)); d == nil || len(d) != 0 {
			t.Errorf("%q: %#v", raw, d)
		}
	}
}

// FuzzDecodeAppData: any input decodes to a non-nil map without panicking.
func FuzzDecodeAppData(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":[1.5,{"b":-0}]}`, `{"n":123456789012345678901234567890}`, `{`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if decodeAppData(b) == nil {
			t.Fatal("nil appData")
		}
	})
}
