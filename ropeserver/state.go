package ropeserver

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"

	"github.com/ropehq/rope/rope"
)

// publishBodyLocked assigns the next sequence number, encodes the
// notification on o once, keeps it for replay and queues the same bytes on
// every connection that sees o (view.go). Holding s.mu across all of it is
// what makes the order global. body holds the members after "seq" (valid
// JSON members, no braces). Callers hold s.mu.
func (s *Server) publishBodyLocked(method string, o *Object, kind noteKind, body []byte) {
	seq := s.seq + 1
	s.sendLocked(seq, encodeSequenced(method, seq, body), o, kind, nil)
}

// encodeSequenced encodes a sequenced notification whose params hold seq
// and the members of body.
func encodeSequenced(method string, seq uint64, body []byte) []byte {
	msg := make([]byte, 0, len(body)+len(method)+64)
	msg = append(msg, `{"jsonrpc":"2.0","method":`...)
	msg = strconv.AppendQuote(msg, method) // method names are ASCII identifiers
	msg = append(msg, `,"params":{"seq":`...)
	msg = strconv.AppendUint(msg, seq, 10)
	msg = append(msg, ',')
	msg = append(msg, body...)
	return append(msg, "}}"...)
}

// sendLocked keeps the notification seq for replay and queues it: msg
// itself on the connections without a view, what deliver says on the
// others. Callers hold s.mu.
func (s *Server) sendLocked(seq uint64, msg []byte, o *Object, kind noteKind, move *viewMove) {
	s.seq = seq
	s.ring.put(seq, ringEntry{msg: msg, obj: o, kind: kind, move: move})
	for c := range s.full {
		c.push(msg)
	}
	if len(s.views) == 0 {
		return
	}
	switch kind {
	case noteChanged:
		for c := range o.viewers {
			c.push(msg)
		}
	case noteClosed:
		for c := range o.viewers {
			c.push(msg)
			delete(c.view.vis, o)
		}
		o.viewers = nil
		s.forgetPassersLocked(o)
	case noteCreated:
		s.deliverCreated(o, msg)
	case noteMove:
		s.deliverMove(o, move)
	}
}

// initState is what a new connection's rope.init holds, taken under s.mu
// and encoded outside it: the values it refers to are never changed in
// place (Set replaces an object's propSet), so encoding needs no lock.
type initState struct {
	params  rope.InitParams // without objects and payload
	objects []objectState   // nil when resumed
}

// testHookInitEncoding, when set by a test, runs while a rope.init is being
// encoded, outside s.mu.
var testHookInitEncoding atomic.Pointer[func()]

// attach registers a new connection, held until its rope.init is queued,
// and returns what that rope.init holds; when the client resumes within
// the window, the replay is queued at once. Registering, taking the
// snapshot and the replay under one hold of s.mu means the connection sees
// every later notification exactly once, after them.
func (s *Server) attach(c *Conn, epoch string, seq uint64, resume bool) (*initState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, false
	}
	epoch0 := s.epoch
	if c.grant != nil && !hidesNothing(c.grant) {
		c.view = newView(c, s.epoch)
		epoch0 = c.view.epoch
	}
	init := &initState{params: rope.InitParams{
		Protocol: rope.Protocol, Server: s.opts.Name, Epoch: epoch0, Seq: s.seq,
		MaxMessageSize: s.opts.MaxMessageSize, ReplayWindow: s.ring.size(),
		Types:   s.typeInfos(),
		Session: s.sessionInfo(c), // lease.go
		View:    c.view != nil,
	}}
	if resume && epoch == epoch0 {
		if es, ok := s.ring.entries(seq, s.seq); ok {
			init.params.Resumed, init.params.Seq = true, seq
			c.queue.pushExempt(s.replayFor(c, es))
		}
	}
	switch {
	case c.view != nil:
		init.objects = c.view.fill(s, !init.params.Resumed)
	case !init.params.Resumed:
		init.objects = s.snapshotLocked()
	}
	s.conns[c] = struct{}{}
	if c.view != nil {
		s.views[c] = struct{}{}
		s.addRootsLocked(c)
	} else {
		s.full[c] = struct{}{}
	}
	s.connsWG.Add(1)
	return init, true
}

// encode builds the rope.init message. It runs outside s.mu: a large
// state delays only this connection.
func (in *initState) encode(payload json.RawMessage) ([]byte, error) {
	head, err := json.Marshal(&in.params)
	if err != nil {
		return nil, fmt.Errorf("rope.init: %w", err)
	}
	if hook := testHookInitEncoding.Load(); hook != nil {
		(*hook)()
	}
	size := len(head) + len(payload) + 64
	for _, o := range in.objects {
		size += o.size() + 1
	}
	msg := make([]byte, 0, size)
	msg = append(msg, `{"jsonrpc":"2.0","method":"rope.init","params":`...)
	msg = append(msg, head[:len(head)-1]...) // without its closing brace
	if !in.params.Resumed {
		msg = append(msg, `,"objects":[`...)
		for i, o := range in.objects {
			if i > 0 {
				msg = append(msg, ',')
			}
			msg = o.appendJSON(msg)
		}
		msg = append(msg, ']')
	}
	if len(payload) > 0 {
		msg = append(msg, `,"payload":`...)
		msg = append(msg, payload...)
	}
	return append(msg, "}}"...), nil
}

// replayFor is what c gets of a resume's entries.
func (s *Server) replayFor(c *Conn, es []ringEntry) [][]byte {
	if c.view != nil {
		return c.view.replay(es)
	}
	out := make([][]byte, len(es))
	for i := range es {
		out[i] = es[i].msg
	}
	return out
}

func (s *Server) detach(c *Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	delete(s.full, c)
	if c.view != nil {
		delete(s.views, c)
		s.removeRootsLocked(c)
		c.view.forget()
	}
	s.mu.Unlock()
	s.connsWG.Done()
}

// snapshotLocked lists every live object's state, parents before children
// (creation order), and drops closed objects from s.ordered when they
// are many.
func (s *Server) snapshotLocked() []objectState {
	out := make([]objectState, 0, len(s.objects))
	for _, o := range s.ordered {
		if !o.closed {
			out = append(out, o.stateLocked())
		}
	}
	return out
}

// forgetClosedLocked compacts s.ordered once half of it is closed objects.
func (s *Server) forgetClosedLocked() {
	if s.nClosed <= len(s.ordered)/2 {
		return
	}
	s.ordered = slices.DeleteFunc(s.ordered, func(o *Object) bool { return o.closed })
	s.nClosed = 0
}

func sortByOrder(objs []*Object) {
	slices.SortFunc(objs, func(a, b *Object) int {
		switch {
		case a.order < b.order:
			return -1
		case a.order > b.order:
			return 1
		}
		return 0
	})
}

// replayRing keeps the latest encoded notifications by sequence number, at
// most max of them and maxBytes of bytes; the oldest leave first. Each
// keeps its object, so that a view's replay can be filtered (view.go).
type replayRing struct {
	msgs     []ringEntry // circular, len(msgs) = the count bound
	maxBytes int64
	start    int    // index of the oldest kept
	n        int    // how many are kept
	first    uint64 // seq of the oldest kept; last+1 when none are
	last     uint64 // seq of the newest put
	bytes    int64
}

// ringEntry is one kept notification.
type ringEntry struct {
	msg  []byte
	obj  *Object
	kind noteKind
	move *viewMove // for noteMove
}

func (e *ringEntry) size() int64 {
	n := int64(len(e.msg))
	if e.move != nil {
		n += int64(len(e.move.created) + len(e.move.closed))
	}
	return n
}

func newReplayRing(n int, maxBytes int64) replayRing {
	return replayRing{msgs: make([]ringEntry, n), maxBytes: maxBytes, first: 1}
}

func (r *replayRing) size() int { return len(r.msgs) }

// put keeps e, the notification seq (the one after the last put).
func (r *replayRing) put(seq uint64, e ringEntry) {
	r.last = seq
	size := e.size()
	for r.n > 0 && (r.n == len(r.msgs) || r.bytes+size > r.maxBytes) {
		r.evict()
	}
	if size > r.maxBytes {
		r.first = seq + 1 // too large to keep: nothing before it can replay
		return
	}
	if r.n == 0 {
		r.first = seq
	}
	r.msgs[(r.start+r.n)%len(r.msgs)] = e
	r.n++
	r.bytes += size
}

func (r *replayRing) evict() {
	r.bytes -= r.msgs[r.start].size()
	r.msgs[r.start] = ringEntry{}
	r.start = (r.start + 1) % len(r.msgs)
	r.n--
	r.first++
}

// entries returns the entries after from up to last, or false when some of
// them have left the ring (or from is in the future).
func (r *replayRing) entries(from, last uint64) ([]ringEntry, bool) {
	if from > last || last != r.last {
		return nil, false
	}
	if from == last {
		return nil, true
	}
	if from+1 < r.first {
		return nil, false
	}
	out := make([]ringEntry, 0, last-from)
	for seq := from + 1; seq <= last; seq++ {
		out = append(out, r.msgs[(r.start+int(seq-r.first))%len(r.msgs)])
	}
	return out, true
}

// since returns the notifications after from up to last, or false when some
// of them have left the ring (or from is in the future).
func (r *replayRing) since(from, last uint64) ([][]byte, bool) {
	es, ok := r.entries(from, last)
	if !ok {
		return nil, false
	}
	out := make([][]byte, len(es))
	for i := range es {
		out[i] = es[i].msg
	}
	return out, true
}
