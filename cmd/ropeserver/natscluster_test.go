package main

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ropehq/rope/cluster/natsutil"
	"github.com/ropehq/rope/cluster/registry"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediaclient"
	"github.com/ropehq/rope/media/mediatest"
	"github.com/ropehq/rope/ropeclient"
)

// natsNode is one node of the test's NATS cluster, with the ports it
// bound so that it can come back on them.
type natsNode struct {
	name                  string
	srv                   *natsutil.Server
	clientURL, routeURL   string
	clientPort, routePort int
}

// startNATSCluster starts three embedded NATS servers on loopback ports,
// joined by routes (b and c route to a), and waits until each has routes
// to both others.
func startNATSCluster(t *testing.T) []*natsNode {
	t.Helper()
	var nodes []*natsNode
	for _, name := range []string{"a", "b", "c"} {
		var routes []string
		if len(nodes) > 0 {
			routes = []string{nodes[0].routeURL}
		}
		nodes = append(nodes, startNATSNode(t, name, 0, 0, routes))
	}
	waitMesh(t, nodes)
	return nodes
}

// startNATSNode starts a node on the given ports (0: free ones).
func startNATSNode(t *testing.T, name string, clientPort, routePort int, routes []string) *natsNode {
	t.Helper()
	s, err := natsutil.StartServer(context.Background(), &natsutil.ServerOptions{Name: name, Port: clientPort,
		Cluster: &natsutil.ClusterOptions{Port: routePort, Routes: routes}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &natsNode{name: name, srv: s, clientURL: s.ClientURL(), routeURL: s.RouteURL(),
		clientPort: urlPort(t, s.ClientURL()), routePort: urlPort(t, s.RouteURL())}
}

func urlPort(t *testing.T, raw string) int {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return p
}

// waitMesh waits until every node has routes to every other.
func waitMesh(t *testing.T, nodes []*natsNode) {
	t.Helper()
	for _, n := range nodes {
		wait.Until(t, "NATS node "+n.name+" routed to the others", func() bool { return n.srv.Peers() == len(nodes)-1 })
	}
}

// restart brings a stopped node back on its ports, routed to others.
func (n *natsNode) restart(t *testing.T, others []*natsNode) {
	t.Helper()
	var routes []string
	for _, o := range others {
		routes = append(routes, o.routeURL)
	}
	back := startNATSNode(t, n.name, n.clientPort, n.routePort, routes)
	n.srv = back.srv
}

// rotate lists the URLs starting with the i-th, so that each server names
// a different node first.
func rotate(urls []string, i int) string {
	i %= len(urls)
	return strings.Join(append(slices.Clone(urls[i:]), urls[:i]...), ",")
}

// link is a producer on one router piped to another, and the consumer
// there that a test endpoint receives through.
type link struct {
	src, dst *mediatest.Endpoint
	in       media.PlainTransport
	consumer media.Consumer
	vp8      *mediatest.VP8Sender
	sent     int
}

// pipeLink produces VP8 (SSRC ssrc) on from, pipes it to to and consumes
// it there.
func pipeLink(t *testing.T, from, to media.Router, ssrc uint32) *link {
	t.Helper()
	ctx := ctxT(t)
	l := &link{src: mediatest.NewEndpoint(t), dst: mediatest.NewEndpoint(t), vp8: &mediatest.VP8Sender{SSRC: ssrc, PT: 101}}
	l.in = plainTo(t, from, l.src)
	prod := must[media.Producer](t)(l.in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(ssrc)}))
	if _, err := from.PipeToRouter(ctx, &media.PipeToRouterOptions{ProducerID: prod.ID(), Router: to}); err != nil {
		t.Fatal(err)
	}
	out := plainTo(t, to, l.dst)
	l.consumer = must[media.Consumer](t)(out.Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
	return l
}

// flows sends 10 packets and waits until the consumer's endpoint has them
// all.
func (l *link) flows(t *testing.T, what string) {
	t.Helper()
	for range 10 {
		l.src.Send(l.in.Tuple(), l.vp8.Next(t, l.sent == 0, 500))
		l.sent++
	}
	ssrc := l.consumer.RtpParameters().Encodings[0].SSRC
	wait.Until(t, what, func() bool { return len(l.dst.RTP(ssrc)) == l.sent })
}

// TestClusterOnNATSCluster runs three media servers (127.0.0.2, .3, .4)
// and a cluster endpoint (127.0.0.5) as processes on a NATS cluster of
// three nodes that the test runs (cluster/natsutil, routes on loopback);
// each server is given the three URLs, its own node first. A Go program
// on the endpoint gets a worker on each server and RTP crosses a pipe.
// Then the node carrying most servers stops: those connected to it
// reconnect to the others, an observer sees every server's heartbeats
// again, no worker dies, the pipe goes on, and a new worker is placed and
// piped to. Then that node comes back and the other two stop: every
// connection drops and comes back on it, with the same outcome.
func TestClusterOnNATSCluster(t *testing.T) {
	bin := buildServer(t)
	nodes := startNATSCluster(t)
	var urls []string
	for _, n := range nodes {
		urls = append(urls, n.clientURL)
	}
	common := []string{"-port", "0", "-cluster", "-workers", "in-process"}
	var servers []*process
	var ids []string
	for i, ip := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"} {
		p := startProcess(t, bin, append([]string{"-listen", ip, "-nats", rotate(urls, i)}, common...)...)
		servers = append(servers, p)
		ids = append(ids, defaultServerID(p.stdoutValue(t, "ropeserver: listening on ")))
	}
	e := startProcess(t, bin, append([]string{"-listen", "127.0.0.5", "-nats", strings.Join(urls, ","), "-cluster-endpoint"}, common...)...)
	urlE := e.stdoutValue(t, "ropeserver: listening on ")
	wait.Until(t, "the endpoint sees the three servers", func() bool {
		return e.logged(`msg="registry: server joined"`, "peer="+ids[0]) &&
			e.logged(`msg="registry: server joined"`, "peer="+ids[1]) && e.logged(`msg="registry: server joined"`, "peer="+ids[2])
	})
	view := observe(t, strings.Join(urls, ","))
	wait.Until(t, "the observer sees the three servers", func() bool { return len(view.Servers()) == 3 })

	api, err := mediaclient.Dial(ctxT(t), urlE, &mediaclient.Options{Logger: quiet,
		ROPE: &ropeclient.Options{Logger: quiet, Dedicated: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	routers := routerPerServer(t, api, view, ids)
	died := make(chan error, 8)
	for _, r := range routers {
		r.w.OnDied(func(err error) { died <- err })
	}
	old := pipeLink(t, routers[ids[0]].r, routers[ids[1]].r, 4444)
	old.flows(t, "RTP from 127.0.0.2 at a consumer on 127.0.0.3")

	// The node carrying most servers (every server logs where it connected).
	on := map[string][]int{}
	for i, p := range servers {
		u := p.loggedValue(t, `msg="nats: connected"`, "url=")
		on[u] = append(on[u], i)
	}
	down := slices.MaxFunc(nodes, func(a, b *natsNode) int { return len(on[a.clientURL]) - len(on[b.clientURL]) })
	t.Logf("stopping NATS node %s, which servers %v use", down.name, on[down.clientURL])
	down.srv.Close()
	for _, i := range on[down.clientURL] {
		wait.Until(t, ids[i]+" reconnected to another node", func() bool {
			return servers[i].logged(`msg="nats: reconnected"`) && !servers[i].logged(`msg="nats: reconnected"`, "url="+down.clientURL)
		})
	}
	heartbeatsAgain(t, view, ids)
	old.flows(t, "RTP across the pipe with a NATS node gone")
	placeAndPipe(t, api, view, routers[ids[0]].r, 5555)

	// The node comes back; the two others stop: every connection moves to it.
	var others []*natsNode
	for _, n := range nodes {
		if n != down {
			others = append(others, n)
		}
	}
	down.restart(t, others)
	waitMesh(t, nodes)
	for _, n := range others {
		n.srv.Close()
	}
	for i, p := range append(slices.Clone(servers), e) {
		what := "the endpoint"
		if i < len(ids) {
			what = ids[i]
		}
		wait.Until(t, what+" back on the node that came back", func() bool {
			return p.logged(`msg="nats: reconnected"`, "url="+down.clientURL)
		})
	}
	heartbeatsAgain(t, view, ids)
	old.flows(t, "RTP across the pipe after NATS came back")
	placeAndPipe(t, api, view, routers[ids[0]].r, 6666)
	select {
	case err := <-died:
		t.Fatalf("a worker died while NATS nodes went: %v", err)
	default:
	}
}

// placed is a worker the endpoint placed and a router on it.
type placed struct {
	w media.Worker
	r media.Router
}

// routerPerServer creates workers through the endpoint until each server
// of ids has one (placement spreads them), with a router on each.
func routerPerServer(t *testing.T, api media.API, view *registry.Registry, ids []string) map[string]placed {
	t.Helper()
	out := map[string]placed{}
	for range ids {
		w := must[media.Worker](t)(api.CreateWorker(ctxT(t), nil))
		var srv string
		wait.Until(t, "the worker in a server's record", func() bool { srv = serverOf(view, w.PID()); return srv != "" })
		if _, dup := out[srv]; dup {
			t.Fatalf("two workers on %s: placement did not spread", srv)
		}
		out[srv] = placed{w: w, r: must[media.Router](t)(w.CreateRouter(ctxT(t), &media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()}))}
	}
	return out
}

// heartbeatsAgain waits until the observer holds every server with two
// records newer than those it held when called.
func heartbeatsAgain(t *testing.T, view *registry.Registry, ids []string) {
	t.Helper()
	mark := map[string]uint64{}
	for _, s := range view.Servers() {
		mark[s.ID] = s.Seq
	}
	for _, id := range ids {
		wait.Until(t, "fresh heartbeats of "+id, func() bool {
			s, ok := view.Server(id)
			return ok && s.Seq >= mark[id]+2
		})
	}
}

// placeAndPipe places a new worker through the endpoint and pipes a new
// producer on from to a router on it.
func placeAndPipe(t *testing.T, api media.API, view *registry.Registry, from media.Router, ssrc uint32) {
	t.Helper()
	w := must[media.Worker](t)(api.CreateWorker(ctxT(t), nil))
	wait.Until(t, "the new worker in a server's record", func() bool { return serverOf(view, w.PID()) != "" })
	r := must[media.Router](t)(w.CreateRouter(ctxT(t), &media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()}))
	pipeLink(t, from, r, ssrc).flows(t, "RTP to a router on a worker placed now")
}
