package rope

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// legacyDecode is Decode as it was before it read member names exactly
// (encoding/json, case-insensitive, last duplicate wins): the benchmarks'
// baseline.
func legacyDecode(data []byte) (*Message, ID, *Error) {
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
	var w struct {
		JSONRPC json.RawMessage `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Method  json.RawMessage `json:"method"`
		Params  json.RawMessage `json:"params"`
		Result  json.RawMessage `json:"result"`
		Error   json.RawMessage `json:"error"`
	}
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
		var method string
		if err := json.Unmarshal(w.Method, &method); err != nil {
			return nil, id, NewError(CodeInvalidRequest, "method must be a string")
		}
		params := w.Params
		if string(params) == "null" {
			params = nil
		}
		if params != nil && params[0] != '{' && params[0] != '[' {
			return nil, id, NewError(CodeInvalidRequest, "params must be an object or an array")
		}
		return &Message{ID: id, Method: method, Params: params}, id, nil
	}
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
