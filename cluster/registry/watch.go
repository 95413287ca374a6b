package registry

import (
	"context"
	"sync"
)

// EventKind says what happened to a server in the view.
type EventKind int

// Event kinds.
const (
	// EventJoined: a server entered the view (first heard of, or back
	// after it was lost or left, or restarted under a new incarnation).
	EventJoined EventKind = iota + 1
	// EventUpdated: a server's record changed (its workers, loads, ...).
	EventUpdated
	// EventLeft: a server said goodbye; everything it ran was closed.
	EventLeft
	// EventLost: a server went Misses intervals without a word, or
	// restarted (a record of a new incarnation arrived): treat what it
	// ran as dead.
	EventLost
)

func (k EventKind) String() string {
	switch k {
	case EventJoined:
		return "joined"
	case EventUpdated:
		return "updated"
	case EventLeft:
		return "left"
	case EventLost:
		return "lost"
	}
	return "unknown"
}

// Event is a change of the view; Server is the server's record (for
// EventLeft and EventLost, the last one known).
type Event struct {
	Kind   EventKind
	Server Server
}

// Watch returns a channel that first delivers EventJoined for every
// server in the view, then each change, until ctx ends or the registry
// closes; then it is closed. A watcher that falls behind never holds the
// registry up: its undelivered events for one server merge (two updates
// become the latest; an update then a loss, the loss; a join then a loss,
// nothing), so it holds at most two per server and, after the one event
// already on its way (which may be old), sees each server's latest state.
func (r *Registry) Watch(ctx context.Context) <-chan Event {
	w := &watcher{ch: make(chan Event), pending: map[string][]Event{}, wake: make(chan struct{}, 1), done: make(chan struct{})}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		close(w.ch)
		return w.ch
	}
	for _, s := range r.peers {
		w.push(Event{Kind: EventJoined, Server: Server{Record: s.Record.Clone(), LastSeen: s.LastSeen}})
	}
	r.watchers[w] = struct{}{}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		w.deliver(ctx)
		r.mu.Lock()
		delete(r.watchers, w)
		r.mu.Unlock()
	}()
	return w.ch
}

// emit queues an event for every watcher. r.mu is held.
func (r *Registry) emit(kind EventKind, s *Server) {
	for w := range r.watchers {
		w.push(Event{Kind: kind, Server: Server{Record: s.Record.Clone(), LastSeen: s.LastSeen}})
	}
}

// watcher is one Watch: the events not yet delivered, merged per server.
type watcher struct {
	ch       chan Event
	wake     chan struct{}
	done     chan struct{}
	stopOnce sync.Once

	// mu guards pending and order.
	mu      sync.Mutex
	pending map[string][]Event // by server id, at most two
	order   []string           // server ids with pending events, oldest first
}

// push queues e, merging it with the server's undelivered events.
func (w *watcher) push(e Event) {
	w.mu.Lock()
	id := e.Server.ID
	q := w.pending[id]
	if len(q) == 0 {
		w.order = append(w.order, id)
	}
	w.pending[id] = merge(q, e)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// merge appends e to a server's undelivered events q, keeping at most a
// departure followed by an arrival.
func merge(q []Event, e Event) []Event {
	if len(q) == 0 {
		return append(q, e)
	}
	last := &q[len(q)-1]
	gone := e.Kind == EventLeft || e.Kind == EventLost
	switch {
	case e.Kind == EventUpdated && (last.Kind == EventJoined || last.Kind == EventUpdated):
		last.Server = e.Server // still a join, or the latest update
	case gone && last.Kind == EventJoined:
		q = q[:len(q)-1] // never seen: nothing to tell
	case gone && last.Kind == EventUpdated:
		*last = e
	default: // an arrival after a departure
		q = append(q, e)
	}
	return q
}

// next takes the undelivered events of the server that waited longest.
func (w *watcher) next() []Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.order) > 0 {
		id := w.order[0]
		w.order = w.order[1:]
		if q := w.pending[id]; len(q) > 0 {
			delete(w.pending, id)
			return q
		}
		delete(w.pending, id)
	}
	return nil
}

// deliver sends the events on w.ch until ctx ends or stop, then closes it.
func (w *watcher) deliver(ctx context.Context) {
	defer close(w.ch)
	for {
		for q := w.next(); q != nil; q = w.next() {
			for _, e := range q {
				select {
				case w.ch <- e:
				case <-ctx.Done():
					return
				case <-w.done:
					return
				}
			}
		}
		select {
		case <-w.wake:
		case <-ctx.Done():
			return
		case <-w.done:
			return
		}
	}
}

func (w *watcher) stop() { w.stopOnce.Do(func() { close(w.done) }) }
