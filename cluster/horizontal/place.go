package horizontal

import (
	"cmp"
	"slices"

	"github.com/ropehq/rope/cluster/registry"
)

// Candidate is a server as placement sees it: its latest record and the
// workers this API placed there since that record was published, which
// the record does not count yet.
type Candidate struct {
	Server registry.Server
	// Placed counts workers this API created on the server that its
	// record may not show yet.
	Placed int
}

// Workers is the number of workers the server runs, counting Placed.
func (c Candidate) Workers() int { return len(c.Server.Workers) + c.Placed }

// Full reports whether the server runs its MaxWorkers.
func (c Candidate) Full() bool {
	return c.Server.MaxWorkers > 0 && c.Workers() >= c.Server.MaxWorkers
}

// PlaceFunc picks the server of a new worker among the candidates (none
// of them full); false: none fits.
type PlaceFunc func(candidates []Candidate) (registry.Server, bool)

// LeastLoaded is the default placement: the server with the least load,
// then the fewest workers, then the smallest id. A worker just placed
// counts as a worker and as an average worker's load, so that a burst of
// placements spreads before the records catch up.
func LeastLoaded(candidates []Candidate) (registry.Server, bool) {
	if len(candidates) == 0 {
		return registry.Server{}, false
	}
	best := slices.MinFunc(candidates, func(a, b Candidate) int {
		return cmp.Or(
			cmp.Compare(expectedLoad(a), expectedLoad(b)),
			cmp.Compare(a.Workers(), b.Workers()),
			cmp.Compare(a.Server.ID, b.Server.ID),
		)
	})
	return best.Server, true
}

// expectedLoad is the record's load plus, for each worker placed since,
// the average load of the server's workers (or 1 % of a CPU for a server
// without workers).
func expectedLoad(c Candidate) float64 {
	if c.Placed == 0 {
		return c.Server.Load
	}
	per := 1.0
	if n := len(c.Server.Workers); n > 0 {
		per = max(c.Server.Load/float64(n), per)
	}
	return c.Server.Load + per*float64(c.Placed)
}
