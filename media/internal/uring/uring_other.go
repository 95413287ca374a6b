//go:build !linux || !(amd64 || arm64)

package uring

import "errors"

// Supported reports whether this build can use io_uring.
const Supported = false

// ErrFull is Add's error when the ring holds as many sends as it can.
var ErrFull = errors.New("uring: submission ring full")

// Ring is an io_uring for batches of sends (Linux only).
type Ring struct{}

// New fails: io_uring is Linux's.
func New(entries int) (*Ring, error) { return nil, errors.ErrUnsupported }

func (r *Ring) Capacity() int              { return 0 }
func (r *Ring) Queued() int                { return 0 }
func (r *Ring) Add(fd int, b []byte) error { return errors.ErrUnsupported }
func (r *Ring) Submit() (int, error)       { return 0, errors.ErrUnsupported }
func (r *Ring) Result(i int) error         { return errors.ErrUnsupported }
func (r *Ring) Close() error               { return nil }
