package ropeserver

import (
	"context"
	"errors"

	"github.com/ropehq/rope/rope"
)

// Errors of the server's Go API.
var (
	// ErrClosed: the object (or the server) is closed. Methods that return
	// it answer the caller with InvalidState.
	ErrClosed = errors.New("ropeserver: closed")
	// ErrUnknownType: no type of that name is registered.
	ErrUnknownType = errors.New("ropeserver: unknown type")
	// ErrDuplicateID: an object or type with that id or name exists.
	ErrDuplicateID = errors.New("ropeserver: duplicate id")
	// ErrUndeclared: a property or event the object's type does not declare.
	ErrUndeclared = errors.New("ropeserver: undeclared property or event")
	// ErrBadType: a type definition that cannot be registered.
	ErrBadType = errors.New("ropeserver: bad type definition")
	// ErrTooLarge: an object's state or an event's data would pass
	// MaxObjectBytes, or a notification MaxStateBytes. Methods that return
	// it answer the caller with InvalidParams.
	ErrTooLarge = errors.New("ropeserver: too large")
	// ErrStateFull: the objects' state would pass MaxStateBytes. Methods
	// that return it answer the caller with Overloaded.
	ErrStateFull = errors.New("ropeserver: state full")
)

// wireError turns a method's error into the error sent to the client. rope
// errors go as they are, ErrClosed as InvalidState, ErrTooLarge as
// InvalidParams, ErrStateFull as Overloaded; the rest pass MapError or
// become an InternalError whose text stays in the log (with the object id
// called, which the monitor shows) unless SendFullErrors.
func (s *Server) wireError(err error, method, object string) *rope.Error {
	var re *rope.Error
	if errors.As(err, &re) {
		return re
	}
	switch {
	case errors.Is(err, ErrClosed):
		return rope.NewError(rope.CodeInvalidState, "%s", err.Error())
	case errors.Is(err, ErrTooLarge):
		return rope.NewError(rope.CodeInvalidParams, "%s", err.Error())
	case errors.Is(err, ErrStateFull):
		return rope.NewError(rope.CodeOverloaded, "%s", err.Error())
	}
	if s.opts.MapError != nil {
		if re := s.opts.MapError(err); re != nil {
			return re
		}
	}
	id := randomHex(6)
	if !errors.Is(err, context.Canceled) {
		s.log.Error("ropeserver: method failed", "method", method, "object", object, "errorId", id, "err", err)
	}
	e := rope.NewError(rope.CodeInternalError, "internal error (errorId %s)", id)
	if s.opts.SendFullErrors {
		e.Message = err.Error()
	}
	e.Data.ErrorID = id
	return e
}
