package ropeclient

import (
	"cmp"
	"encoding/json"
	"slices"

	"github.com/coder/websocket"
)

// LocalCloseOptions configure CloseLocal. Nil means defaults.
type LocalCloseOptions struct {
	// LastEvent, when set, is asked for each object about to close for
	// the event it announces its end with, delivered to the object's
	// OnEvent listeners just before its OnClose listeners; an empty event
	// name means none, nil data JSON null. parent is the object's parent,
	// still open, or nil. It is how a protocol on top of ROPE replays the
	// events its server would have emitted in the cascade (mediasoup's
	// "routerclose" before a transport's close). It runs with the mirror
	// locked: it may read the objects' ID, Type and ParentID, and must not
	// call the client. Default: no events.
	LastEvent func(o, parent *Object) (event string, data json.RawMessage)
	// Order, when set, orders the closes of objects at the same depth (a
	// negative result closes a first), as the server's own cascade would
	// (mediasoup closes a worker's routers before its WebRtcServers). It
	// runs with the mirror locked, like LastEvent. Default: by id.
	Order func(a, b *Object) int
}

// CloseLocal ends the connection for good without the server's help, for
// when the server is known to be gone (its process died) or is to be
// abandoned: the WebSocket is closed if open and not reconnected, calls in
// flight fail with ErrDisconnected, and every object of the mirror closes
// in the mirror as if the server had closed the root objects: descendants
// before ancestors (spec §6.5.2; siblings in id order), each firing its
// OnClose listeners as a rope.closed would, after the event LastEvent
// gives it if any. Then every client attached to the connection (all of
// them when it is shared) becomes CLOSED and fires OnClose. Afterwards
// Object.Call on any of the objects fails with ErrObjectClosed and the
// client's methods fail with ErrClientClosed.
//
// CloseLocal returns once the listeners have run, unless called from one
// of them (which would wait for itself). On a closed client it does
// nothing. opts may be nil.
func (c *Client) CloseLocal(opts *LocalCloseOptions) error {
	c.mu.Lock()
	s := c.sess
	c.mu.Unlock()
	if s == nil {
		return nil
	}
	if opts == nil {
		opts = &LocalCloseOptions{}
	}
	s.endLocal(opts)
	return nil
}

// endLocal is CloseLocal on the session: it detaches every client, stops
// the connection, closes the mirror and waits for the listeners.
func (s *session) endLocal(opts *LocalCloseOptions) {
	sessions.Lock()
	s.mu.Lock()
	clients := s.clientsLocked()
	clear(s.clients)
	if sessions.m[s.key] == s {
		delete(sessions.m, s.key)
	}
	if s.state != Closed {
		s.state = Closing
	}
	ws := s.ws
	s.mu.Unlock()
	sessions.Unlock()

	// Detach the clients first, so a close listener that looks at one
	// finds it closed.
	var closing []*Client
	for _, c := range clients {
		c.mu.Lock()
		if c.sess == s {
			c.sess = nil
			if !c.closed {
				c.closed = true
				closing = append(closing, c)
			}
		}
		c.mu.Unlock()
	}
	if ws != nil {
		_ = ws.Close(websocket.StatusNormalClosure, "client closed")
	}
	s.stop()
	<-s.done

	// The reader has ended: nothing from the server interleaves.
	s.mu.Lock()
	s.closeAllLocked(opts)
	s.mu.Unlock()
	s.events.post(func() {
		for _, c := range closing {
			c.onClose.each(func(f func()) { f() })
		}
	})
	s.events.stop()
}

// closeAllLocked closes every object of the mirror, deepest first.
func (s *session) closeAllLocked(opts *LocalCloseOptions) {
	last, order := opts.LastEvent, opts.Order
	if order == nil {
		order = func(*Object, *Object) int { return 0 }
	}
	all := make([]*Object, 0, len(s.objects))
	depth := make(map[*Object]int, len(s.objects))
	for _, o := range s.objects {
		all = append(all, o)
		depth[o] = s.depthLocked(o)
	}
	slices.SortFunc(all, func(a, b *Object) int {
		return cmp.Or(depth[b]-depth[a], order(a, b), cmp.Compare(a.id, b.id))
	})
	for _, o := range all {
		if s.objects[o.id] != o {
			continue
		}
		if last != nil {
			if ev, data := last(o, s.objects[o.parent]); ev != "" {
				if data == nil {
					data = json.RawMessage("null")
				}
				s.events.post(func() { o.onEvent.each(func(f func(string, json.RawMessage)) { f(ev, data) }) })
			}
		}
		s.closeLocked(o)
	}
}
