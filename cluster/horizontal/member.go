package horizontal

import (
	"net"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/ropehq/rope/cluster/registry"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediaclient"
)

// member is one server incarnation the API uses: its connection and the
// wrappers of its workers and routers (one per remote object, so that a
// router compares equal however it was reached).
type member struct {
	api             *API
	id, incarnation string

	ready  chan struct{} // closed once the dial ended
	client *mediaclient.Client
	err    error

	// mu guards the fields below.
	mu       sync.Mutex
	rec      registry.Record
	creating int         // workers being created here
	created  []placement // workers created here, open, and when; oldest first
	gone     bool
	cause    error // why it went; nil: it left cleanly
	workers  map[media.Worker]*worker
	routers  map[media.Router]*router
}

// placement is a worker this API created on the server: its ROPE id, the
// id its server's record lists it under, and when.
type placement struct {
	w  media.Worker
	id string
	at time.Time
}

func newMember(api *API, rec registry.Record) *member {
	return &member{
		api: api, id: rec.ID, incarnation: rec.Incarnation, rec: rec.Clone(),
		ready:   make(chan struct{}),
		workers: map[media.Worker]*worker{},
		routers: map[media.Router]*router{},
	}
}

func (m *member) record() registry.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rec.Clone()
}

// update takes the server's new record, unless it is not newer than the
// one held.
func (m *member) update(rec registry.Record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if rec.Seq > m.rec.Seq {
		m.rec = rec.Clone()
	}
}

// beginPlace counts a worker being created on the server.
func (m *member) beginPlace() {
	m.mu.Lock()
	m.creating++
	m.mu.Unlock()
}

// endPlace ends the creation beginPlace counted; w is the worker created,
// nil if none.
func (m *member) endPlace(w media.Worker) {
	m.mu.Lock()
	m.creating--
	if w != nil {
		id := ""
		if x, ok := w.(interface{ ID() string }); ok {
			id = x.ID()
		}
		m.created = append(m.created, placement{w: w, id: id, at: time.Now()})
	}
	m.mu.Unlock()
}

// placed is the workers this API is creating on the server, and those it
// created, still open, that the server's record does not list (a server
// lists its workers under their ROPE ids, as the reference server does
// with in-process workers; its worker processes are listed as w1, w2, …).
// A worker created more than three heartbeat intervals ago no longer
// counts whatever the record says: a server that has sent no record
// since is lost, and one that lists its workers otherwise would have it
// counted twice. One that closed counts no more (its wrapper forgets it): before,
// each worker closed before a record showed it counted for ever.
func (m *member) placed() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := time.Now().Add(-3 * time.Duration(m.rec.IntervalMS) * time.Millisecond)
	m.created = slices.DeleteFunc(m.created, func(p placement) bool { return p.at.Before(seen) })
	listed := make(map[string]bool, len(m.rec.Workers))
	for _, w := range m.rec.Workers {
		listed[w.ID] = true
	}
	n := m.creating
	for _, p := range m.created {
		if p.id == "" || !listed[p.id] {
			n++
		}
	}
	return n
}

func (m *member) fail(err error) {
	m.err = err
	close(m.ready)
}

// connected ends the dial; a member buried meanwhile buries the new
// connection at once.
func (m *member) connected(c *mediaclient.Client) {
	m.client = c
	close(m.ready)
	m.mu.Lock()
	gone, cause := m.gone, m.cause
	m.mu.Unlock()
	if gone {
		m.end(cause)
	}
}

// bury marks the member gone and, once connected, closes everything that
// lived on the server with mediasoup's events: its workers "died" of
// cause, or (cause nil: the server left cleanly) just closed.
func (m *member) bury(cause error) {
	m.mu.Lock()
	if m.gone {
		m.mu.Unlock()
		return
	}
	m.gone, m.cause = true, cause
	m.mu.Unlock()
	select {
	case <-m.ready:
		m.end(cause)
	default: // connected will bury it
	}
}

func (m *member) end(cause error) {
	if m.client == nil {
		return
	}
	if cause == nil {
		m.client.Retire()
	} else {
		m.client.Bury(cause)
	}
	_ = m.client.Close()
}

// close closes the connection, leaving the server's objects.
func (m *member) close() {
	<-m.ready
	if m.client != nil {
		_ = m.client.Close()
	}
}

// worker returns the one wrapper of a worker of this server.
func (m *member) worker(inner media.Worker) *worker {
	return wrapperOf(m, m.workers, inner, func() *worker { return &worker{Worker: inner, m: m} }, func() {
		delete(m.workers, inner)
		m.created = slices.DeleteFunc(m.created, func(p placement) bool { return p.w == inner })
	})
}

// router returns the one wrapper of a router of this server.
func (m *member) router(inner media.Router) *router {
	return wrapperOf(m, m.routers, inner, func() *router { return &router{Router: inner, m: m} }, func() {
		delete(m.routers, inner)
	})
}

// closer is a remote object whose wrapper the member keeps.
type closer interface {
	comparable
	OnClose(func()) (off func())
}

// wrapperOf returns inner's one wrapper in table, making it with make on
// first use; forget runs, under m.mu, once inner closes.
func wrapperOf[I closer, W any](m *member, table map[I]W, inner I, make func() W, forget func()) W {
	m.mu.Lock()
	w, ok := table[inner]
	if !ok {
		w = make()
		table[inner] = w
	}
	m.mu.Unlock()
	if !ok {
		inner.OnClose(func() {
			m.mu.Lock()
			forget()
			m.mu.Unlock()
		})
	}
	return w
}

// mediaAddress is where other servers reach this server's media
// transports: the first announced media address, else the host of its
// ROPE URL.
func (m *member) mediaAddress() string {
	rec := m.record()
	if len(rec.MediaAddresses) > 0 {
		return rec.MediaAddresses[0]
	}
	if u, err := url.Parse(rec.RopeURL); err == nil {
		if host, _, err := net.SplitHostPort(u.Host); err == nil {
			return host
		}
		return u.Hostname()
	}
	return "127.0.0.1"
}

// listenInfo is where a pipe transport of this server listens: its media
// address, with the protocol asked for.
func (m *member) listenInfo(asked *media.TransportListenInfo) *media.TransportListenInfo {
	li := &media.TransportListenInfo{Protocol: media.ProtocolUDP, IP: m.mediaAddress()}
	if asked != nil && asked.Protocol != "" {
		li.Protocol = asked.Protocol
	}
	return li
}
