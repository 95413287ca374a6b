// Package event provides the typed listener lists behind the media API's
// OnXxx(func(...)) (off func()) registrations.
//
// A Listeners value is safe for concurrent use. Emit calls the handlers
// registered at the time of the call, in registration order, outside any
// lock, so a handler may register or remove listeners or close objects.
package event

import "sync"

// Listeners is a list of handlers taking one argument of type T.
// The zero value is ready to use.
type Listeners[T any] struct {
	// mu guards entries and next.
	mu      sync.Mutex
	entries []entry[T]
	next    uint64
}

type entry[T any] struct {
	id uint64
	fn func(T)
}

// On registers fn and returns a function that removes it. Calling the
// returned function more than once is harmless. A nil fn is ignored.
func (l *Listeners[T]) On(fn func(T)) (off func()) {
	if fn == nil {
		return func() {}
	}
	l.mu.Lock()
	l.next++
	id := l.next
	// Copy on write: Emit iterates over a snapshot without holding mu.
	entries := make([]entry[T], len(l.entries), len(l.entries)+1)
	copy(entries, l.entries)
	l.entries = append(entries, entry[T]{id: id, fn: fn})
	l.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { l.remove(id) }) }
}

func (l *Listeners[T]) remove(id uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, e := range l.entries {
		if e.id == id {
			entries := make([]entry[T], 0, len(l.entries)-1)
			entries = append(entries, l.entries[:i]...)
			l.entries = append(entries, l.entries[i+1:]...)
			return
		}
	}
}

// Len reports the number of registered handlers.
func (l *Listeners[T]) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// Emit calls every registered handler with v.
func (l *Listeners[T]) Emit(v T) {
	l.mu.Lock()
	entries := l.entries
	l.mu.Unlock()
	for _, e := range entries {
		e.fn(v)
	}
}

// Clear removes every handler, e.g. once the owning object has closed.
func (l *Listeners[T]) Clear() {
	l.mu.Lock()
	l.entries = nil
	l.mu.Unlock()
}

// Func adapts a func() handler to a Listeners[struct{}] registration.
func Func(fn func()) func(struct{}) {
	if fn == nil {
		return nil
	}
	return func(struct{}) { fn() }
}
