package registry

import "errors"

var (
	// ErrMalformed: a message is not valid JSON or breaks a rule of
	// spec/cluster-v1.md §4; it is dropped and counted.
	ErrMalformed = errors.New("registry: malformed message")
	// ErrTooLarge: a message exceeds Options.MaxRecordBytes; it is dropped
	// and counted.
	ErrTooLarge = errors.New("registry: message too large")
	// ErrClosed: the registry is closed.
	ErrClosed = errors.New("registry: closed")
	// ErrObserver: an observer has no record to update.
	ErrObserver = errors.New("registry: an observer publishes no record")
	// ErrBadOptions: Options break a rule their fields document.
	ErrBadOptions = errors.New("registry: bad options")
)
