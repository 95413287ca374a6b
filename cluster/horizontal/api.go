package horizontal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/ropehq/rope/cluster/registry"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/crosspipe"
	"github.com/ropehq/rope/media/mediaclient"
	"github.com/ropehq/rope/media/ortc"
)

// Directory is the view of the cluster's servers that the API places
// workers on and watches for departures; a *registry.Registry is one.
type Directory interface {
	// Servers lists the servers in the view.
	Servers() []registry.Server
	// Watch delivers every server in the view as EventJoined, then each
	// change, until ctx ends.
	Watch(ctx context.Context) <-chan registry.Event
}

// selfDirectory is a Directory that also knows the server it runs in
// (a *registry.Registry): its own record, which its view leaves out.
type selfDirectory interface {
	Self() registry.Record
}

// Options configure an API. Nil means defaults.
type Options struct {
	// Place picks the server of a new worker. Default LeastLoaded.
	Place PlaceFunc
	// IncludeSelf makes the server the Directory runs in (its Self
	// record) a candidate too, for an API used inside a cluster member.
	// Default false: only the servers in the Directory's view.
	IncludeSelf bool
	// Media configures the connection to each server (its ROPE options:
	// token, reconnects). Default nil: mediaclient's defaults.
	Media *mediaclient.Options
	// Logger receives joins and losses of the servers the API uses.
	// Default slog.Default().
	Logger *slog.Logger
}

// API is the media API of a cluster. Close it to stop watching the
// directory and to close its connections; the media objects it created
// stay on their servers (as mediaclient's Close leaves them).
type API struct {
	dir  Directory
	opts Options
	log  *slog.Logger
	stop context.CancelFunc
	wg   sync.WaitGroup
	// pipes keeps the pipe transports of each pair of routers on
	// different servers.
	pipes crosspipe.Piper

	// mu guards members and closed.
	mu      sync.Mutex
	members map[string]*member // by server id: those dialled or being dialled
	closed  bool

	// newWorkerMu guards newWorker and nextNewWorker.
	newWorkerMu   sync.Mutex
	newWorker     map[int]func(media.Worker)
	nextNewWorker int
}

var (
	_ media.API               = (*API)(nil)
	_ media.Versioned         = (*API)(nil)
	_ media.NewWorkerNotifier = (*API)(nil)
)

// Version is media.Version(): the mediasoup version followed, with this
// module's (the servers' may differ; each mediaclient tells its own).
func (a *API) Version() string { return media.Version() }

// OnNewWorker (mediasoup's observer "newworker") fires for each worker
// CreateWorker and CreateWorkerOn make, before they return.
func (a *API) OnNewWorker(fn func(media.Worker)) func() {
	a.newWorkerMu.Lock()
	defer a.newWorkerMu.Unlock()
	if a.newWorker == nil {
		a.newWorker = map[int]func(media.Worker){}
	}
	id := a.nextNewWorker
	a.nextNewWorker++
	a.newWorker[id] = fn
	return func() {
		a.newWorkerMu.Lock()
		delete(a.newWorker, id)
		a.newWorkerMu.Unlock()
	}
}

func (a *API) emitNewWorker(w media.Worker) {
	a.newWorkerMu.Lock()
	fns := make([]func(media.Worker), 0, len(a.newWorker))
	for _, fn := range a.newWorker {
		fns = append(fns, fn)
	}
	a.newWorkerMu.Unlock()
	for _, fn := range fns {
		fn(w)
	}
}

// New returns the media API of the servers dir holds. It watches dir
// until Close.
func New(dir Directory, opts *Options) *API {
	a := &API{dir: dir, members: map[string]*member{}}
	if opts != nil {
		a.opts = *opts
	}
	if a.opts.Place == nil {
		a.opts.Place = LeastLoaded
	}
	if a.opts.Logger == nil {
		a.opts.Logger = slog.Default()
	}
	a.log = a.opts.Logger
	ctx, cancel := context.WithCancel(context.Background())
	a.stop = cancel
	events := dir.Watch(ctx)
	a.wg.Go(func() { a.watch(events) })
	return a
}

// Close stops watching the directory and closes every connection to a
// server. It is idempotent.
func (a *API) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	members := a.takeMembersLocked()
	a.mu.Unlock()
	a.stop()
	a.wg.Wait()
	for _, m := range members {
		m.close()
	}
	return nil
}

func (a *API) takeMembersLocked() []*member {
	out := make([]*member, 0, len(a.members))
	for _, m := range a.members {
		out = append(out, m)
	}
	clear(a.members)
	return out
}

// SupportedRtpCapabilities returns what every server of this software
// supports.
func (a *API) SupportedRtpCapabilities() media.RtpCapabilities {
	return ortc.SupportedRtpCapabilities()
}

// CreateWorker creates a worker on the server Options.Place picks.
func (a *API) CreateWorker(ctx context.Context, settings *media.WorkerSettings) (media.Worker, error) {
	srv, err := a.place()
	if err != nil {
		return nil, err
	}
	return a.createOn(ctx, srv, settings)
}

// CreateWorkerOn creates a worker on the server with that id.
func (a *API) CreateWorkerOn(ctx context.Context, serverID string, settings *media.WorkerSettings) (media.Worker, error) {
	for _, s := range a.servers() {
		if s.ID == serverID {
			return a.createOn(ctx, s, settings)
		}
	}
	return nil, fmt.Errorf("create worker on %q: %w", serverID, ErrUnknownServer)
}

func (a *API) createOn(ctx context.Context, srv registry.Server, settings *media.WorkerSettings) (media.Worker, error) {
	m, err := a.member(ctx, srv)
	if err != nil {
		return nil, err
	}
	m.beginPlace()
	w, err := m.client.CreateWorker(ctx, settings)
	m.endPlace(w)
	if err != nil {
		return nil, fmt.Errorf("horizontal: create worker on %s: %w", srv.ID, err)
	}
	mw := m.worker(w)
	a.emitNewWorker(mw)
	return mw, nil
}

// Workers lists the workers of every server in the directory, dialling
// the servers not connected yet. A server that cannot be reached is left
// out and its error returned with the rest.
func (a *API) Workers(ctx context.Context) ([]media.Worker, error) {
	var out []media.Worker
	var errs []error
	for _, s := range a.servers() {
		m, err := a.member(ctx, s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, w := range m.client.Workers() {
			out = append(out, m.worker(w))
		}
	}
	return out, errors.Join(errs...)
}

// ServerOf returns the id of the server a worker or router of this API
// runs on.
func ServerOf(v any) (string, bool) {
	switch o := v.(type) {
	case *worker:
		return o.m.id, true
	case *router:
		return o.m.id, true
	}
	return "", false
}

// servers lists the candidates' records: the directory's view, and this
// server's own record with IncludeSelf.
func (a *API) servers() []registry.Server {
	out := a.dir.Servers()
	if sd, ok := a.dir.(selfDirectory); ok && a.opts.IncludeSelf {
		if self := sd.Self(); self.RopeURL != "" { // an observer's has none
			out = append(out, registry.Server{Record: self})
		}
	}
	return out
}

// place asks Options.Place among the servers that are not full.
func (a *API) place() (registry.Server, error) {
	servers := a.servers()
	candidates := make([]Candidate, 0, len(servers))
	a.mu.Lock()
	for _, s := range servers {
		c := Candidate{Server: s}
		if m := a.members[s.ID]; m != nil && m.incarnation == s.Incarnation {
			m.update(s.Record) // the record placement sees, which the watch may not have brought yet
			c.Placed = m.placed()
		}
		if !c.Full() {
			candidates = append(candidates, c)
		}
	}
	a.mu.Unlock()
	srv, ok := a.opts.Place(candidates)
	if !ok {
		return registry.Server{}, fmt.Errorf("%w (%d servers known)", ErrNoServer, len(servers))
	}
	return srv, nil
}

// watch follows the directory: a server that left or was lost is
// dropped; an updated record refreshes the member's.
func (a *API) watch(events <-chan registry.Event) {
	for ev := range events {
		switch ev.Kind {
		case registry.EventLeft:
			a.drop(ev.Server.Record, nil)
		case registry.EventLost:
			a.drop(ev.Server.Record, fmt.Errorf("%w: server %s lost", ErrServerGone, ev.Server.ID))
		case registry.EventJoined, registry.EventUpdated:
			a.refresh(ev.Server.Record)
		}
	}
}

// refresh gives a member its server's new record; a record of a new
// incarnation means the old one is gone.
func (a *API) refresh(rec registry.Record) {
	a.mu.Lock()
	m := a.members[rec.ID]
	a.mu.Unlock()
	switch {
	case m == nil:
	case m.incarnation != rec.Incarnation:
		a.drop(m.record(), fmt.Errorf("%w: server %s restarted", ErrServerGone, rec.ID))
	default:
		m.update(rec)
	}
}

// drop ends the member of that server incarnation, if the API has one:
// its workers died of cause, or closed (cause nil) when it left cleanly.
func (a *API) drop(rec registry.Record, cause error) {
	a.mu.Lock()
	m := a.members[rec.ID]
	if m == nil || m.incarnation != rec.Incarnation {
		a.mu.Unlock()
		return
	}
	delete(a.members, rec.ID)
	a.mu.Unlock()
	if cause == nil {
		a.log.Info("horizontal: server left, its workers closed", "server", rec.ID)
	} else {
		a.log.Info("horizontal: server gone, its workers died", "server", rec.ID, "cause", cause)
	}
	m.bury(cause)
}

// member returns the connected member of srv, dialling it on first use.
func (a *API) member(ctx context.Context, srv registry.Server) (*member, error) {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil, ErrClosed
	}
	m := a.members[srv.ID]
	var stale *member
	if m != nil && m.incarnation != srv.Incarnation {
		stale, m = m, nil
	}
	dial := m == nil
	if dial {
		m = newMember(a, srv.Record)
		a.members[srv.ID] = m
	}
	a.mu.Unlock()
	if stale != nil {
		stale.bury(fmt.Errorf("%w: server %s restarted", ErrServerGone, srv.ID))
	}
	if dial {
		a.dial(ctx, m)
	}
	select {
	case <-m.ready:
	case <-ctx.Done():
		return nil, fmt.Errorf("horizontal: connect to %s: %w", srv.ID, ctx.Err())
	}
	if m.err != nil {
		return nil, m.err
	}
	return m, nil
}

// dial connects m; on failure m leaves the API, so that a later call
// dials again.
func (a *API) dial(ctx context.Context, m *member) {
	c, err := mediaclient.Dial(ctx, m.record().RopeURL, a.opts.Media)
	if err != nil {
		a.mu.Lock()
		if a.members[m.id] == m {
			delete(a.members, m.id)
		}
		a.mu.Unlock()
		m.fail(fmt.Errorf("horizontal: connect to %s: %w", m.id, err))
		return
	}
	m.connected(c)
}
