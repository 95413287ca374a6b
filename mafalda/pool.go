package mafalda

import (
	"reflect"
	"sync"

	"github.com/ropehq/rope/media"
)

// pool is the workers and routers every Mafalda over one media.API in
// this process shares (see "Sharing" in the package doc).
type pool struct {
	api   media.API
	meter *cpuMeter // the default LoadFunc, shared so samples are too

	// placeMu serialises the placements of every Mafalda of the pool, so
	// two never create the same router or worker. Taken before mu; never
	// taken by event handlers.
	placeMu sync.Mutex

	// mu guards the fields below, the closed and routers fields of every
	// Mafalda of the pool, and the mutable state of every workerEntry,
	// routerEntry, pipe, transportCore and MafaldaRouter of the pool.
	mu      sync.Mutex
	workers []*workerEntry // in creation order
	// slots are the slots held (workerEntry.slot) by worker settings
	// key: those of its workers, and of closed ones until their close
	// has ended.
	slots map[string]map[int]bool
	// closing counts the batches of idle routers and workers being closed
	// (closingLocked, closeAll), whichever Mafalda started them; idle is
	// signalled when one ends.
	closing int
	idle    *sync.Cond

	// refs counts the open Mafaldas using the pool; guarded by
	// registry.mu.
	refs int
	// registered is set while the pool is registry.pools[api].
	registered bool
}

// registry holds the pools by media.API.
var registry struct {
	// mu guards pools and every pool's refs and registered. It is a leaf:
	// nothing else is locked while it is held.
	mu    sync.Mutex
	pools map[media.API]*pool
}

// acquirePool returns the pool of api, registering a new one if none is,
// with one more reference. An API value that cannot be compared (a map
// key) gets a pool of its own.
func acquirePool(api media.API) *pool {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	shareable := api != nil && reflect.ValueOf(api).Comparable()
	if shareable {
		if p := registry.pools[api]; p != nil {
			p.refs++
			return p
		}
	}
	p := &pool{api: api, meter: newCPUMeter(), refs: 1, slots: map[string]map[int]bool{}}
	p.idle = sync.NewCond(&p.mu)
	if shareable {
		if registry.pools == nil {
			registry.pools = map[media.API]*pool{}
		}
		registry.pools[api] = p
		p.registered = true
	}
	return p
}

// releasePool drops one reference to p and reports whether it was the
// last; the pool then leaves the registry, and a Mafalda created over
// the same API afterwards gets a new pool.
func releasePool(p *pool) (last bool) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if p.refs--; p.refs > 0 {
		return false
	}
	if p.registered {
		delete(registry.pools, p.api)
		p.registered = false
	}
	return true
}
