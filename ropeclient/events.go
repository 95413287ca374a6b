package ropeclient

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
)

// listeners is a set of callbacks for one event.
type listeners[F any] struct {
	mu   sync.Mutex
	next int
	fns  map[int]F
}

// add registers fn and returns the function that removes it.
func (l *listeners[F]) add(fn F) (off func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fns == nil {
		l.fns = make(map[int]F)
	}
	id := l.next
	l.next++
	l.fns[id] = fn
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.fns, id)
	}
}

// each calls visit for every registered callback, in registration order.
func (l *listeners[F]) each(visit func(F)) {
	l.mu.Lock()
	fns := make([]F, 0, len(l.fns))
	for id := range l.next {
		if fn, ok := l.fns[id]; ok {
			fns = append(fns, fn)
		}
	}
	l.mu.Unlock()
	for _, fn := range fns {
		visit(fn)
	}
}

// dispatcher runs callbacks one at a time, in the order they were queued,
// on its own goroutine, so a callback may call back into the client (even
// block on a Call) without stalling the connection's reader.
type dispatcher struct {
	mu      sync.Mutex
	queue   []func()
	wake    chan struct{}
	stopped bool
	done    chan struct{}
	// goroutine is the id of run's goroutine, so stop called from a
	// callback does not wait for itself. (A flag set while a callback runs
	// cannot tell a callback from another goroutine calling stop
	// meanwhile, which must wait.)
	goroutine atomic.Uint64
}

func newDispatcher() *dispatcher {
	d := &dispatcher{wake: make(chan struct{}, 1), done: make(chan struct{})}
	go d.run()
	return d
}

func (d *dispatcher) post(fn func()) {
	d.mu.Lock()
	if d.stopped {
		d.mu.Unlock()
		return
	}
	d.queue = append(d.queue, fn)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *dispatcher) run() {
	defer close(d.done)
	d.goroutine.Store(goid())
	for range d.wake {
		for {
			d.mu.Lock()
			batch := d.queue
			d.queue = nil
			stopped := d.stopped
			d.mu.Unlock()
			for _, fn := range batch {
				fn()
			}
			if len(batch) == 0 {
				if stopped {
					return
				}
				break
			}
		}
	}
}

// stop runs what is queued, then ends the goroutine and waits for it
// (unless called from a callback, which would wait for itself).
func (d *dispatcher) stop() {
	d.mu.Lock()
	already := d.stopped
	d.stopped = true
	d.mu.Unlock()
	if !already {
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
	if goid() != d.goroutine.Load() {
		<-d.done
	}
}

// goid is the calling goroutine's id, read from its stack header
// ("goroutine 18 [running]:"). Only stop uses it, once per connection.
func goid() uint64 {
	var buf [64]byte
	b := bytes.TrimPrefix(buf[:runtime.Stack(buf[:], false)], []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, _ := strconv.ParseUint(string(b), 10, 64)
	return id
}
