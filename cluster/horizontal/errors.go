package horizontal

import "errors"

// Errors of the horizontal API.
var (
	// ErrNoServer: no server of the cluster can take a worker (none in
	// the directory, or all full).
	ErrNoServer = errors.New("horizontal: no server can take a worker")
	// ErrUnknownServer: CreateWorkerOn names a server the directory does
	// not hold.
	ErrUnknownServer = errors.New("horizontal: unknown server")
	// ErrServerGone: the server left the cluster or was lost.
	ErrServerGone = errors.New("horizontal: server gone")
	// ErrClosed: the API is closed.
	ErrClosed = errors.New("horizontal: closed")
)
