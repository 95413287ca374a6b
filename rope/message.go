package rope

import (
	"bytes"
	"encoding/json"
	"errors"
)

// Version is the value of every message's "jsonrpc" member.
const Version = "2.0"

// ID is a request id exactly as it appeared on the wire: a JSON string, an
// integer number or null. A nil ID means the member was absent (a
// notification). Servers echo it byte for byte.
type ID json.RawMessage

// IsNotification reports whether the message carried no id.
func (id ID) IsNotification() bool { return id == nil }

// NullID is the id of responses to messages whose id could not be read.
var NullID = ID("null")

// Message is one decoded JSON-RPC 2.0 message: a request or notification
// (Method set) or a response (Result or Error set).
type Message struct {
	ID     ID
	Method string
	Params json.RawMessage
	Result json.RawMessage
	Error  *Error

	isResponse bool
}

// IsRequest reports whether the message is a request or a notification.
func (m *Message) IsRequest() bool { return !m.isResponse }

// envelope holds the members of a message object that Decode reads, as
// subslices of the message: each nil when absent.
type envelope struct {
	jsonrpc, id, method, params, result, error []byte
}

// Decode parses one message. On failure it returns the error to answer with
// and the id to answer to (NullID when the id could not be read): invalid
// JSON is a ParseError; a batch, a non-object, a wrong "jsonrpc" member, a
// bad id, a member name repeated in any object of the message or a message
// that is neither request nor response is an InvalidRequest. Arrays and
// objects nested more than 512 deep are a ParseError.
//
// Member names match exactly, after escapes are decoded (spec §1.4.1):
// "ID" or "Method" are unknown members, ignored, while "\u0069d" is "id".
// The returned message's ID, Params and Result share data's bytes.
func Decode(data []byte) (*Message, ID, *Error) {
	s := scanner{data: data}
	s.ws()
	var env envelope
	isObject := s.peek() == '{'
	var ok bool
	if isObject {
		ok = s.envelope(&env)
	} else {
		ok = s.value()
	}
	s.ws()
	if !ok || s.pos != len(data) {
		return nil, NullID, NewError(CodeParseError, "invalid JSON")
	}
	if !s.utf8OK() {
		return nil, NullID, NewError(CodeParseError, "invalid UTF-8")
	}
	if !isObject {
		if bytes.TrimLeft(data, " \t\r\n")[0] == '[' {
			return nil, NullID, NewError(CodeInvalidRequest, "batches are not supported")
		}
		return nil, NullID, NewError(CodeInvalidRequest, "a message must be a JSON object")
	}
	id, ok := validID(env.id)
	if !ok {
		return nil, NullID, NewError(CodeInvalidRequest, "id must be a string, an integer or null")
	}
	if s.hasDup {
		if s.dup == "id" && env.id != nil {
			id = NullID // which of the ids is meant cannot be told
		}
		return nil, id, NewError(CodeInvalidRequest, "member name %q repeated", s.dup)
	}
	if !isVersion(env.jsonrpc) {
		return nil, id, NewError(CodeInvalidRequest, `"jsonrpc" must be "2.0"`)
	}
	if env.method != nil {
		return decodeRequest(&env, id)
	}
	return decodeResponse(&env, id)
}

// envelope scans the message object, validating it whole, and keeps the
// members Decode reads.
func (s *scanner) envelope(env *envelope) bool {
	s.pos++ // {
	s.depth++
	var names nameSet
	s.ws()
	if s.peek() == '}' {
		s.pos++
		return true
	}
	for {
		name, ok := s.memberName()
		if !ok {
			return false
		}
		s.noteName(&names, name)
		start := s.pos
		if !s.value() {
			return false
		}
		env.set(name, s.data[start:s.pos])
		s.ws()
		switch s.peek() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return true
		default:
			return false
		}
	}
}

func (env *envelope) set(name, value []byte) {
	switch string(name) {
	case "jsonrpc":
		env.jsonrpc = value
	case "id":
		env.id = value
	case "method":
		env.method = value
	case "params":
		env.params = value
	case "result":
		env.result = value
	case "error":
		env.error = value
	}
}

func decodeRequest(env *envelope, id ID) (*Message, ID, *Error) {
	if env.method[0] != '"' {
		return nil, id, NewError(CodeInvalidRequest, "method must be a string")
	}
	params := env.params
	if string(params) == "null" {
		params = nil // null params are absent params
	}
	if params != nil && params[0] != '{' && params[0] != '[' {
		return nil, id, NewError(CodeInvalidRequest, "params must be an object or an array")
	}
	return &Message{ID: id, Method: stringValue(env.method), Params: params}, id, nil
}

func decodeResponse(env *envelope, id ID) (*Message, ID, *Error) {
	if id == nil || (env.result == nil) == (env.error == nil) {
		return nil, id, NewError(CodeInvalidRequest, "not a request nor a response")
	}
	m := &Message{ID: id, Result: env.result, isResponse: true}
	if env.error != nil {
		m.Error = new(Error)
		if err := Unmarshal(env.error, m.Error); err != nil {
			return nil, id, NewError(CodeInvalidRequest, "malformed error object: %v", err)
		}
	}
	return m, id, nil
}

// isVersion reports whether raw is the JSON string "2.0", however written.
func isVersion(raw []byte) bool {
	if string(raw) == `"`+Version+`"` {
		return true
	}
	return len(raw) > 0 && raw[0] == '"' && stringValue(raw) == Version
}

// validID accepts an absent id, null, a string or an integer number.
func validID(raw []byte) (ID, bool) {
	if raw == nil {
		return nil, true
	}
	switch c := raw[0]; {
	case c == 'n' || c == '"':
		return ID(raw), true
	case c == '-' || (c >= '0' && c <= '9'):
		if bytes.ContainsAny(raw, ".eE") {
			return nil, false
		}
		return ID(raw), true
	}
	return nil, false
}

// AppendResponse appends a success response to buf. result must be valid
// JSON; nil stands for null.
func AppendResponse(buf []byte, id ID, result json.RawMessage) []byte {
	buf = append(buf, `{"jsonrpc":"2.0","id":`...)
	buf = append(buf, id...)
	buf = append(buf, `,"result":`...)
	if result == nil {
		result = json.RawMessage("null")
	}
	buf = append(buf, result...)
	return append(buf, '}')
}

// AppendErrorResponse appends an error response to buf.
func AppendErrorResponse(buf []byte, id ID, e *Error) []byte {
	if id == nil {
		id = NullID
	}
	if e.Data.Name == "" {
		c := *e
		c.Data.Name = e.Code.Name()
		e = &c
	}
	body, err := json.Marshal(e)
	if err != nil {
		body = []byte(`{"code":-32603,"message":"unencodable error","data":{"name":"InternalError"}}`)
	}
	buf = append(buf, `{"jsonrpc":"2.0","id":`...)
	buf = append(buf, id...)
	buf = append(buf, `,"error":`...)
	buf = append(buf, body...)
	return append(buf, '}')
}

// AppendRequest appends a request (or, with a nil id, a notification).
func AppendRequest(buf []byte, id ID, method string, params json.RawMessage) []byte {
	buf = append(buf, `{"jsonrpc":"2.0",`...)
	if id != nil {
		buf = append(buf, `"id":`...)
		buf = append(buf, id...)
		buf = append(buf, ',')
	}
	buf = append(buf, `"method":`...)
	buf, _ = appendJSONString(buf, method)
	if params != nil {
		buf = append(buf, `,"params":`...)
		buf = append(buf, params...)
	}
	return append(buf, '}')
}

func appendJSONString(buf []byte, s string) ([]byte, error) {
	b, err := json.Marshal(s)
	return append(buf, b...), err
}

// EncodeNotification encodes a notification with params marshalled as JSON;
// they must encode as an object or an array (JSON-RPC's structured params).
func EncodeNotification(method string, params any) ([]byte, error) {
	p, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	if p[0] != '{' && p[0] != '[' {
		return nil, errors.New("rope: params must be an object or an array")
	}
	return AppendRequest(nil, nil, method, p), nil
}
