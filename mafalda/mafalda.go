package mafalda

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/ortc"
)

// closeTimeout bounds the closing of idle routers and workers, which
// happens from event handlers that have no context of their own.
const closeTimeout = 10 * time.Second

// Mafalda places the routers of every MafaldaRouter on the workers of one
// media.API. Every Mafalda over the same API value in a process shares
// those workers and routers (see "Sharing" in the package doc).
type Mafalda struct {
	api  media.API
	opts Options
	p    *pool
	view *viewAPI // the value API returns

	// Guarded by p.mu.
	closed  bool
	routers map[string]*MafaldaRouter
	// closing counts the batches of idle routers and workers being closed
	// because its MafaldaRouters left them idle (pool.closingLocked).
	closing int
}

// workerEntry is one worker of the API and the routers on it.
type workerEntry struct {
	id       string
	key      string // the settings key
	settings media.WorkerSettings
	worker   media.Worker
	creator  *MafaldaRouter
	routers  map[string]*routerEntry // by router options key
	// pending counts placements about to create a router on it, which
	// keep it from closing while idle.
	pending   int
	consumers int
	gone      bool
	// slot is the worker's index among the workers with its settings,
	// which shifts its WebRtcServers' ports; held while slotHeld, from
	// its creation until it has closed (its sockets with it).
	slot     int
	slotHeld bool
	// servers are its WebRtcServers by WebRtcServerOptions key.
	servers map[string]*serverEntry
}

// routerEntry is one router and the MafaldaRouters using it, with how
// many of their objects (transports, observers, piped-in producers) each
// keeps there.
type routerEntry struct {
	key     string
	options media.RouterOptions
	router  media.Router
	worker  *workerEntry
	users   map[*MafaldaRouter]int
	gone    bool
	// origins counts the (data) producers living here, created on its
	// transports or piped in by PipeToRouter; piped the on-demand pipe
	// producers. Rooms sharing the router see the same ids.
	origins, piped map[presence]int
}

// presence names a (data) producer in a router.
type presence struct {
	kind int
	id   string
}

// New returns a Mafalda over api. opts may be nil. It joins the pool of
// workers and routers of the other open Mafaldas over the same api (the
// same media.API value), or starts one; Close leaves it.
func New(api media.API, opts *Options) *Mafalda {
	m := &Mafalda{api: api, p: acquirePool(api), routers: map[string]*MafaldaRouter{}}
	m.view = &viewAPI{m: m}
	if opts != nil {
		m.opts = *opts
	}
	if m.opts.CPUs <= 0 {
		m.opts.CPUs = runtime.NumCPU()
	}
	if m.opts.LoadFunc == nil {
		m.opts.LoadFunc = m.p.meter.load
	}
	return m
}

// SupportedRtpCapabilities returns the underlying API's.
func (m *Mafalda) SupportedRtpCapabilities() media.RtpCapabilities {
	return m.api.SupportedRtpCapabilities()
}

// CreateMafaldaRouter creates a MafaldaRouter. It validates the media
// codecs but creates no router or worker until the first transport or
// observer needs one.
func (m *Mafalda) CreateMafaldaRouter(ctx context.Context, o *MafaldaRouterOptions) (*MafaldaRouter, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	mr, err := newMafaldaRouter(m, o)
	if err != nil {
		return nil, err
	}
	m.p.mu.Lock()
	defer m.p.mu.Unlock()
	if m.closed {
		return nil, media.NewError(media.ErrClosed, "mafalda closed")
	}
	if m.routers[mr.id] != nil {
		return nil, media.NewError(media.ErrDuplicateID, "mafaldaRouter %q exists", mr.id)
	}
	m.routers[mr.id] = mr
	return mr, nil
}

func newMafaldaRouter(m *Mafalda, o *MafaldaRouterOptions) (*MafaldaRouter, error) {
	var opts MafaldaRouterOptions
	if o != nil {
		opts = *o
	}
	if opts.ID == "" {
		opts.ID = uuid.NewString()
	}
	if opts.MaxWorkers == nil {
		opts.MaxWorkers = Int(runtime.NumCPU())
	}
	if opts.WatermarkWorker <= 0 {
		opts.WatermarkWorker = DefaultWatermarkWorker
	}
	caps, err := ortc.GenerateRouterRtpCapabilities(opts.RouterOptions.MediaCodecs)
	if err != nil {
		return nil, fmt.Errorf("mafalda: routerOptions: %w", err)
	}
	mr := &MafaldaRouter{
		m: m, id: opts.ID, opts: opts, caps: caps,
		wkey: settingsKey(opts.WorkerSettings), rkey: routerKey(opts.RouterOptions), skey: serverKey(opts.WebRtcServerOptions),
		appData: opts.RouterOptions.AppData.Clone(), transports: map[string]*transportCore{},
		observers: map[string]*observerCore{}, inbound: map[*inboundPipe]struct{}{},
		origins: [2]map[string]*origin{{}, {}}, pipes: map[pipeKey]*pipe{},
	}
	if mr.appData == nil {
		mr.appData = media.AppData{}
	}
	return mr, nil
}

// settingsKey identifies a set of worker settings; appData does not count.
func settingsKey(s media.WorkerSettings) string {
	s.AppData = nil
	b, _ := json.Marshal(s)
	return string(b)
}

// routerKey identifies a set of router options; appData does not count.
func routerKey(o media.RouterOptions) string {
	b, _ := json.Marshal(o.MediaCodecs)
	return string(b)
}

// CloseAllMafaldaRouters closes every MafaldaRouter; idle workers close
// with them.
func (m *Mafalda) CloseAllMafaldaRouters(ctx context.Context) error {
	var errs []error
	for _, mr := range m.MafaldaRouters() {
		if err := mr.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("mafalda: close routers: %w", errs[0])
	}
	return nil
}

// Close closes the MafaldaRouters of this Mafalda, with the routers and
// workers they leave idle, and leaves the pool: routers and workers
// other Mafaldas over the same API use stay open, and the last Mafalda
// of the pool to close closes every worker left. It then waits for the
// idle routers and workers event handlers are closing for it (the last
// one: for the pool); Mafalda takes no more MafaldaRouters. It is
// idempotent.
func (m *Mafalda) Close(ctx context.Context) error {
	p := m.p
	p.mu.Lock()
	first := !m.closed
	m.closed = true
	p.mu.Unlock()
	err := m.CloseAllMafaldaRouters(ctx)
	last := first && releasePool(p)
	if last {
		p.mu.Lock()
		workers := p.workers
		p.workers = nil
		for _, we := range workers {
			we.gone = true
		}
		p.mu.Unlock()
		for _, we := range workers {
			p.meter.forget(we.worker)
			if cerr := we.worker.Close(ctx); cerr != nil && err == nil {
				err = fmt.Errorf("mafalda: close worker: %w", cerr)
			}
		}
	}
	p.mu.Lock()
	for m.closing > 0 || (last && p.closing > 0) {
		p.idle.Wait()
	}
	p.mu.Unlock()
	return err
}

// MafaldaRouters returns the open MafaldaRouters, sorted by id.
func (m *Mafalda) MafaldaRouters() []*MafaldaRouter {
	m.p.mu.Lock()
	defer m.p.mu.Unlock()
	out := make([]*MafaldaRouter, 0, len(m.routers))
	for _, mr := range m.routers {
		out = append(out, mr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// Workers returns the workers of the pool, in creation order: those of
// every Mafalda over the same API, which is all of them once this one
// has closed.
func (m *Mafalda) Workers() []media.Worker {
	m.p.mu.Lock()
	defer m.p.mu.Unlock()
	out := make([]media.Worker, 0, len(m.p.workers))
	for _, we := range m.p.workers {
		out = append(out, we.worker)
	}
	return out
}

// Routers returns the routers of the pool (see Workers), by worker
// creation order.
func (m *Mafalda) Routers() []media.Router {
	m.p.mu.Lock()
	defer m.p.mu.Unlock()
	var out []media.Router
	for _, we := range m.p.workers {
		for _, re := range sortedRouters(we) {
			out = append(out, re.router)
		}
	}
	return out
}

// Transports returns every transport the MafaldaRouters handed out.
func (m *Mafalda) Transports() []media.Transport {
	var out []media.Transport
	for _, mr := range m.MafaldaRouters() {
		out = append(out, mr.Transports()...)
	}
	return out
}

// RtpObservers returns every RTP observer the MafaldaRouters handed out.
func (m *Mafalda) RtpObservers() []media.RtpObserver {
	var out []media.RtpObserver
	for _, mr := range m.MafaldaRouters() {
		out = append(out, mr.RtpObservers()...)
	}
	return out
}

func sortedRouters(we *workerEntry) []*routerEntry {
	out := make([]*routerEntry, 0, len(we.routers))
	for _, re := range we.routers {
		out = append(out, re)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].router.ID() < out[j].router.ID() })
	return out
}

// WorkerUsage is one worker's resource usage.
type WorkerUsage struct {
	WorkerID string                     `json:"workerId"`
	PID      int                        `json:"pid"`
	Usage    *media.WorkerResourceUsage `json:"usage"`
}

// GetResourceUsages returns the resource usage of every worker of the
// pool (see Workers); a worker that closed or died meanwhile is left out.
func (m *Mafalda) GetResourceUsages(ctx context.Context) ([]WorkerUsage, error) {
	m.p.mu.Lock()
	workers := append([]*workerEntry(nil), m.p.workers...)
	m.p.mu.Unlock()
	out := make([]WorkerUsage, 0, len(workers))
	for _, we := range workers {
		ru, err := we.worker.GetResourceUsage(ctx)
		if err != nil && (we.worker.Died() || we.worker.Closed()) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("mafalda: worker %s resource usage: %w", we.id, err)
		}
		out = append(out, WorkerUsage{WorkerID: we.id, PID: we.worker.PID(), Usage: ru})
	}
	return out, nil
}
