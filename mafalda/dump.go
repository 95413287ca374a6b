package mafalda

import (
	"context"
	"sort"

	"github.com/ropehq/rope/media"
)

// Dump is Mafalda.Dump's result: enough to recreate the state (the
// workers with their settings, the routers with their options and users,
// each MafaldaRouter's options, transports, producers and pipes).
type Dump struct {
	Workers        []WorkerDump        `json:"workers"`
	MafaldaRouters []MafaldaRouterDump `json:"mafaldaRouters"`
}

// WorkerDump describes one worker.
type WorkerDump struct {
	ID        string               `json:"id"`
	PID       int                  `json:"pid"`
	Settings  media.WorkerSettings `json:"settings"`
	CreatedBy string               `json:"createdBy"`
	Consumers int                  `json:"consumers"`
	Routers   []RouterDump         `json:"routers"`
}

// RouterDump describes one router and the MafaldaRouters using it.
type RouterDump struct {
	ID               string              `json:"id"`
	Options          media.RouterOptions `json:"options"`
	MafaldaRouterIDs []string            `json:"mafaldaRouterIds"`
}

// MafaldaRouterDump describes one MafaldaRouter.
type MafaldaRouterDump struct {
	ID            string               `json:"id"`
	Options       MafaldaRouterOptions `json:"options"`
	RouterIDs     []string             `json:"routerIds"`
	Transports    []PlacedDump         `json:"transports"`
	RtpObservers  []PlacedDump         `json:"rtpObservers"`
	Producers     []PlacedDump         `json:"producers"`
	DataProducers []PlacedDump         `json:"dataProducers"`
	Pipes         []PipeDump           `json:"pipes"`
	PipesOpened   int                  `json:"pipesOpened"`
}

// PlacedDump is an object and the router it lives on.
type PlacedDump struct {
	ID       string `json:"id"`
	RouterID string `json:"routerId"`
}

// PipeDump is one open on-demand pipe, one hop of a producer's path.
type PipeDump struct {
	ProducerID   string `json:"producerId"`
	Data         bool   `json:"data,omitempty"`
	FromRouterID string `json:"fromRouterId"`
	ToRouterID   string `json:"toRouterId"`
	Consumers    int    `json:"consumers"`
	// Relays counts the next hops piping the producer on from
	// ToRouterID along the MafaldaRouter's tree (Options.PipeFanout).
	Relays int `json:"relays,omitempty"`
}

// Dump returns the state of every worker and MafaldaRouter.
func (m *Mafalda) Dump(ctx context.Context) (*Dump, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d := &Dump{Workers: []WorkerDump{}, MafaldaRouters: []MafaldaRouterDump{}}
	for _, mr := range m.MafaldaRouters() {
		d.MafaldaRouters = append(d.MafaldaRouters, mr.DumpState())
	}
	m.p.mu.Lock()
	defer m.p.mu.Unlock()
	for _, we := range m.p.workers {
		wd := WorkerDump{ID: we.id, PID: we.worker.PID(), Settings: we.settings, Consumers: we.consumers, Routers: []RouterDump{}}
		if we.creator != nil {
			wd.CreatedBy = we.creator.id
		}
		for _, re := range sortedRouters(we) {
			rd := RouterDump{ID: re.router.ID(), Options: re.options, MafaldaRouterIDs: []string{}}
			for mr := range re.users {
				rd.MafaldaRouterIDs = append(rd.MafaldaRouterIDs, mr.id)
			}
			sort.Strings(rd.MafaldaRouterIDs)
			wd.Routers = append(wd.Routers, rd)
		}
		d.Workers = append(d.Workers, wd)
	}
	return d, nil
}

// DumpState returns the MafaldaRouter's placement state.
func (mr *MafaldaRouter) DumpState() MafaldaRouterDump {
	d := MafaldaRouterDump{ID: mr.id, Options: mr.opts, RouterIDs: []string{}, Pipes: []PipeDump{}}
	for _, re := range mr.routerEntries() {
		d.RouterIDs = append(d.RouterIDs, re.router.ID())
	}
	mr.m.p.mu.Lock()
	defer mr.m.p.mu.Unlock()
	d.PipesOpened = mr.pipesOpened
	for _, id := range sortedKeys(mr.transports) {
		d.Transports = append(d.Transports, PlacedDump{id, mr.transports[id].re.router.ID()})
	}
	for _, id := range sortedKeys(mr.observers) {
		d.RtpObservers = append(d.RtpObservers, PlacedDump{id, mr.observers[id].re.router.ID()})
	}
	for _, id := range sortedKeys(mr.origins[pipeRTP]) {
		d.Producers = append(d.Producers, PlacedDump{id, mr.origins[pipeRTP][id].re.router.ID()})
	}
	for _, id := range sortedKeys(mr.origins[pipeData]) {
		d.DataProducers = append(d.DataProducers, PlacedDump{id, mr.origins[pipeData][id].re.router.ID()})
	}
	for key, p := range mr.pipes {
		if p.closing {
			continue
		}
		d.Pipes = append(d.Pipes, PipeDump{ProducerID: key.id, Data: key.kind == pipeData,
			FromRouterID: p.src.router.ID(), ToRouterID: key.dst.router.ID(), Consumers: p.refs - p.next, Relays: p.next})
	}
	sort.Slice(d.Pipes, func(i, j int) bool {
		a, b := d.Pipes[i], d.Pipes[j]
		return a.ProducerID+a.ToRouterID < b.ProducerID+b.ToRouterID
	})
	return d
}

// Dump merges the dumps of its routers, keeping the entries of its own
// transports, observers and producers (routers may be shared).
func (mr *MafaldaRouter) Dump(ctx context.Context) (*media.RouterDump, error) {
	if err := mr.checkOpen(); err != nil {
		return nil, err
	}
	var dumps []*media.RouterDump
	for _, re := range mr.routerEntries() {
		rd, err := re.router.Dump(ctx)
		if err != nil {
			return nil, wrapErr("dump router", err)
		}
		dumps = append(dumps, rd)
	}
	mr.m.p.mu.Lock()
	defer mr.m.p.mu.Unlock()
	own := func(id string) bool { return mr.origins[pipeRTP][id] != nil || mr.hasPipeLocked(pipeRTP, id) }
	ownData := func(id string) bool { return mr.origins[pipeData][id] != nil || mr.hasPipeLocked(pipeData, id) }
	d := &media.RouterDump{ID: mr.id, TransportIDs: sortedKeys(mr.transports), RtpObserverIDs: sortedKeys(mr.observers)}
	for _, rd := range dumps {
		d.MapProducerIDConsumerIDs = mergeKeyValues(d.MapProducerIDConsumerIDs, rd.MapProducerIDConsumerIDs, own)
		d.MapProducerIDObserverIDs = mergeKeyValues(d.MapProducerIDObserverIDs, rd.MapProducerIDObserverIDs, own)
		d.MapDataProducerIDDataConsumerIDs = mergeKeyValues(d.MapDataProducerIDDataConsumerIDs, rd.MapDataProducerIDDataConsumerIDs, ownData)
		d.MapConsumerIDProducerID = filterKeyValue(d.MapConsumerIDProducerID, rd.MapConsumerIDProducerID, own)
		d.MapDataConsumerIDDataProducerID = filterKeyValue(d.MapDataConsumerIDDataProducerID, rd.MapDataConsumerIDDataProducerID, ownData)
	}
	return d, nil
}

func (mr *MafaldaRouter) hasPipeLocked(kind int, id string) bool {
	for key := range mr.pipes {
		if key.kind == kind && key.id == id {
			return true
		}
	}
	return false
}

// mergeKeyValues appends the entries of add whose key is kept, merging
// the values of a key already present.
func mergeKeyValues(dst, add []media.KeyValues, keep func(string) bool) []media.KeyValues {
	if dst == nil {
		dst = []media.KeyValues{}
	}
	for _, kv := range add {
		if !keep(kv.Key) {
			continue
		}
		i := sort.Search(len(dst), func(i int) bool { return dst[i].Key >= kv.Key })
		if i < len(dst) && dst[i].Key == kv.Key {
			dst[i].Values = append(dst[i].Values, kv.Values...)
			continue
		}
		dst = append(dst, media.KeyValues{})
		copy(dst[i+1:], dst[i:])
		dst[i] = media.KeyValues{Key: kv.Key, Values: append([]string(nil), kv.Values...)}
	}
	return dst
}

// filterKeyValue appends the entries of add whose value is kept.
func filterKeyValue(dst, add []media.KeyValue, keep func(string) bool) []media.KeyValue {
	if dst == nil {
		dst = []media.KeyValue{}
	}
	for _, kv := range add {
		if keep(kv.Value) {
			dst = append(dst, kv)
		}
	}
	return dst
}
