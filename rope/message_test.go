package rope

import (
	"encoding/json"
	"errors"
	"testing"
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
			return
		}
		if m.IsRequest() && m.ID != nil {
			if out := AppendResponse(nil, m.ID, nil); !json.Valid(out) {
				t.Fatalf("invalid response %s", out)
			}
		}
	})
}
