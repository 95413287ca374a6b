package natsutil_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/ropehq/rope/cluster/natsutil"
	"github.com/ropehq/rope/internal/wait"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func start(t *testing.T, o *natsutil.ServerOptions) *natsutil.Server {
	t.Helper()
	s, err := natsutil.StartServer(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func connect(t *testing.T, o *natsutil.ConnectOptions) *nats.Conn {
	t.Helper()
	nc, err := natsutil.Connect(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// roundTrip checks that a message published on pub reaches sub.
func roundTrip(t *testing.T, pub, sub *nats.Conn) {
	t.Helper()
	s, err := sub.SubscribeSync("natsutil.test")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Unsubscribe()
	if err := sub.Flush(); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, "a message across", func() bool {
		_ = pub.Publish("natsutil.test", []byte("hi"))
		m, err := s.NextMsg(20 * time.Millisecond)
		return err == nil && string(m.Data) == "hi"
	})
}

func TestServerOnRandomLoopbackPort(t *testing.T) {
	s := start(t, nil)
	if !strings.HasPrefix(s.ClientURL(), "nats://127.0.0.1:") || strings.HasSuffix(s.ClientURL(), ":4222") {
		t.Fatalf("client URL %s, want a random loopback port", s.ClientURL())
	}
	if s.RouteURL() != "" {
		t.Fatalf("route URL %q without a cluster", s.RouteURL())
	}
	nc := connect(t, &natsutil.ConnectOptions{URLs: []string{s.ClientURL()}})
	wait.Until(t, "connected", nc.IsConnected)
	roundTrip(t, nc, nc)
	s.Close()
	s.Close() // idempotent
}

func TestServerRequiresItsToken(t *testing.T) {
	s := start(t, &natsutil.ServerOptions{Token: "s3cret"})
	if _, err := nats.Connect(s.ClientURL(), nats.Token("wrong")); err == nil {
		t.Fatal("connected with a wrong token")
	}
	nc := connect(t, &natsutil.ConnectOptions{URLs: []string{s.ClientURL()}, Token: "s3cret"})
	wait.Until(t, "connected with the token", nc.IsConnected)
}

func TestServerUserAndPassword(t *testing.T) {
	s := start(t, &natsutil.ServerOptions{User: "rope", Password: "pw"})
	nc := connect(t, &natsutil.ConnectOptions{URLs: []string{s.ClientURL()}, User: "rope", Password: "pw"})
	wait.Until(t, "connected with user and password", nc.IsConnected)
}

// TestClusterOfThree forms a NATS cluster of three embedded servers on
// loopback ports and checks that messages cross it.
func TestClusterOfThree(t *testing.T) {
	a := start(t, &natsutil.ServerOptions{Name: "a", Cluster: &natsutil.ClusterOptions{}})
	if !strings.HasPrefix(a.RouteURL(), "nats-route://127.0.0.1:") {
		t.Fatalf("route URL %q", a.RouteURL())
	}
	b := start(t, &natsutil.ServerOptions{Name: "b", Cluster: &natsutil.ClusterOptions{Routes: []string{a.RouteURL()}}})
	c := start(t, &natsutil.ServerOptions{Name: "c", Cluster: &natsutil.ClusterOptions{Routes: []string{a.RouteURL()}}})
	for _, s := range []*natsutil.Server{a, b, c} {
		wait.Until(t, "routes to both other nodes", func() bool { return s.Peers() == 2 })
	}
	ncB := connect(t, &natsutil.ConnectOptions{URLs: []string{b.ClientURL()}})
	ncC := connect(t, &natsutil.ConnectOptions{URLs: []string{c.ClientURL()}})
	roundTrip(t, ncB, ncC)
}

func TestBadOptions(t *testing.T) {
	_, err := natsutil.StartServer(context.Background(), &natsutil.ServerOptions{Cluster: &natsutil.ClusterOptions{Routes: []string{"::"}}})
	if err == nil || !strings.Contains(err.Error(), "route") {
		t.Fatalf("bad route: %v", err)
	}
	if _, err := natsutil.Connect(&natsutil.ConnectOptions{}); !errors.Is(err, natsutil.ErrNoURL) {
		t.Fatalf("no URL: %v", err)
	}
}

// TestConnectRetriesUntilTheServerComes: Connect returns at once when no
// server is up, and connects once one is.
func TestConnectRetriesUntilTheServerComes(t *testing.T) {
	probe := start(t, nil)
	url := probe.ClientURL()
	port := url[strings.LastIndex(url, ":")+1:]
	probe.Close()
	nc := connect(t, &natsutil.ConnectOptions{URLs: []string{url}, ReconnectWait: 20 * time.Millisecond})
	if nc.IsConnected() {
		t.Fatal("connected with no server")
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	start(t, &natsutil.ServerOptions{Port: p})
	wait.Until(t, "connected once the server is up", nc.IsConnected)
}

// TestPortInUse: a server that cannot listen fails at once, saying why.
func TestPortInUse(t *testing.T) {
	a := start(t, nil)
	u := a.ClientURL()
	p, _ := strconv.Atoi(u[strings.LastIndex(u, ":")+1:])
	t0 := time.Now()
	_, err := natsutil.StartServer(context.Background(), &natsutil.ServerOptions{Port: p})
	if !errors.Is(err, natsutil.ErrNotReady) || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("second server on %d: %v", p, err)
	}
	if time.Since(t0) > natsutil.DefaultReadyTimeout/2 {
		t.Fatalf("took %s to fail", time.Since(t0))
	}
}
