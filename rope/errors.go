package rope

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Code is a JSON-RPC error code.
type Code int

// JSON-RPC 2.0 error codes.
const (
	CodeParseError     Code = -32700
	CodeInvalidRequest Code = -32600
	CodeMethodNotFound Code = -32601
	CodeInvalidParams  Code = -32602
	CodeInternalError  Code = -32603
)

// ROPE's own error codes.
const (
	CodeObjectNotFound   Code = -32001
	CodeUnknownMethod    Code = -32002
	CodeInvalidState     Code = -32003
	CodeUnauthorized     Code = -32004
	CodeOverloaded       Code = -32005
	CodeApplicationError Code = -32010
)

var codeNames = map[Code]string{
	CodeParseError:       "ParseError",
	CodeInvalidRequest:   "InvalidRequest",
	CodeMethodNotFound:   "MethodNotFound",
	CodeInvalidParams:    "InvalidParams",
	CodeInternalError:    "InternalError",
	CodeObjectNotFound:   "ObjectNotFound",
	CodeUnknownMethod:    "UnknownMethod",
	CodeInvalidState:     "InvalidState",
	CodeUnauthorized:     "Unauthorized",
	CodeOverloaded:       "Overloaded",
	CodeApplicationError: "ApplicationError",
}

// Name is the name the spec gives the code, or "" for an unknown code.
func (c Code) Name() string { return codeNames[c] }

// Sentinels, one per code: errors.Is(err, rope.ErrObjectNotFound) holds for
// any *Error with that code.
var (
	ErrParse            = &Error{Code: CodeParseError, Message: "parse error"}
	ErrInvalidRequest   = &Error{Code: CodeInvalidRequest, Message: "invalid request"}
	ErrMethodNotFound   = &Error{Code: CodeMethodNotFound, Message: "method not found"}
	ErrInvalidParams    = &Error{Code: CodeInvalidParams, Message: "invalid params"}
	ErrInternal         = &Error{Code: CodeInternalError, Message: "internal error"}
	ErrObjectNotFound   = &Error{Code: CodeObjectNotFound, Message: "object not found"}
	ErrUnknownMethod    = &Error{Code: CodeUnknownMethod, Message: "unknown method"}
	ErrInvalidState     = &Error{Code: CodeInvalidState, Message: "invalid state"}
	ErrUnauthorized     = &Error{Code: CodeUnauthorized, Message: "unauthorized"}
	ErrOverloaded       = &Error{Code: CodeOverloaded, Message: "overloaded"}
	ErrApplicationError = &Error{Code: CodeApplicationError, Message: "application error"}
)

// Errors of Unmarshal: what makes JSON unfit for a Go value beyond what
// encoding/json checks.
var (
	ErrInvalidJSON   = errors.New("rope: invalid JSON")
	ErrDuplicateName = errors.New("rope: member name repeated")
	ErrIntegerRange  = errors.New("rope: integer outside ±(2^53−1)")
)

// Error is a JSON-RPC error object as ROPE sends it.
type Error struct {
	Code    Code      `json:"code"`
	Message string    `json:"message"`
	Data    ErrorData `json:"data"`
}

// ErrorData is the data member of a ROPE error.
type ErrorData struct {
	// Name names the error: the code's name, or for ApplicationError the
	// application's own error name (TypeError, InvalidStateError, ...).
	Name string `json:"name"`
	// ErrorID identifies an internal error in the server's log.
	ErrorID string `json:"errorId,omitempty"`
	// Object and Method name what the failed call addressed.
	Object string `json:"object,omitempty"`
	Type   string `json:"type,omitempty"`
	Method string `json:"method,omitempty"`
	// Detail carries structured application detail.
	Detail json.RawMessage `json:"detail,omitempty"`
}

// NewError builds an error with code and message, its name the code's.
func NewError(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Data: ErrorData{Name: code.Name()}}
}

// AppError builds an ApplicationError named name.
func AppError(name, format string, args ...any) *Error {
	return &Error{Code: CodeApplicationError, Message: fmt.Sprintf(format, args...), Data: ErrorData{Name: name}}
}

func (e *Error) Error() string {
	name := e.Data.Name
	if name == "" {
		name = e.Code.Name()
	}
	return fmt.Sprintf("rope: %s (%d): %s", name, e.Code, e.Message)
}

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}
