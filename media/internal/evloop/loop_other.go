//go:build !(linux && (amd64 || arm64))

package evloop

import (
	"syscall"
	"time"

	"github.com/ropehq/rope/media/internal/udpio"
)

// Supported says New works here.
const Supported = false

// Loop is not available here.
type Loop struct{}

// Registration is not available here.
type Registration struct{}

// Timer is not available here.
type Timer struct{}

// New fails: there is no event loop on this platform.
func New(opts *Options) (*Loop, error) { return nil, ErrUnsupported }

func (l *Loop) Add(c *udpio.Conn, h Handler) (*Registration, error) { return nil, ErrUnsupported }
func (l *Loop) AddTimer(period, slack time.Duration, fn func()) (*Timer, error) {
	return nil, ErrUnsupported
}
func (l *Loop) Close() error          { return nil }
func (l *Loop) Wake()                 {}
func (l *Loop) Done() <-chan struct{} { return nil }
func (r *Registration) Remove()       {}
func (t *Timer) Stop()                {}

// YieldTo does nothing here (there are no loops).
func YieldTo(c syscall.Conn) (stop func(), err error) { return func() {}, nil }
