package registry

import (
	"slices"
	"testing"
)

// TestMerge: a server's undelivered events merge to its latest state.
func TestMerge(t *testing.T) {
	ev := func(k EventKind, load float64) Event {
		return Event{Kind: k, Server: Server{Record: Record{ID: "s", Load: load}}}
	}
	kinds := func(q []Event) []EventKind {
		var out []EventKind
		for _, e := range q {
			out = append(out, e.Kind)
		}
		return out
	}
	for _, c := range []struct {
		name string
		in   []Event
		want []EventKind
		load float64 // of the last event
	}{
		{"updates merge", []Event{ev(EventUpdated, 1), ev(EventUpdated, 2)}, []EventKind{EventUpdated}, 2},
		{"join then update is a join", []Event{ev(EventJoined, 1), ev(EventUpdated, 2)}, []EventKind{EventJoined}, 2},
		{"join then loss is nothing", []Event{ev(EventJoined, 1), ev(EventLost, 1)}, nil, 0},
		{"update then leave is a leave", []Event{ev(EventUpdated, 1), ev(EventLeft, 1)}, []EventKind{EventLeft}, 1},
		{"loss then join stay", []Event{ev(EventLost, 1), ev(EventJoined, 2), ev(EventUpdated, 3)}, []EventKind{EventLost, EventJoined}, 3},
		{"loss, join, loss", []Event{ev(EventLost, 1), ev(EventJoined, 2), ev(EventLost, 2)}, []EventKind{EventLost}, 1},
	} {
		var q []Event
		for _, e := range c.in {
			q = merge(q, e)
		}
		if !slices.Equal(kinds(q), c.want) || (len(q) > 0 && q[len(q)-1].Server.Load != c.load) {
			t.Errorf("%s: %v (last %+v), want %v load %v", c.name, kinds(q), q, c.want, c.load)
		}
	}
}
