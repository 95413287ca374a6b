package media

import (
	"errors"
	"fmt"
)

// Error is a media error with a stable Name (the mediasoup error class, such
// as "TypeError") and a stable Code (ours, finer: "closed" is an
// "InvalidStateError"). Both survive a wire protocol: rebuild a received
// error with NewError and errors.Is still matches the sentinel.
//
// errors.Is(err, sentinel) holds when err has the sentinel's code or a code
// whose parent is the sentinel's code (ErrClosed is an ErrInvalidState).
type Error struct {
	name    string
	code    string
	message string
}

// Stable error names, as mediasoup's error classes.
const (
	NameTypeError         = "TypeError"
	NameUnsupportedError  = "UnsupportedError"
	NameInvalidStateError = "InvalidStateError"
	NameNotFoundError     = "NotFoundError"
	NameDuplicateIDError  = "DuplicateIdError"
	NameError             = "Error"
)

// Stable error codes.
const (
	CodeInvalidParams = "invalid_params"
	CodeUnsupported   = "unsupported"
	CodeInvalidState  = "invalid_state"
	CodeClosed        = "closed"
	CodeNotFound      = "not_found"
	CodeDuplicateID   = "duplicate_id"
	// CodeSctpSendBufferFull is a kind of CodeInvalidState.
	CodeSctpSendBufferFull = "sctp_send_buffer_full"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrInvalidParams: a caller input is malformed (mediasoup TypeError).
	ErrInvalidParams = &Error{NameTypeError, CodeInvalidParams, "invalid parameters"}
	// ErrUnsupported: valid input the SFU cannot do (UnsupportedError).
	ErrUnsupported = &Error{NameUnsupportedError, CodeUnsupported, "unsupported"}
	// ErrInvalidState: the call does not fit the object's state
	// (InvalidStateError).
	ErrInvalidState = &Error{NameInvalidStateError, CodeInvalidState, "invalid state"}
	// ErrClosed: the object is closed. errors.Is(ErrClosed, ErrInvalidState).
	ErrClosed = &Error{NameInvalidStateError, CodeClosed, "closed"}
	// ErrNotFound: an unknown id (producer, transport, ...).
	ErrNotFound = &Error{NameNotFoundError, CodeNotFound, "not found"}
	// ErrDuplicateID: an id already in use.
	ErrDuplicateID = &Error{NameDuplicateIDError, CodeDuplicateID, "duplicate id"}
	// ErrSctpSendBufferFull: DataConsumer.Send found the SCTP send buffer
	// full (mediasoup rejects with Error "sctpsendbufferfull").
	// errors.Is(ErrSctpSendBufferFull, ErrInvalidState).
	ErrSctpSendBufferFull = &Error{NameError, CodeSctpSendBufferFull, "sctpsendbufferfull"}
)

var sentinels = []*Error{ErrInvalidParams, ErrUnsupported, ErrInvalidState, ErrClosed, ErrNotFound, ErrDuplicateID, ErrSctpSendBufferFull}

// parentCode maps a code to the broader code it also matches.
var parentCode = map[string]string{CodeClosed: CodeInvalidState, CodeSctpSendBufferFull: CodeInvalidState}

// NewError returns an *Error of the sentinel's name and code with its own
// message, e.g. NewError(ErrNotFound, "producer %q not found", id).
func NewError(sentinel *Error, format string, args ...any) *Error {
	return &Error{sentinel.name, sentinel.code, fmt.Sprintf(format, args...)}
}

// ErrorFromWire rebuilds an error received as (code, message). An unknown
// code gives an *Error that matches no sentinel, named NameError.
func ErrorFromWire(code, message string) *Error {
	for _, s := range sentinels {
		if s.code == code {
			return &Error{s.name, s.code, message}
		}
	}
	return &Error{NameError, code, message}
}

// Error returns the message.
func (e *Error) Error() string { return e.message }

// Name returns the stable mediasoup error class name.
func (e *Error) Name() string { return e.name }

// Code returns the stable error code.
func (e *Error) Code() string { return e.code }

// Is matches a target *Error with the same code or the parent code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t.code == e.code || (t.code != "" && parentCode[e.code] == t.code)
}

// ParamError reports an invalid caller input, naming the offending field
// with a path such as "rtpParameters.codecs[0].payloadType". It matches
// ErrInvalidParams.
type ParamError struct {
	Field  string
	Reason string
}

// Error returns "field: reason".
func (e *ParamError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// Is matches ErrInvalidParams.
func (e *ParamError) Is(target error) bool { return target == ErrInvalidParams }

// Name returns NameTypeError.
func (e *ParamError) Name() string { return NameTypeError }

// Code returns CodeInvalidParams.
func (e *ParamError) Code() string { return CodeInvalidParams }

// ErrorName returns the stable Name of the first error in err's chain that
// has one, or NameError. It is what a wire protocol should send.
func ErrorName(err error) string {
	var n interface{ Name() string }
	if errors.As(err, &n) {
		return n.Name()
	}
	return NameError
}

// ErrorCode returns the stable Code of the first error in err's chain that
// has one, or "".
func ErrorCode(err error) string {
	var c interface{ Code() string }
	if errors.As(err, &c) {
		return c.Code()
	}
	return ""
}
