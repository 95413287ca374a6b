package registry_test

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/ropehq/rope/cluster/natsutil"
	"github.com/ropehq/rope/cluster/registry"
	"github.com/ropehq/rope/internal/wait"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Test timing: short heartbeats, and enough misses that a loaded -race
// run does not lose a live member.
const (
	testInterval = 50 * time.Millisecond
	testMisses   = 10
)

func startNATS(t *testing.T, o *natsutil.ServerOptions) *natsutil.Server {
	t.Helper()
	s, err := natsutil.StartServer(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func connect(t *testing.T, urls ...string) *nats.Conn {
	t.Helper()
	nc, err := natsutil.Connect(&natsutil.ConnectOptions{URLs: urls, ReconnectWait: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	wait.Until(t, "connected to NATS", nc.IsConnected)
	return nc
}

// join makes a member id over nc with test timing; it leaves at the end
// of the test (Close is idempotent, so a test may close it earlier).
func join(t *testing.T, nc *nats.Conn, id string, tweak ...func(*registry.Options)) *registry.Registry {
	t.Helper()
	o := &registry.Options{
		ServerID: id, RopeURL: "ws://127.0.0.1:8444/" + id, MediaAddresses: []string{"127.0.0.1"},
		Interval: testInterval, Misses: testMisses, JoinWait: 200 * time.Millisecond, Logger: quiet,
	}
	for _, f := range tweak {
		f(o)
	}
	r, err := registry.New(ctxT(t), nc, o)
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

func ids(r *registry.Registry) []string {
	var out []string
	for _, s := range r.Servers() {
		out = append(out, s.ID)
	}
	return out
}

func sees(r *registry.Registry, id string) bool {
	_, ok := r.Server(id)
	return ok
}

// waitEvent reads events until one of kind for server id arrives.
func waitEvent(t *testing.T, ch <-chan registry.Event, kind registry.EventKind, id string) registry.Event {
	t.Helper()
	timeout := time.After(wait.Timeout)
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("watch closed waiting for %s %s", id, kind)
			}
			if e.Kind == kind && e.Server.ID == id {
				return e
			}
		case <-timeout:
			t.Fatalf("timed out waiting for %s %s", id, kind)
		}
	}
}

// port is the port of a nats:// URL.
func port(t *testing.T, u string) int {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(pu.Port())
	if err != nil {
		t.Fatal(err)
	}
	return p
}
