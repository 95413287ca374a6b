package mafalda

// Pipe trees: each MafaldaRouter places the routers it uses in slots
// 0, 1, 2, … and pipes a producer along the k-ary tree over those slots
// (the parent of slot i is slot (i−1)/k, k = Options.PipeFanout), hop by
// hop, instead of from its origin straight into every router that
// consumes it. The engine keeps one pipe transport pair per ordered pair
// of routers, so direct piping with producers on n routers ends with up
// to n·(n−1) pairs; along a tree it needs at most 2·(n−1), one pair each
// way per edge. All of it is guarded by pool.mu.

// pipeFanout returns Options.PipeFanout with its default applied: k ≥ 1,
// or PipeDirect.
func (m *Mafalda) pipeFanout() int {
	switch f := m.opts.PipeFanout; {
	case f == 0:
		return DefaultPipeFanout
	case f < 0:
		return PipeDirect
	default:
		return f
	}
}

// syncTreeLocked brings mr's slots up to date: a router mr no longer
// uses, or that has gone (its worker died or closed), frees its slot; a
// router mr uses without a slot takes the lowest free one, in the order
// of the pool's workers. Slots are synced before each pipe path is
// chosen, so a router joins the tree at the first pipe after mr started
// using it, and a freed slot goes to the next router to join.
func (mr *MafaldaRouter) syncTreeLocked() {
	if mr.slots == nil {
		mr.slots, mr.slotOf = map[int]*routerEntry{}, map[*routerEntry]int{}
	}
	for s, re := range mr.slots {
		if !mr.inTreeLocked(re) {
			delete(mr.slots, s)
			delete(mr.slotOf, re)
		}
	}
	free := 0
	for _, we := range mr.m.p.workers {
		re := we.routers[mr.rkey]
		if re == nil || !mr.inTreeLocked(re) {
			continue
		}
		if _, ok := mr.slotOf[re]; ok {
			continue
		}
		for mr.slots[free] != nil {
			free++
		}
		mr.slots[free], mr.slotOf[re] = re, free
	}
}

// inTreeLocked reports whether re belongs in mr's tree: mr uses it and
// it is alive.
func (mr *MafaldaRouter) inTreeLocked(re *routerEntry) bool {
	return !re.gone && re.users[mr] > 0 && !re.worker.worker.Died()
}

// rootLocked returns the lowest occupied slot, the tree's root; -1 when
// the tree is empty.
func (mr *MafaldaRouter) rootLocked() int {
	root := -1
	for s := range mr.slots {
		if root < 0 || s < root {
			root = s
		}
	}
	return root
}

// parentLocked returns the parent of occupied slot s in the tree of
// fanout k: its nearest occupied ancestor in the k-ary tree over slots,
// or the root when none is occupied (the slots between are free: their
// routers left). Every parent has a lower slot than its child, so the
// slots occupied always form one tree. ok is false for the root.
func (mr *MafaldaRouter) parentLocked(s, k, root int) (parent int, ok bool) {
	if s == root {
		return 0, false
	}
	for a := s; a > 0; {
		a = (a - 1) / k
		if mr.slots[a] != nil {
			return a, true
		}
	}
	return root, true
}

// prevHopLocked returns the router before dst on the tree path from
// origin (where the producer lives) to dst: dst's parent, or, when dst is
// an ancestor of origin, its child towards origin. With PipeDirect, or
// when origin or dst has no slot (it is leaving), it is origin itself.
func (mr *MafaldaRouter) prevHopLocked(origin, dst *routerEntry) *routerEntry {
	k := mr.m.pipeFanout()
	so, okO := mr.slotOf[origin]
	sd, okD := mr.slotOf[dst]
	if k == PipeDirect || !okO || !okD || so == sd {
		return origin
	}
	root := mr.rootLocked()
	// Up from the origin: is dst on its way to the root?
	for s, prev := so, so; ; {
		if s == sd {
			return mr.slots[prev]
		}
		p, ok := mr.parentLocked(s, k, root)
		if !ok {
			break
		}
		prev, s = s, p
	}
	p, _ := mr.parentLocked(sd, k, root)
	return mr.slots[p]
}
