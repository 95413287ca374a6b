package ropeserver

// HideOthersShallow in views (spec §18.1.3): a view does not see another
// subject's objects of such a type, but sees what is under them. The
// fan-out reaches a new object through the views of its parent
// (Object.viewers); a view that passes through the parent without seeing
// it is listed in the parent's passers instead, and keeps the objects it
// passes through in view.pass, kept like view.vis under Server.mu.

// shallow says whether v hides o itself, not what is under it: its type
// is HideOthersShallow and another subject owns it.
func (v *view) shallow(o *Object, owner ownerFunc) bool {
	return v.g.Hide[o.typ.Name] == HideOthersShallow && owner(o) != v.g.Subject
}

// passes says whether v passes through o (sees below it, not it).
func (v *view) passes(o *Object) bool {
	_, ok := v.pass[o]
	return ok
}

func (v *view) addPass(o *Object) {
	if v.pass == nil {
		v.pass = map[*Object]struct{}{}
	}
	v.pass[o] = struct{}{}
	if o.passers == nil {
		o.passers = map[*Conn]struct{}{}
	}
	o.passers[v.c] = struct{}{}
}

func (v *view) removePass(o *Object) {
	delete(v.pass, o)
	delete(o.passers, v.c)
}

// forgetPass removes the connection from the passers of what it passes
// through (it has ended).
func (v *view) forgetPass() {
	for o := range v.pass {
		delete(o.passers, v.c)
	}
	clear(v.pass)
}

// keepPass sets whether v passes through o after an owner change: o is
// shallowly hidden and in v's reach (visible, but for o's own hiding).
func (v *view) keepPass(o *Object) {
	if v.shallow(o, currentOwner) && v.visible(o, func(a *Object) string {
		if a == o {
			return v.g.Subject // o's own hiding aside
		}
		return a.owner
	}) {
		v.addPass(o)
		return
	}
	v.removePass(o)
}

// forgetPassersLocked drops a closed object from the views that passed
// through it. Callers hold s.mu.
func (s *Server) forgetPassersLocked(o *Object) {
	for c := range o.passers {
		delete(c.view.pass, o)
	}
	o.passers = nil
}
