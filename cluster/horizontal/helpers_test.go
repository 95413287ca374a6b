package horizontal_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/ropehq/rope/cluster/horizontal"
	"github.com/ropehq/rope/cluster/natsutil"
	"github.com/ropehq/rope/cluster/registry"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/mediaclient"
	"github.com/ropehq/rope/media/mediaserver"
	"github.com/ropehq/rope/ropeclient"
	"github.com/ropehq/rope/ropeserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Registry timing for tests: short heartbeats, enough misses that a
// loaded -race run does not lose a live member.
const (
	testInterval = 100 * time.Millisecond
	testMisses   = 20
)

func startNATS(t *testing.T) *natsutil.Server {
	t.Helper()
	s, err := natsutil.StartServer(context.Background(), &natsutil.ServerOptions{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func connectNATS(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := natsutil.Connect(&natsutil.ConnectOptions{URLs: []string{url}, ReconnectWait: 20 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	wait.Until(t, "connected to NATS", nc.IsConnected)
	return nc
}

// member is one server of the test cluster: the engine served over ROPE
// on its own loopback address, in the registry over its own NATS
// connection.
type member struct {
	id  string
	ip  string
	url string
	nc  *nats.Conn
	reg *registry.Registry
	hs  *http.Server
	rs  *ropeserver.Server
	ms  *mediaserver.Server

	// mu guards open and unlisted.
	mu       sync.Mutex
	open     map[media.Worker]bool
	unlisted bool // the record lists no worker, as one sent before they came
}

// recordingAPI is a member's engine: it lists the member's open workers
// in its record, as a server does (placement counts on it).
type recordingAPI struct {
	media.API
	m *member
}

func (a recordingAPI) CreateWorker(ctx context.Context, s *media.WorkerSettings) (media.Worker, error) {
	w, err := a.API.CreateWorker(ctx, s)
	if err != nil {
		return nil, err
	}
	a.m.publish(w, true)
	w.OnClose(func() { a.m.publish(w, false) })
	return w, nil
}

// unlist stops listing the member's workers in its record, as a server
// whose workers come and go between two records.
func (m *member) unlist() {
	m.mu.Lock()
	m.unlisted = true
	m.mu.Unlock()
}

// publish updates the member's record with w open or closed.
func (m *member) publish(w media.Worker, open bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if open {
		m.open[w] = true
	} else {
		delete(m.open, w)
	}
	if m.unlisted {
		return
	}
	var ws []registry.Worker
	for w := range m.open {
		ws = append(ws, registry.Worker{ID: w.(interface{ ID() string }).ID()}) // its ROPE id
	}
	slices.SortFunc(ws, func(a, b registry.Worker) int { return strings.Compare(a.ID, b.ID) })
	_ = m.reg.Update(func(r *registry.Record) { r.Workers = ws })
}

// startMember starts a server with id on ip (127.0.0.2, 127.0.0.3, …),
// joined to the NATS server at natsURL.
func startMember(t *testing.T, natsURL, id, ip string) *member {
	t.Helper()
	m := &member{id: id, ip: ip, rs: ropeserver.New(&ropeserver.Options{Logger: quiet}), open: map[media.Worker]bool{}}
	var err error
	m.ms, err = mediaserver.Register(m.rs, recordingAPI{API: engine.New(nil), m: m}, &mediaserver.Options{Logger: quiet, AllowWorkerClose: true})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	m.hs = &http.Server{Handler: m.rs, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = m.hs.Serve(ln) }()
	m.url = "ws://" + ln.Addr().String() + "/"
	m.nc = connectNATS(t, natsURL)
	m.reg = join(t, m.nc, id, m.url, ip)
	t.Cleanup(m.stop)
	return m
}

func join(t *testing.T, nc *nats.Conn, id, url, ip string) *registry.Registry {
	t.Helper()
	r, err := registry.New(ctxT(t), nc, &registry.Options{
		ServerID: id, RopeURL: url, MediaAddresses: []string{ip},
		Interval: testInterval, Misses: testMisses, JoinWait: 100 * time.Millisecond, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	return r
}

// stop ends the server cleanly (goodbye). It is idempotent.
func (m *member) stop() {
	_ = m.reg.Close(context.Background())
	m.ms.Close(context.Background())
	m.rs.Close()
	_ = m.hs.Close()
}

// kill ends the server as a crash does: no goodbye, connections cut.
func (m *member) kill() {
	m.nc.Close()
	_ = m.hs.Close()
	m.rs.Close()
	m.ms.Close(context.Background())
	_ = m.reg.Close(context.Background())
}

// newAPI returns the horizontal API over dir, closed at the end.
func newAPI(t *testing.T, dir horizontal.Directory) *horizontal.API {
	t.Helper()
	api := horizontal.New(dir, &horizontal.Options{Logger: quiet,
		Media: &mediaclient.Options{Logger: quiet, ROPE: &ropeclient.Options{Logger: quiet, Dedicated: true}}})
	t.Cleanup(func() { _ = api.Close() })
	return api
}

// observer is the test's view of the cluster: a registry that watches
// only.
func observer(t *testing.T, natsURL string) *registry.Registry {
	t.Helper()
	r, err := registry.New(ctxT(t), connectNATS(t, natsURL), &registry.Options{
		Observer: true, Interval: testInterval, Misses: testMisses, JoinWait: 100 * time.Millisecond, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	return r
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait.Timeout)
	t.Cleanup(cancel)
	return ctx
}

// cluster starts NATS and n servers on 127.0.0.2, 127.0.0.3, …, and
// returns them with a view that sees them all.
func cluster(t *testing.T, n int) (*natsutil.Server, []*member, *registry.Registry) {
	t.Helper()
	ns := startNATS(t)
	var ms []*member
	for i := range n {
		ms = append(ms, startMember(t, ns.ClientURL(), "s"+string(rune('a'+i)), "127.0.0."+string(rune('2'+i))))
	}
	view := observer(t, ns.ClientURL())
	wait.Until(t, "every server in the view", func() bool { return len(view.Servers()) == n })
	return ns, ms, view
}
