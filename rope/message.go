package rope

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
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

type wireMessage struct {
	JSONRPC json.RawMessage `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  json.RawMessage `json:"method"`
	Params  json.RawMessage `json:"params"`
	Result  json.RawMessage `json:"result"`
	Error   json.RawMessage `json:"error"`
}

// Decode parses one message. On failure it returns the error to answer with
// and the id to answer to (NullID when the id could not be read): invalid
// JSON is a ParseError; a batch, a non-object, a wrong "jsonrpc" member, a
// bad id or a message that is neither request nor response is an
// InvalidRequest.
func Decode(data []byte) (*Message, ID, *Error) {
	if !json.Valid(data) {
		return nil, NullID, NewError(CodeParseError, "invalid JSON")
	}
	if !utf8.Valid(data) {
		return nil, NullID, NewError(CodeParseError, "invalid UTF-8")
	}
	data = bytes.TrimLeft(data, " \t\r\n")
	if data[0] == '[' {
		return nil, NullID, NewError(CodeInvalidRequest, "batches are not supported")
	}
	if data[0] != '{' {
		return nil, NullID, NewError(CodeInvalidRequest, "a message must be a JSON object")
	}
	var w wireMessage
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, NullID, NewError(CodeInvalidRequest, "malformed message: %v", err)
	}
	id, ok := validID(w.ID)
	if !ok {
		return nil, NullID, NewError(CodeInvalidRequest, "id must be a string, an integer or null")
	}
	if string(w.JSONRPC) != `"2.0"` {
		return nil, id, NewError(CodeInvalidRequest, `"jsonrpc" must be "2.0"`)
	}
	if w.Method != nil {
		return decodeRequest(&w, id)
	}
	return decodeResponse(&w, id)
}

func decodeRequest(w *wireMessage, id ID) (*Message, ID, *Error) {
	var method string
	if err := json.Unmarshal(w.Method, &method); err != nil {
		return nil, id, NewError(CodeInvalidRequest, "method must be a string")
	}
	params := w.Params
	if string(params) == "null" {
		params = nil // null params are absent params
	}
	if params != nil && params[0] != '{' && params[0] != '[' {
		return nil, id, NewError(CodeInvalidRequest, "params must be an object or an array")
	}
	return &Message{ID: id, Method: method, Params: params}, id, nil
}

func decodeResponse(w *wireMessage, id ID) (*Message, ID, *Error) {
	if id == nil || (w.Result == nil) == (w.Error == nil) {
		return nil, id, NewError(CodeInvalidRequest, "not a request nor a response")
	}
	m := &Message{ID: id, Result: w.Result, isResponse: true}
	if w.Error != nil {
		m.Error = new(Error)
		if err := json.Unmarshal(w.Error, m.Error); err != nil {
			return nil, id, NewError(CodeInvalidRequest, "malformed error object: %v", err)
		}
	}
	return m, id, nil
}

// validID accepts an absent id, null, a string or an integer number.
func validID(raw json.RawMessage) (ID, bool) {
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
