package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"

	"github.com/ropehq/rope/rope"
)

// fixtureID is the id of the fixture's root object (§15.1.1).
const fixtureID = "fixture"

// Msg is one message received from the server, decoded loosely so that the
// cases can judge it.
type Msg struct {
	Raw []byte
	// ID is the id member's JSON text, nil when absent.
	ID     json.RawMessage
	Method string
	Params json.RawMessage
	// Result is the result member's JSON text, nil when absent.
	Result json.RawMessage
	Error  *WireError
}

// WireError is a received error object.
type WireError struct {
	Code    json.RawMessage `json:"code"`
	Message json.RawMessage `json:"message"`
	Data    json.RawMessage `json:"data"`
}

var errNotObject = errors.New("not a JSON object")

func decodeMsg(data []byte) (*Msg, error) {
	var w struct {
		JSONRPC json.RawMessage `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Method  *string         `json:"method"`
		Params  json.RawMessage `json:"params"`
		Result  json.RawMessage `json:"result"`
		Error   *WireError      `json:"error"`
	}
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '{' {
		return nil, fmt.Errorf("server message %.200s: %w", data, errNotObject)
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("server message %.200s: %w", data, err)
	}
	if string(w.JSONRPC) != `"2.0"` {
		return nil, fmt.Errorf("server message %.200s: jsonrpc must be \"2.0\"", data)
	}
	m := &Msg{Raw: data, ID: w.ID, Params: w.Params, Result: w.Result, Error: w.Error}
	if w.Method != nil {
		m.Method = *w.Method
	}
	return m, nil
}

// IsResponse reports whether m is a response (it has an id and no method).
func (m *Msg) IsResponse() bool { return m.Method == "" && m.ID != nil }

// Seq returns the seq of a sequenced notification.
func (m *Msg) Seq() (uint64, bool) {
	switch m.Method {
	case rope.MethodCreated, rope.MethodUpdated, rope.MethodClosed, rope.MethodEvent:
	default:
		return 0, false
	}
	var s struct {
		Seq uint64 `json:"seq"`
	}
	if json.Unmarshal(m.Params, &s) != nil {
		return 0, false
	}
	return s.Seq, true
}

// ObjectID is the object a sequenced notification is about.
func (m *Msg) ObjectID() string {
	var p struct {
		ID     string `json:"id"`
		Object struct {
			ID string `json:"id"`
		} `json:"object"`
	}
	_ = json.Unmarshal(m.Params, &p)
	if p.ID != "" {
		return p.ID
	}
	return p.Object.ID
}

// Code is the error code, or 0 when m is no error response.
func (m *Msg) Code() int {
	if m.Error == nil {
		return 0
	}
	c, err := strconv.Atoi(string(m.Error.Code))
	if err != nil {
		return 0
	}
	return c
}

// ErrorData decodes the error's data member.
func (m *Msg) ErrorData() map[string]any {
	var d map[string]any
	if m.Error != nil {
		_ = json.Unmarshal(m.Error.Data, &d)
	}
	return d
}

// checkErrorShape checks §9.1.1 and §9.2.1: code integer, message string,
// data an object with a string name, the table's name for standard codes.
func checkErrorShape(m *Msg) error {
	e := m.Error
	if e == nil {
		return fmt.Errorf("got %.300s, want an error response", m.Raw)
	}
	if _, err := strconv.Atoi(string(e.Code)); err != nil {
		return fmt.Errorf("error code %s is not an integer (§9.1.1)", e.Code)
	}
	var msg string
	if json.Unmarshal(e.Message, &msg) != nil {
		return fmt.Errorf("error message %s is not a string (§9.1.1)", e.Message)
	}
	var data struct {
		Name *string `json:"name"`
	}
	if len(e.Data) == 0 || e.Data[0] != '{' || json.Unmarshal(e.Data, &data) != nil || data.Name == nil {
		return fmt.Errorf("error data %s is not an object with a string name (§9.1.1)", e.Data)
	}
	code := rope.Code(m.Code())
	if want := code.Name(); want != "" && code != rope.CodeApplicationError && *data.Name != want {
		return fmt.Errorf("error %d has data.name %q, want %q (§9.2.1)", code, *data.Name, want)
	}
	return nil
}

// ExpectError fails the case unless m is an error response with the code
// and the id (JSON text) given, shaped per §9.1.
func (t *T) ExpectError(m *Msg, code rope.Code, id string) {
	if m.Method != "" {
		t.Fatalf("got notification %.300s, want error %d", m.Raw, code)
	}
	if err := checkErrorShape(m); err != nil {
		t.Fatalf("%v", err)
	}
	if m.Result != nil {
		t.Fatalf("%.300s has both result and error (§3.6.2)", m.Raw)
	}
	if got := m.Code(); got != int(code) {
		t.Fatalf("got error %d in %.300s, want %d", got, m.Raw, code)
	}
	if string(m.ID) != id {
		t.Fatalf("got id %s in %.300s, want %s", orAbsent(m.ID), m.Raw, id)
	}
}

// ExpectResult fails the case unless m is a success response whose result
// is JSON-equal to want.
func (t *T) ExpectResult(m *Msg, want string) {
	if m.Error != nil || m.Result == nil {
		t.Fatalf("got %.300s, want result %s", m.Raw, want)
	}
	if !jsonEqual(m.Result, []byte(want)) {
		t.Fatalf("got result %.300s, want %s", m.Result, want)
	}
}

func orAbsent(b []byte) string {
	if b == nil {
		return "(absent)"
	}
	return string(b)
}

// jsonEqual reports whether a and b are JSON-equal (§1.3): member order and
// escapes aside, numbers compared as the doubles they round to (-0 equals
// 0). A number beyond the double range makes them unequal.
func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// Init is a decoded rope.init.
type Init struct {
	rope.InitParams
	// Members lists the params members present, with their JSON text.
	Members map[string]json.RawMessage
}

// Init reads the first message and fails the case unless it is rope.init.
func (p *Peer) Init() *Init {
	m := p.Read()
	if m.Method != rope.MethodInit {
		p.t.Fatalf("%s: first message is %.300s, want rope.init (§5.1.1)", p.name, m.Raw)
	}
	in := &Init{}
	if err := json.Unmarshal(m.Params, &in.Members); err != nil {
		p.t.Fatalf("%s: rope.init params: %v", p.name, err)
	}
	if err := json.Unmarshal(m.Params, &in.InitParams); err != nil {
		p.t.Fatalf("%s: rope.init params do not have the types of §5.2.1: %v", p.name, err)
	}
	p.LastSeq = in.Seq
	return in
}

// Object returns the snapshot's object with the id.
func (in *Init) Object(id string) (rope.ObjectState, bool) {
	for _, o := range in.Objects {
		if o.ID == id {
			return o, true
		}
	}
	return rope.ObjectState{}, false
}
