package mafaldaclient

import (
	"encoding/json"
	"errors"

	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/media/mediaclient"
	"github.com/ropehq/rope/rope"
)

// Error is a server error that names a mafalda sentinel in
// data.detail.reason: it matches that sentinel (errors.Is(err,
// mafalda.ErrNoWorker)) as well as everything the error it wraps matches
// (the media sentinel, the *rope.Error).
type Error struct {
	sentinel error
	err      error
}

// Error returns the wrapped error's text.
func (e *Error) Error() string { return e.err.Error() }

// Unwrap returns the sentinel and the wrapped error.
func (e *Error) Unwrap() []error { return []error{e.sentinel, e.err} }

// reasons are the mafalda sentinels by data.detail.reason (mafaldaserver).
var reasons = map[string]error{"no_worker": mafalda.ErrNoWorker}

// fromWire rebuilds the media error of a call (mediaclient.FromWire) and
// adds the mafalda sentinel its detail names, if any.
func fromWire(err error) error {
	if err == nil {
		return nil
	}
	return withReason(mediaclient.FromWire(err))
}

// withReason adds to an error mediaclient returned the mafalda sentinel
// its detail names, if any.
func withReason(err error) error {
	var re *rope.Error
	if !errors.As(err, &re) || re.Code != rope.CodeApplicationError {
		return err
	}
	var d struct {
		Reason string `json:"reason"`
	}
	if json.Unmarshal(re.Data.Detail, &d) != nil {
		return err
	}
	if s, ok := reasons[d.Reason]; ok {
		return &Error{sentinel: s, err: err}
	}
	return err
}

// reason wraps a result's error with fromWire's sentinel.
func reason[T any](v T, err error) (T, error) {
	if err != nil {
		var zero T
		return zero, withReason(err)
	}
	return v, nil
}
