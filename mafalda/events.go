package mafalda

import "sync"

// listeners is a list of handlers taking one argument of type T, called
// outside any lock in registration order. The zero value is ready to use.
type listeners[T any] struct {
	// mu guards entries and next.
	mu      sync.Mutex
	entries []listener[T]
	next    uint64
}

type listener[T any] struct {
	id uint64
	fn func(T)
}

// on registers fn and returns the function that removes it.
func (l *listeners[T]) on(fn func(T)) (off func()) {
	if fn == nil {
		return func() {}
	}
	l.mu.Lock()
	l.next++
	id := l.next
	entries := make([]listener[T], len(l.entries), len(l.entries)+1)
	copy(entries, l.entries)
	l.entries = append(entries, listener[T]{id, fn})
	l.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { l.remove(id) }) }
}

func (l *listeners[T]) remove(id uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, e := range l.entries {
		if e.id == id {
			entries := make([]listener[T], 0, len(l.entries)-1)
			entries = append(entries, l.entries[:i]...)
			l.entries = append(entries, l.entries[i+1:]...)
			return
		}
	}
}

// emit calls every handler registered at the time of the call.
func (l *listeners[T]) emit(v T) {
	l.mu.Lock()
	entries := l.entries
	l.mu.Unlock()
	for _, e := range entries {
		e.fn(v)
	}
}

// onFunc registers a handler without argument.
func onFunc(l *listeners[struct{}], fn func()) func() {
	if fn == nil {
		return func() {}
	}
	return l.on(func(struct{}) { fn() })
}

// offAll combines off functions.
func offAll(offs ...func()) func() {
	return func() {
		for _, off := range offs {
			off()
		}
	}
}
