package rope

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		code    Code // 0: success
		wantID  string
		method  string
		isReply bool
	}{
		{"request", `{"jsonrpc":"2.0","id":1,"method":"rope.ping"}`, 0, `1`, "rope.ping", false},
		{"string id", `{"jsonrpc":"2.0","id":"a","method":"m","params":{}}`, 0, `"a"`, "m", false},
		{"null id is a request", `{"jsonrpc":"2.0","id":null,"method":"m"}`, 0, `null`, "m", false},
		{"negative id kept", `{"jsonrpc":"2.0","id":-1,"method":"m"}`, 0, `-1`, "m", false},
		{"notification", `{"jsonrpc":"2.0","method":"m","params":[1]}`, 0, ``, "m", false},
		{"response", `{"jsonrpc":"2.0","id":7,"result":{"x":1}}`, 0, `7`, "", true},
		{"error response", `{"jsonrpc":"2.0","id":7,"error":{"code":-32001,"message":"x","data":{"name":"ObjectNotFound"}}}`, 0, `7`, "", true},
		{"invalid json", `{"jsonrpc":"2.0",`, CodeParseError, `null`, "", false},
		{"empty", ``, CodeParseError, `null`, "", false},
		{"invalid UTF-8", "{\"jsonrpc\":\"2.0\",\"id\":\"\xff\xfe\",\"method\":\"rope.ping\"}", CodeParseError, `null`, "", false},
		{"batch", `[{"jsonrpc":"2.0","id":1,"method":"m"}]`, CodeInvalidRequest, `null`, "", false},
		{"scalar", `42`, CodeInvalidRequest, `null`, "", false},
		{"fractional id", `{"jsonrpc":"2.0","id":1.5,"method":"m"}`, CodeInvalidRequest, `null`, "", false},
		{"object id", `{"jsonrpc":"2.0","id":{},"method":"m"}`, CodeInvalidRequest, `null`, "", false},
		{"no jsonrpc", `{"id":3,"method":"m"}`, CodeInvalidRequest, `3`, "", false},
		{"wrong jsonrpc", `{"jsonrpc":"1.0","id":3,"method":"m"}`, CodeInvalidRequest, `3`, "", false},
		{"method not a string", `{"jsonrpc":"2.0","id":3,"method":5}`, CodeInvalidRequest, `3`, "", false},
		{"empty method is a request", `{"jsonrpc":"2.0","id":3,"method":""}`, 0, `3`, "", false},
		{"null params are absent", `{"jsonrpc":"2.0","id":3,"method":"m","params":null}`, 0, `3`, "m", false},
		{"scalar params", `{"jsonrpc":"2.0","id":3,"method":"m","params":5}`, CodeInvalidRequest, `3`, "", false},
		{"neither", `{"jsonrpc":"2.0","id":3}`, CodeInvalidRequest, `3`, "", false},
		{"both result and error", `{"jsonrpc":"2.0","id":3,"result":1,"error":{"code":1,"message":""}}`, CodeInvalidRequest, `3`, "", false},
		// Member names match exactly (§1.4.1): other spellings are unknown
		// members, ignored.
		{"Method is not method", `{"jsonrpc":"2.0","id":4,"Method":"rope.ping"}`, CodeInvalidRequest, `4`, "", false},
		{"JSONRPC is not jsonrpc", `{"JSONRPC":"2.0","id":4,"method":"rope.ping"}`, CodeInvalidRequest, `4`, "", false},
		{"ID is not id: a notification", `{"jsonrpc":"2.0","ID":4,"method":"rope.ping"}`, 0, ``, "rope.ping", false},
		{"Result is not result", `{"jsonrpc":"2.0","id":4,"Result":1}`, CodeInvalidRequest, `4`, "", false},
		{"escaped names are the names", `{"\u006asonrpc":"2.0","\u0069d":4,"m\u0065thod":"rope.ping"}`, 0, `4`, "rope.ping", false},
		{"escaped jsonrpc is 2.0", `{"jsonrpc":"2\u002e0","id":4,"method":"rope.ping"}`, 0, `4`, "rope.ping", false},
		{"escaped method", `{"jsonrpc":"2.0","id":4,"method":"rope\u002eping"}`, 0, `4`, "rope.ping", false},
		{"surrogate pair in method", `{"jsonrpc":"2.0","id":4,"method":"\ud83d\ude00"}`, 0, `4`, "\U0001F600", false},
		{"null method", `{"jsonrpc":"2.0","id":4,"method":null}`, CodeInvalidRequest, `4`, "", false},
		{"null jsonrpc", `{"jsonrpc":null,"id":4,"method":"m"}`, CodeInvalidRequest, `4`, "", false},
		{"jsonrpc 2.0 as a number", `{"jsonrpc":2.0,"id":4,"method":"m"}`, CodeInvalidRequest, `4`, "", false},
		// A repeated member name anywhere is InvalidRequest (§1.4.1).
		{"repeated method", `{"jsonrpc":"2.0","id":5,"method":"rope.ping","method":"x"}`, CodeInvalidRequest, `5`, "", false},
		{"repeated id answers null", `{"jsonrpc":"2.0","id":5,"id":6,"method":"rope.ping"}`, CodeInvalidRequest, `null`, "", false},
		{"repeated unknown member", `{"jsonrpc":"2.0","id":5,"x":1,"method":"rope.ping","x":1}`, CodeInvalidRequest, `5`, "", false},
		{"repeated in params", `{"jsonrpc":"2.0","id":5,"method":"rope.call","params":{"object":"a","object":"b","method":"m"}}`, CodeInvalidRequest, `5`, "", false},
		{"repeated deep in params", `{"jsonrpc":"2.0","id":5,"method":"m","params":[{"a":[{"b":1,"b":2}]}]}`, CodeInvalidRequest, `5`, "", false},
		{"repeated once escaped", `{"jsonrpc":"2.0","id":5,"method":"m","params":{"ab":1,"a\u0062":2}}`, CodeInvalidRequest, `5`, "", false},
		{"repeated among many", `{"jsonrpc":"2.0","id":5,"method":"m","params":{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1,"h":1,"i":1,"j":1,"k":1,"l":1,"m":1,"n":1,"a":2}}`, CodeInvalidRequest, `5`, "", false},
		{"names differing in case are not repeated", `{"jsonrpc":"2.0","id":5,"method":"m","params":{"a":1,"A":2}}`, 0, `5`, "m", false},
		{"repeated in a response", `{"jsonrpc":"2.0","id":5,"result":{"a":1,"a":1}}`, CodeInvalidRequest, `5`, "", false},
		{"repeated in invalid JSON is a parse error", `{"jsonrpc":"2.0","id":5,"id":5,"method":`, CodeParseError, `null`, "", false},
		// Syntax.
		{"trailing comma", `{"jsonrpc":"2.0","id":6,"method":"m",}`, CodeParseError, `null`, "", false},
		{"trailing data", `{"jsonrpc":"2.0","id":6,"method":"m"} {}`, CodeParseError, `null`, "", false},
		{"whitespace around", " \t\r\n{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"m\"}\n ", 0, `6`, "m", false},
		{"leading zero", `{"jsonrpc":"2.0","id":06,"method":"m"}`, CodeParseError, `null`, "", false},
		{"bad escape", `{"jsonrpc":"2.0","id":6,"method":"\x"}`, CodeParseError, `null`, "", false},
		{"short unicode escape", `{"jsonrpc":"2.0","id":6,"method":"\u12"}`, CodeParseError, `null`, "", false},
		{"control character", "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"a\tb\"}", CodeParseError, `null`, "", false},
		{"bad literal", `{"jsonrpc":"2.0","id":6,"method":"m","params":[tru]}`, CodeParseError, `null`, "", false},
		{"bad number", `{"jsonrpc":"2.0","id":6,"method":"m","params":[1.]}`, CodeParseError, `null`, "", false},
		{"invalid batch is a parse error", `[{"jsonrpc":"2.0"},`, CodeParseError, `null`, "", false},
		{"too deep", `{"jsonrpc":"2.0","id":6,"method":"m","params":` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `}`, CodeParseError, `null`, "", false},
		{"deep", `{"jsonrpc":"2.0","id":6,"method":"m","params":` + strings.Repeat("[", maxDepth-1) + strings.Repeat("]", maxDepth-1) + `}`, 0, `6`, "m", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, id, e := Decode([]byte(tt.in))
			if string(id) != tt.wantID {
				t.Errorf("id = %q, want %q", id, tt.wantID)
			}
			if tt.code != 0 {
				if e == nil || e.Code != tt.code {
					t.Fatalf("error = %v, want code %d", e, tt.code)
				}
				return
			}
			if e != nil {
				t.Fatalf("unexpected error %v", e)
			}
			if m.Method != tt.method || m.IsRequest() == tt.isReply {
				t.Errorf("got method %q request=%v", m.Method, m.IsRequest())
			}
		})
	}
}

func TestResponseRoundTrip(t *testing.T) {
	buf := AppendErrorResponse(nil, ID(`-1`), NewError(CodeObjectNotFound, "no object %q", "x"))
	if !json.Valid(buf) {
		t.Fatalf("invalid JSON %s", buf)
	}
	m, _, e := Decode(buf)
	if e != nil {
		t.Fatal(e)
	}
	if string(m.ID) != "-1" || !errors.Is(m.Error, ErrObjectNotFound) || m.Error.Data.Name != "ObjectNotFound" {
		t.Errorf("got %+v", m.Error)
	}
	if errors.Is(m.Error, ErrInvalidState) {
		t.Error("codes differ, Is must be false")
	}
	ok := AppendResponse(nil, ID(`"q"`), nil)
	if string(ok) != `{"jsonrpc":"2.0","id":"q","result":null}` {
		t.Errorf("got %s", ok)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"rope.call","params":{"object":"x","method":"y"}}`,
		`{"jsonrpc":"2.0","id":1,"result":null}`,
		`[1,2]`, `{"jsonrpc":"2.0","id":1e3,"method":"m"}`, `{`, `null`, ` {"jsonrpc":"2.0","id":"\u0000","method":"m"}`,
		`{"jsonrpc":"2.0","ID":1,"Method":"rope.ping","PARAMS":{}}`,
		`{"jsonrpc":"2\u002e0","\u0069d":1,"method":"rope\u002eping"}`,
		`{"jsonrpc":"2.0","id":1,"method":"m","method":"n"}`,
		`{"jsonrpc":"2.0","id":1,"method":"m","params":{"a":{"b":1,"b\u0000":2,"b":3}}}`,
		`{"jsonrpc":"2.0","id":1,"method":null}`,
		`{"jsonrpc":"2.0","id":1,"error":{"code":1,"Code":2,"message":"","data":{"name":"x"}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, id, e := Decode(data)
		if (m == nil) == (e == nil) {
			t.Fatalf("exactly one of message and error must be set: %v %v", m, e)
		}
		if e != nil {
			// The error response built from it must be valid JSON.
			if out := AppendErrorResponse(nil, id, e); !json.Valid(out) {
				t.Fatalf("invalid error response %s", out)
			}
		} else if m.IsRequest() && m.ID != nil {
			if out := AppendResponse(nil, m.ID, nil); !json.Valid(out) {
				t.Fatalf("invalid response %s", out)
			}
		}
		checkDecodeAgainstOracle(t, data, m, id, e)
	})
}

// checkDecodeAgainstOracle compares Decode's verdict with encoding/json:
// validity with json.Valid and utf8.Valid, repeated names with its
// tokenizer, and the members read with a map, whose keys match exactly.
func checkDecodeAgainstOracle(t *testing.T, data []byte, m *Message, id ID, e *Error) {
	if !json.Valid(data) || !utf8.Valid(data) {
		if e == nil || e.Code != CodeParseError {
			t.Fatalf("%q is not valid JSON: got %v", data, e)
		}
		return
	}
	if e != nil && e.Code == CodeParseError && !tooDeep(data) {
		t.Fatalf("%q is valid JSON: got %v", data, e)
	}
	if hasRepeatedName(data) {
		if e == nil || e.Code != CodeInvalidRequest {
			t.Fatalf("%q repeats a name: got %v", data, e)
		}
		return
	}
	var members map[string]json.RawMessage
	if json.Unmarshal(data, &members) != nil {
		return // not an object
	}
	method, isRequest := members["method"]
	if e != nil {
		if rawID, ok := members["id"]; ok && e.Code == CodeInvalidRequest && string(id) != "null" && string(id) != string(rawID) {
			t.Fatalf("%q: answered to id %s, want %s", data, id, rawID)
		}
		return
	}
	var wantVersion string
	if json.Unmarshal(members["jsonrpc"], &wantVersion) != nil || wantVersion != Version {
		t.Fatalf("%q: accepted with jsonrpc %s", data, members["jsonrpc"])
	}
	if rawID, ok := members["id"]; ok != (m.ID != nil) || string(rawID) != string(m.ID) {
		t.Fatalf("%q: id %s, want %s", data, m.ID, rawID)
	}
	if m.IsRequest() != isRequest {
		t.Fatalf("%q: request = %v, want %v", data, m.IsRequest(), isRequest)
	}
	if !isRequest {
		return
	}
	var wantMethod string
	if json.Unmarshal(method, &wantMethod) != nil || method[0] != '"' || wantMethod != m.Method {
		t.Fatalf("%q: method %q, want %s", data, m.Method, method)
	}
	if p := members["params"]; string(p) != "null" && string(p) != string(m.Params) {
		t.Fatalf("%q: params %s, want %s", data, m.Params, p)
	}
}

// tooDeep reports whether data nests deeper than Decode accepts.
func tooDeep(data []byte) bool {
	depth, most := 0, 0
	inString, escaped := false, false
	for _, c := range data {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case !inString && (c == '{' || c == '['):
			depth++
			most = max(most, depth)
		case !inString && (c == '}' || c == ']'):
			depth--
		}
	}
	return most > maxDepth
}
