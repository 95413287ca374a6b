package ropeserver

// Per-connection views (spec §18). A connection with a grant sees the
// objects its grant makes visible: the notifications of the others are not
// sent to it, its rope.init holds only the visible ones, and a resume
// replays only what it would have seen. Sequence numbers stay the one
// global order: a view sees them with gaps.
//
// Whether an object is visible is a pure function of the grant, the
// object's ancestry and type (fixed) and the owners on its path, which
// change only through Call.Own (an owner change). Each view caches the
// objects it sees (view.vis) and each object the views that see it
// (Object.viewers), kept by the fan-out under Server.mu: a change visits
// the connections without a view, then the object's viewers; a creation
// the views that see the parent or have the object as a root, and so
// does the move of an object alone; only a subtree's move asks every view.
// Connections without a grant have no view and pay nothing.
//
// An owner change that changes what some view could see is published as
// "view move" entries, one sequence number per object of the owner's
// subtree: a connection without a view gets an empty rope.updated (it
// needs every seq); a view the object enters gets rope.created with the
// object's state, one it leaves rope.closed, the others nothing.
// An object alone moves in one entry; a subtree moves in two passes, the
// leaving pass children first, the entering pass parents first. The replay
// ring keeps each entry's object and variants, so a resume replays what
// the view would have seen live.

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
)

// noteKind says what a sequenced notification does to its object.
type noteKind uint8

const (
	noteCreated noteKind = iota
	noteChanged          // rope.updated or rope.event: the object stays
	noteClosed
	noteMove // a view move (an owner change)
)

// movePhase says which side of a view move an entry carries.
type movePhase uint8

const (
	phaseLeave movePhase = 1 << iota // connections the object leaves get rope.closed
	phaseEnter                       // connections it enters get rope.created
)

// viewMove is what a view-move entry carries besides its global message
// (the empty rope.updated).
type viewMove struct {
	owner         *Object // the object whose owner changed: obj or an ancestor
	before, after string  // its owner before and after
	phase         movePhase
	created       []byte // rope.created with the object's state then
	closed        []byte // rope.closed
}

// view is one connection's view: its grant and the objects it sees, which
// list the connection among their viewers in turn, so that the fan-out of
// a change visits only the connections that see it. Guarded by Server.mu.
type view struct {
	c     *Conn
	g     *Grant
	roots map[string]struct{} // nil: every object
	epoch string              // the epoch its rope.init announces
	vis   map[*Object]struct{}
	// pass are the objects it passes through: hidden with
	// HideOthersShallow, their descendants in view (view_shallow.go).
	pass map[*Object]struct{}
}

func newView(c *Conn, serverEpoch string) *view {
	g := c.grant
	v := &view{c: c, g: g, vis: map[*Object]struct{}{}, epoch: serverEpoch + "-" + viewHash(g)}
	if len(g.Roots) > 0 {
		v.roots = make(map[string]struct{}, len(g.Roots))
		for _, r := range g.Roots {
			v.roots[r] = struct{}{}
		}
	}
	return v
}

// viewHash names what a grant makes visible (Subject, Roots, Hide): two
// connections whose grants hash alike see alike, so one may resume the
// other's sequence (spec §18.5).
func viewHash(g *Grant) string {
	var b strings.Builder
	b.WriteString(strconv.Quote(g.Subject))
	roots := slices.Clone(g.Roots)
	slices.Sort(roots)
	for _, r := range slices.Compact(roots) {
		b.WriteString("\x00r")
		b.WriteString(strconv.Quote(r))
	}
	for _, t := range sortedKeys(g.Hide) {
		if h := g.Hide[t]; h != HideNone {
			b.WriteString("\x00h")
			b.WriteString(strconv.Quote(t))
			b.WriteString(strconv.Itoa(int(h)))
		}
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:8])
}

// ownerFunc gives an object's owner: its current one, or one from the past
// during a replay.
type ownerFunc func(*Object) string

func currentOwner(o *Object) string { return o.owner }

// visible says whether v sees o when owners are as owner says. The objects
// from o up to the nearest root (all of them without roots) must not be
// hidden; o must lie under a root.
func (v *view) visible(o *Object, owner ownerFunc) bool {
	for a := o; a != nil; a = a.parent {
		switch v.g.Hide[a.typ.Name] {
		case HideAll:
			return false
		case HideOthers:
			if owner(a) != v.g.Subject {
				return false
			}
		case HideOthersShallow:
			if a == o && owner(a) != v.g.Subject {
				return false
			}
		}
		if v.roots != nil {
			if _, ok := v.roots[a.id]; ok {
				return true
			}
		}
	}
	return v.roots == nil
}

func (v *view) sees(o *Object) bool {
	_, ok := v.vis[o]
	return ok
}

func (v *view) add(o *Object) {
	v.vis[o] = struct{}{}
	if o.viewers == nil {
		o.viewers = map[*Conn]struct{}{}
	}
	o.viewers[v.c] = struct{}{}
}

func (v *view) remove(o *Object) {
	delete(v.vis, o)
	delete(o.viewers, v.c)
}

// forget removes the connection from the viewers of what it sees (it has
// ended).
func (v *view) forget() {
	for o := range v.vis {
		delete(o.viewers, v.c)
	}
	clear(v.vis)
	v.forgetPass()
}

// hides says whether v hides o itself (its type, and for HideOthers its
// owner), whatever its ancestors.
func (v *view) hides(o *Object, owner ownerFunc) bool {
	switch v.g.Hide[o.typ.Name] {
	case HideAll:
		return true
	case HideOthers:
		return owner(o) != v.g.Subject
	}
	return false
}

// isRoot says whether o is one of v's roots.
func (v *view) isRoot(o *Object) bool {
	_, ok := v.roots[o.id]
	return ok
}

// visibleNew says whether v sees o, whose parent's visibility v knows
// (v.vis): visible walks up from o, and what it finds past o is whether v
// sees the parent. It is visible in one step.
func (v *view) visibleNew(o *Object) bool {
	return v.reachNew(o) && !v.shallow(o, currentOwner)
}

// reachNew is visibleNew but for o's own HideOthersShallow: whether o lies
// in v's reach, seen or passed through (view_shallow.go).
func (v *view) reachNew(o *Object) bool {
	if v.hides(o, currentOwner) {
		return false
	}
	switch {
	case v.roots != nil && v.isRoot(o):
		return true
	case o.parent != nil:
		return v.sees(o.parent) || v.passes(o.parent)
	}
	return v.roots == nil
}

// created adds o to v when v sees it, and reports whether it does; an
// object v passes through it records as such. Callers hold Server.mu.
func (v *view) created(o *Object) bool {
	if v.sees(o) || !v.reachNew(o) {
		return false
	}
	if v.shallow(o, currentOwner) {
		v.addPass(o)
		return false
	}
	v.add(o)
	return true
}

// deliverCreated queues o's rope.created on the views that see o: only
// those that see its parent, or have o as a root, can. Callers hold
// Server.mu.
func (s *Server) deliverCreated(o *Object, msg []byte) {
	if o.parent == nil {
		for c := range s.views {
			if c.view.created(o) {
				c.push(msg)
			}
		}
		return
	}
	if n := len(o.parent.viewers); n > 0 && o.viewers == nil {
		o.viewers = make(map[*Conn]struct{}, n) // most see it as they see the parent
	}
	for c := range o.parent.viewers {
		if c.view.created(o) {
			c.push(msg)
		}
	}
	for c := range o.parent.passers {
		if c.view.created(o) {
			c.push(msg)
		}
	}
	for c := range s.rootViews[o.id] {
		if c.view.created(o) {
			c.push(msg)
		}
	}
}

// deliverMove queues a view move on o on the views it enters or leaves.
// An object alone (one entry) can be seen only by the views that see its
// parent or have it as a root, and its parent's visibility stays; a
// subtree's entries ask every view. Callers hold Server.mu.
func (s *Server) deliverMove(o *Object, move *viewMove) {
	deliver := func(c *Conn) {
		if m := c.view.deliverMove(o, move); m != nil {
			c.push(m)
		}
	}
	if move.phase != phaseLeave|phaseEnter || o.parent == nil {
		for c := range s.views {
			deliver(c)
		}
		return
	}
	for c := range o.parent.viewers {
		deliver(c)
	}
	for c := range o.parent.passers {
		deliver(c)
	}
	for c := range s.rootViews[o.id] {
		deliver(c) // a second visit finds nothing to change
	}
}

// deliverMove decides what v gets of a view move on o, and keeps what it
// sees: move's variants, or nothing (nil). Callers hold Server.mu, and
// o's owners are current.
func (v *view) deliverMove(o *Object, move *viewMove) []byte {
	v.keepPass(o)
	before, after := v.sees(o), v.visible(o, currentOwner)
	out := move.variant(before, after)
	switch {
	case before && !after && out != nil:
		v.remove(o)
	case !before && after && out != nil:
		v.add(o)
	}
	return out
}

// variant is what a view that saw the object before (and sees it after)
// the move gets of this entry: rope.created, rope.closed or nothing (the
// empty update goes only to connections without a view).
func (m *viewMove) variant(before, after bool) []byte {
	switch {
	case before && after:
		return nil
	case before && m.phase&phaseLeave != 0:
		return m.closed
	case after && !before && m.phase&phaseEnter != 0:
		return m.created
	}
	return nil
}

// fill adds to v.vis every live object v sees, and returns their states in
// creation order when snapshot is set. Callers hold Server.mu.
func (v *view) fill(s *Server, snapshot bool) []objectState {
	var out []objectState
	for _, o := range s.ordered {
		if o.closed || !v.created(o) { // parents come first
			continue
		}
		if snapshot {
			out = append(out, o.stateLocked())
		}
	}
	return out
}

// replay filters a resume's entries for v: what v would have seen live.
// Owners change only at view moves, so walking back from now and undoing
// each move gives the owners at every entry. Callers hold Server.mu.
func (v *view) replay(es []ringEntry) [][]byte {
	past := map[*Object]string{}
	owner := func(o *Object) string {
		if w, ok := past[o]; ok {
			return w
		}
		return o.owner
	}
	out := make([][]byte, 0, len(es))
	for i := len(es) - 1; i >= 0; i-- {
		e := &es[i]
		if e.kind != noteMove {
			if v.visible(e.obj, owner) {
				out = append(out, e.msg)
			}
			continue
		}
		after := v.visible(e.obj, owner)
		past[e.move.owner] = e.move.before
		before := v.visible(e.obj, owner)
		if m := e.move.variant(before, after); m != nil {
			out = append(out, m)
		}
	}
	slices.Reverse(out)
	return out
}

// hidesNothing says whether g sees every object, so that its connection
// needs no view.
func hidesNothing(g *Grant) bool {
	if len(g.Roots) > 0 {
		return false
	}
	for _, h := range g.Hide {
		if h != HideNone {
			return false
		}
	}
	return true
}

// addRootsLocked lists c under the ids of its view's roots, so that an
// object created with such an id reaches it (deliverCreated).
func (s *Server) addRootsLocked(c *Conn) {
	for id := range c.view.roots {
		m := s.rootViews[id]
		if m == nil {
			m = map[*Conn]struct{}{}
			s.rootViews[id] = m
		}
		m[c] = struct{}{}
	}
}

func (s *Server) removeRootsLocked(c *Conn) {
	for id := range c.view.roots {
		if m := s.rootViews[id]; m != nil {
			if delete(m, c); len(m) == 0 {
				delete(s.rootViews, id)
			}
		}
	}
}
