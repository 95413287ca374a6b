//go:build linux && (amd64 || arm64)

package evloop

import (
	"errors"
	"fmt"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// yieldSlot marks the events of descriptors given to YieldTo.
const yieldSlot = -3

// yielders are the process's connections that loops waiting on their
// thread yield to, and those loops.
var yielders struct {
	mu    sync.Mutex
	conns map[*yielder]struct{}
	loops map[*Loop]struct{}
}

type yielder struct{ rc syscall.RawConn }

// YieldTo has every loop that waits on its thread (Options.WaitOnThread),
// now and later, park in Go's poller as soon as c has data, so that the
// goroutine reading c through the poller runs at once rather than at the
// end of the loop's span (ThreadWaitSpan): a worker child's control
// connection, a TCP connection carrying media. Loops that park anyway
// wake once for nothing. Call stop before c is closed (when c closes
// first, the kernel has dropped it already); stop is idempotent.
func YieldTo(c syscall.Conn) (stop func(), err error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("evloop: yield to: %w", err)
	}
	y := &yielder{rc: rc}
	yielders.mu.Lock()
	defer yielders.mu.Unlock()
	if yielders.conns == nil {
		yielders.conns = make(map[*yielder]struct{})
	}
	yielders.conns[y] = struct{}{}
	for l := range yielders.loops {
		y.watch(l)
	}
	var once sync.Once
	return func() { once.Do(func() { y.stop() }) }, nil
}

func (y *yielder) stop() {
	yielders.mu.Lock()
	defer yielders.mu.Unlock()
	delete(yielders.conns, y)
	for l := range yielders.loops {
		// Within Control the descriptor is still c's: a closed c
		// (an error) was dropped from the set by the kernel.
		_ = y.rc.Control(func(fd uintptr) {
			_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, int(fd), nil)
		})
	}
}

// watch puts y's descriptor in l's epoll set, edge-triggered (each
// arrival is one event, which the loop needs no read to clear). Call
// with yielders.mu held.
func (y *yielder) watch(l *Loop) {
	_ = y.rc.Control(func(fd uintptr) {
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET, Fd: yieldSlot}
		if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev); err != nil && !errors.Is(err, unix.EEXIST) {
			l.yieldErr = err
		}
	})
}

// joinYielders has l watch the connections given to YieldTo until
// leaveYielders.
func (l *Loop) joinYielders() {
	yielders.mu.Lock()
	defer yielders.mu.Unlock()
	if yielders.loops == nil {
		yielders.loops = make(map[*Loop]struct{})
	}
	yielders.loops[l] = struct{}{}
	for y := range yielders.conns {
		y.watch(l)
	}
}

// leaveYielders stops l watching them; before its epoll set closes.
func (l *Loop) leaveYielders() {
	yielders.mu.Lock()
	defer yielders.mu.Unlock()
	delete(yielders.loops, l)
}
