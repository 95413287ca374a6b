package mafalda

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/google/uuid"
	"github.com/ropehq/rope/media"
)

// candidate is a worker with its measured load.
type candidate struct {
	we   *workerEntry
	load float64
	full bool
}

// choice is a placement decision: an existing router, a worker to create
// the router on, or a new worker.
type choice struct {
	re        *routerEntry
	we        *workerEntry
	newWorker bool
}

// place returns the router for one more object of mr (a transport, an
// observer, a piped-in producer), counted as a use until release. exclude,
// if set, rules routers out; it runs under mu.
func (mr *MafaldaRouter) place(ctx context.Context, exclude func(*routerEntry) bool) (*routerEntry, error) {
	p := mr.m.p
	p.placeMu.Lock()
	defer p.placeMu.Unlock()
	cands := mr.candidates(ctx)
	p.mu.Lock()
	if mr.closed {
		p.mu.Unlock()
		return nil, media.NewError(media.ErrClosed, "mafaldaRouter closed")
	}
	c, err := mr.choose(cands, exclude)
	if err != nil {
		p.mu.Unlock()
		return nil, err
	}
	if c.re != nil {
		fresh := useLocked(c.re, mr)
		p.mu.Unlock()
		if fresh {
			mr.onNewRouter.emit(routerWorker{c.re.router, c.re.worker.worker})
		}
		return c.re, nil
	}
	if c.we != nil {
		c.we.pending++
	}
	p.mu.Unlock()
	we := c.we
	if c.newWorker {
		if we, err = mr.newWorker(ctx); err != nil {
			return nil, err
		}
	}
	return mr.newRouter(ctx, we)
}

// candidates measures the load of the pool's workers with mr's settings,
// outside the lock (LoadFunc may block), and returns them busiest first.
// The LoadFunc and the consumer cap are those of mr's Mafalda.
func (mr *MafaldaRouter) candidates(ctx context.Context) []candidate {
	m := mr.m
	m.p.mu.Lock()
	var cands []candidate
	for _, we := range m.p.workers {
		if we.key == mr.wkey && !we.gone {
			cands = append(cands, candidate{we: we})
		}
	}
	m.p.mu.Unlock()
	// A worker that died is out even before its "died" has come.
	cands = slices.DeleteFunc(cands, func(c candidate) bool { return c.we.worker.Died() })
	for i := range cands {
		load, err := m.opts.LoadFunc(ctx, cands[i].we.worker)
		cands[i].load = load
		cands[i].full = err != nil || load >= mr.opts.WatermarkWorker
	}
	m.p.mu.Lock()
	defer m.p.mu.Unlock()
	for i := range cands {
		if max := m.opts.MaxConsumersPerWorker; max > 0 && cands[i].we.consumers >= max {
			cands[i].full = true
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.load != b.load {
			return a.load > b.load
		}
		return a.we.consumers > b.we.consumers
	})
	return cands
}

// choose applies the placement order, under mu: mr's own router on the
// busiest worker under the watermark, then another MafaldaRouter's router
// with the same options, then a new router on such a worker, then a new
// worker, and when none may be created the least loaded worker.
func (mr *MafaldaRouter) choose(cands []candidate, exclude func(*routerEntry) bool) (choice, error) {
	usable := func(re *routerEntry) bool { return re != nil && !re.gone && (exclude == nil || !exclude(re)) }
	for _, c := range cands {
		if re := c.we.routers[mr.rkey]; !c.we.gone && !c.full && usable(re) && re.users[mr] > 0 {
			return choice{re: re}, nil
		}
	}
	for _, c := range cands {
		if re := c.we.routers[mr.rkey]; !c.we.gone && !c.full && usable(re) {
			return choice{re: re}, nil
		}
	}
	for _, c := range cands {
		if !c.we.gone && !c.full && c.we.routers[mr.rkey] == nil {
			return choice{we: c.we}, nil
		}
	}
	if mr.mayCreateWorkerLocked() {
		return choice{newWorker: true}, nil
	}
	for i := len(cands) - 1; i >= 0; i-- {
		we := cands[i].we
		if re := we.routers[mr.rkey]; !we.gone && usable(re) {
			return choice{re: re}, nil
		} else if !we.gone && re == nil {
			return choice{we: we}, nil
		}
	}
	return choice{}, fmt.Errorf("%w (mafaldaRouter %s): %w", ErrNoWorker, mr.id, media.ErrInvalidState)
}

// mayCreateWorkerLocked reports whether mr may create one more worker:
// under its MaxWorkers, and while the pool has fewer workers with its
// settings than its Mafalda's Options.CPUs.
func (mr *MafaldaRouter) mayCreateWorkerLocked() bool {
	same, own := 0, 0
	for _, we := range mr.m.p.workers {
		if we.key == mr.wkey && !we.gone {
			same++
			if we.creator == mr {
				own++
			}
		}
	}
	return same < mr.m.opts.CPUs && own < *mr.opts.MaxWorkers
}

// newWorker creates a worker, registered with one pending placement.
func (mr *MafaldaRouter) newWorker(ctx context.Context) (*workerEntry, error) {
	m, p := mr.m, mr.m.p
	settings := mr.opts.WorkerSettings
	w, err := p.api.CreateWorker(ctx, &settings)
	if err != nil {
		return nil, fmt.Errorf("mafalda: create worker: %w", err)
	}
	we := &workerEntry{id: uuid.NewString(), key: mr.wkey, settings: settings, worker: w,
		creator: mr, routers: map[string]*routerEntry{}, servers: map[string]*serverEntry{}, pending: 1}
	p.mu.Lock()
	if m.closed {
		p.mu.Unlock()
		_ = w.Close(ctx)
		return nil, media.NewError(media.ErrClosed, "mafalda closed")
	}
	p.workers = append(p.workers, we)
	p.takeSlotLocked(we)
	p.mu.Unlock()
	w.OnClose(func() { p.workerGone(we, nil); p.freeSlot(we) })
	w.OnDied(func(err error) { p.workerGone(we, err); p.freeSlot(we) })
	return we, nil
}

// newRouter creates mr's router on we, which has a pending placement.
func (mr *MafaldaRouter) newRouter(ctx context.Context, we *workerEntry) (*routerEntry, error) {
	p := mr.m.p
	opts := mr.opts.RouterOptions
	opts.AppData = nil
	r, err := we.worker.CreateRouter(ctx, &opts)
	p.mu.Lock()
	we.pending--
	if err != nil || we.gone {
		closers := p.closingLocked(mr.m, p.idleWorkerLocked(we))
		p.mu.Unlock()
		mr.closeAll(closers)
		if err == nil {
			_ = r.Close(ctx)
			err = media.NewError(media.ErrClosed, "worker closed")
		}
		return nil, fmt.Errorf("mafalda: create router: %w", err)
	}
	re := &routerEntry{key: mr.rkey, options: opts, router: r, worker: we, users: map[*MafaldaRouter]int{},
		origins: map[presence]int{}, piped: map[presence]int{}}
	we.routers[re.key] = re
	useLocked(re, mr)
	p.mu.Unlock()
	r.OnClose(func() { p.routerGone(re) })
	mr.onNewRouter.emit(routerWorker{r, we.worker})
	return re, nil
}

// useLocked counts one more use of re by mr and reports whether it is
// mr's first there.
func useLocked(re *routerEntry, mr *MafaldaRouter) bool {
	re.users[mr]++
	return re.users[mr] == 1
}

// release drops one use of re by mr, closing re once nobody uses it and
// its worker once it has no router. On a worker that died it does
// nothing: the worker's objects are closing in the cascade of its death,
// before its "died" (as mediasoup orders it), and workerGone needs the
// uses to tell which MafaldaRouters lost it.
func (p *pool) release(re *routerEntry, mr *MafaldaRouter) {
	if re.worker.worker.Died() {
		return
	}
	p.mu.Lock()
	closers := p.closingLocked(mr.m, p.releaseLocked(re, mr))
	p.mu.Unlock()
	mr.closeAll(closers)
}

// closer is a router or worker to close.
type closer interface {
	Close(ctx context.Context) error
}

func (p *pool) releaseLocked(re *routerEntry, mr *MafaldaRouter) []closer {
	if re.users[mr] > 1 {
		re.users[mr]--
		return nil
	}
	delete(re.users, mr)
	if len(re.users) > 0 || re.gone {
		return nil
	}
	re.gone = true
	delete(re.worker.routers, re.key)
	return append([]closer{re.router}, p.idleWorkerLocked(re.worker)...)
}

// idleWorkerLocked unregisters we and returns it to close if it has no
// router and no placement under way.
func (p *pool) idleWorkerLocked(we *workerEntry) []closer {
	if len(we.routers) > 0 || we.pending > 0 || we.gone {
		return nil
	}
	p.removeWorkerLocked(we)
	return []closer{we.worker}
}

func (p *pool) removeWorkerLocked(we *workerEntry) {
	we.gone = true
	for i, w := range p.workers {
		if w == we {
			p.workers = append(p.workers[:i:i], p.workers[i+1:]...)
			break
		}
	}
	p.meter.forget(we.worker)
}

// closingLocked counts closers as being closed, in the pool and for
// owner, the Mafalda whose MafaldaRouter left them idle (nil for a
// router that closed by itself), until closeAll is done with them, so
// Mafalda.Close can wait for closes that event handlers started (over a
// remote API or worker processes, handlers run on the client's
// goroutines, not the caller's). Counting per owner keeps one Mafalda's
// Close from waiting on the closes of another, which may never pause.
func (p *pool) closingLocked(owner *Mafalda, closers []closer) []closer {
	if len(closers) > 0 {
		p.closing++
		if owner != nil {
			owner.closing++
		}
	}
	return closers
}

// closeAll closes routers and workers, reporting failures as mr's
// "error" events.
func (mr *MafaldaRouter) closeAll(closers []closer) {
	mr.m.p.closeAll(mr.m, closers, mr.onError.emit)
}

// closeAll closes closers counted by closingLocked for owner.
func (p *pool) closeAll(owner *Mafalda, closers []closer, report func(error)) {
	if len(closers) == 0 {
		return
	}
	defer func() {
		p.mu.Lock()
		p.closing--
		if owner != nil {
			owner.closing--
		}
		p.idle.Broadcast()
		p.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	for _, c := range closers {
		if err := c.Close(ctx); err != nil && !errors.Is(err, media.ErrClosed) {
			report(fmt.Errorf("mafalda: close idle router or worker: %w", err))
		}
	}
}

// workerGone forgets a worker that closed or died by itself; err is the
// reason it died, nil if it closed. Every MafaldaRouter that used it,
// whichever its Mafalda, gets "workerdied".
func (p *pool) workerGone(we *workerEntry, err error) {
	p.mu.Lock()
	if we.gone {
		p.mu.Unlock()
		return
	}
	p.removeWorkerLocked(we)
	users := map[*MafaldaRouter]bool{}
	for _, re := range we.routers {
		re.gone = true
		for mr := range re.users {
			users[mr] = true
		}
	}
	p.mu.Unlock()
	if err == nil {
		return
	}
	for mr := range users {
		mr.onWorkerDied.emit(workerErr{we.worker, we.id, err})
	}
}

// routerGone forgets a router that closed by itself; one whose worker
// died is left for workerGone (see release).
func (p *pool) routerGone(re *routerEntry) {
	if re.worker.worker.Died() {
		return
	}
	p.mu.Lock()
	if re.gone {
		p.mu.Unlock()
		return
	}
	re.gone = true
	delete(re.worker.routers, re.key)
	closers := p.closingLocked(nil, p.idleWorkerLocked(re.worker))
	p.mu.Unlock()
	p.closeAll(nil, closers, func(error) {})
}
