package main

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/ropehq/rope/cluster/horizontal"
	"github.com/ropehq/rope/cluster/natsutil"
	"github.com/ropehq/rope/cluster/registry"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediaclient"
	"github.com/ropehq/rope/media/mediaserver"
	"github.com/ropehq/rope/media/mediatest"
	"github.com/ropehq/rope/ropeclient"
)

// growthWindow is how long BenchmarkClusterGrowth watches the idle room's
// control traffic.
const growthWindow = 3 * time.Second

// BenchmarkClusterGrowth counts what one room costs as the cluster grows:
// 2, 4 and 8 servers (this command's server run in this process, each on
// its own loopback address, workers in-process, heartbeats every second),
// each with a worker, a producer and a viewer consuming every producer.
// The room is a Mafalda room over the horizontal API (its default pipe
// tree, fanout 4) or routers piped to each other directly
// (pipeToRouter from each producer's router into every other). It
// reports the pipe transports and the UDP ports open on the servers'
// addresses, the ROPE requests and messages back of the cluster client
// while setting the room up, and once idle the ROPE requests per second
// and the NATS messages published per second (each delivered to every
// server and observer). Run it alone: go test -run '^$'
// -bench BenchmarkClusterGrowth ./cmd/ropeserver/.
func BenchmarkClusterGrowth(b *testing.B) {
	for _, n := range []int{2, 4, 8} {
		b.Run(fmt.Sprintf("servers=%d", n), func(b *testing.B) {
			g := startGrowthCluster(b, n)
			for _, mode := range []string{"mafalda-tree", "direct"} {
				b.Run("pipes="+mode, func(b *testing.B) {
					for range b.N {
						g.measure(b, mode)
					}
				})
			}
		})
	}
}

// growthCluster is n servers of this process on one NATS server.
type growthCluster struct {
	n     int
	ips   map[string]bool
	urls  []string
	view  *registry.Registry
	sink  *net.UDPConn // where every plain transport sends
	natsN atomic.Int64 // messages published under rope.cluster.v1.
}

func startGrowthCluster(b *testing.B, n int) *growthCluster {
	ns, err := natsutil.StartServer(context.Background(), &natsutil.ServerOptions{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(ns.Close)
	g := &growthCluster{n: n, ips: map[string]bool{}}
	for i := range n {
		ip := fmt.Sprintf("127.0.0.%d", 2+i)
		g.ips[ip] = true
		_, url := startRun(b, "-listen", ip, "-cluster", "-nats", ns.ClientURL(), "-workers", "in-process", "-allow-worker-close")
		g.urls = append(g.urls, url)
	}
	g.view = observe(b, ns.ClientURL())
	wait.Until(b, "every server in the view", func() bool { return len(g.view.Servers()) == n })
	nc, err := natsutil.Connect(&natsutil.ConnectOptions{URLs: []string{ns.ClientURL()}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	if _, err := nc.Subscribe("rope.cluster.v1.>", func(*nats.Msg) { g.natsN.Add(1) }); err != nil {
		b.Fatal(err)
	}
	if g.sink, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { g.sink.Close() })
	return g
}

// fewestWorkers places a worker on the server with the fewest: the
// servers share this process, so the loads in their records (its CPU)
// say nothing about each.
func fewestWorkers(cands []horizontal.Candidate) (registry.Server, bool) {
	if len(cands) == 0 {
		return registry.Server{}, false
	}
	best := slices.MinFunc(cands, func(a, b horizontal.Candidate) int {
		return cmp.Or(cmp.Compare(a.Workers(), b.Workers()), cmp.Compare(a.Server.ID, b.Server.ID))
	})
	return best.Server, true
}

// measure builds the room in mode, counts, and tears it down.
func (g *growthCluster) measure(b *testing.B, mode string) {
	wait.Until(b, "no port left open on the servers by the last room", func() bool { return g.udpPorts(b) == 0 })
	rc := &ropeCounter{}
	api := horizontal.New(g.view, &horizontal.Options{Place: fewestWorkers, Logger: quiet,
		Media: &mediaclient.Options{Logger: quiet, ROPE: &ropeclient.Options{Logger: quiet, Dedicated: true, HTTPClient: rc.client()}}})
	defer api.Close()
	var teardown func()
	switch mode {
	case "mafalda-tree":
		teardown = g.mafaldaRoom(b, api)
	case "direct":
		teardown = g.directRoom(b, api)
	}
	setupReqs, setupMsgs := rc.requests.Load(), rc.messages.Load()
	pipes := g.pipeTransports(b)
	ports := g.udpPorts(b)

	reqs0, nats0 := rc.requests.Load(), g.natsN.Load()
	start := time.Now()
	time.Sleep(growthWindow) // the idle room's control traffic
	window := time.Since(start).Seconds()
	b.ReportMetric(float64(pipes), "pipe-transports")
	b.ReportMetric(float64(ports), "udp-ports")
	b.ReportMetric(float64(setupReqs), "setup-rope-reqs")
	b.ReportMetric(float64(setupMsgs), "setup-rope-msgs-in")
	b.ReportMetric(float64(rc.requests.Load()-reqs0)/window, "idle-rope-reqs/s")
	b.ReportMetric(float64(g.natsN.Load()-nats0)/window, "nats-msgs/s")
	teardown()
}

// roomSide is a server's part of the room: a producer, and a viewer
// that consumes every producer.
type roomSide struct {
	producer media.Producer
	viewer   media.PlainTransport
}

// side creates, on r, a producer's plain transport and producer and a
// viewer's plain transport consuming it.
func (g *growthCluster) side(b *testing.B, r media.Router, ssrc uint32) roomSide {
	ctx := ctxT(b)
	port := uint16(g.sink.LocalAddr().(*net.UDPAddr).Port)
	in := must[media.PlainTransport](b)(r.CreatePlainTransport(ctx, &media.PlainTransportOptions{}))
	if err := in.Connect(ctx, &media.PlainTransportConnectOptions{IP: "127.0.0.1", Port: port}); err != nil {
		b.Fatal(err)
	}
	s := roomSide{producer: must[media.Producer](b)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo,
		RtpParameters: mediatest.VP8Parameters(ssrc)}))}
	s.viewer = must[media.PlainTransport](b)(r.CreatePlainTransport(ctx, &media.PlainTransportOptions{}))
	if err := s.viewer.Connect(ctx, &media.PlainTransportConnectOptions{IP: "127.0.0.1", Port: port}); err != nil {
		b.Fatal(err)
	}
	s.consume(b, s.producer)
	return s
}

func (s roomSide) consume(b *testing.B, p media.Producer) {
	must[media.Consumer](b)(s.viewer.Consume(ctxT(b), &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
}

// mafaldaRoom makes one Mafalda room over the cluster: a worker carrying
// one consumer is full, so each server's producer and viewer land on a
// new worker, placed on the next server; then every viewer consumes every
// other producer, which Mafalda pipes along its tree.
func (g *growthCluster) mafaldaRoom(b *testing.B, api *horizontal.API) func() {
	ctx := ctxT(b)
	m := mafalda.New(api, &mafalda.Options{CPUs: g.n, MaxConsumersPerWorker: 1,
		LoadFunc: func(context.Context, media.Worker) (float64, error) { return 0, nil }})
	room := must[*mafalda.MafaldaRouter](b)(m.CreateMafaldaRouter(ctx, &mafalda.MafaldaRouterOptions{MaxWorkers: mafalda.Int(g.n),
		RouterOptions: media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()}}))
	var sides []roomSide
	for i := range g.n {
		sides = append(sides, g.side(b, room, uint32(1000+i)))
	}
	servers := map[string]bool{}
	for _, w := range m.Workers() {
		id, _ := horizontal.ServerOf(w)
		servers[id] = true
	}
	if len(servers) != g.n || len(m.Workers()) != g.n {
		b.Fatalf("the room has %d workers on %d servers, want one on each of %d", len(m.Workers()), len(servers), g.n)
	}
	consumeAll(b, sides)
	return func() {
		if err := m.Close(context.Background()); err != nil {
			b.Error(err)
		}
	}
}

// directRoom makes a router on a worker of each server and pipes every
// producer from its router into every other.
func (g *growthCluster) directRoom(b *testing.B, api *horizontal.API) func() {
	ctx := ctxT(b)
	var workers []media.Worker
	var routers []media.Router
	var sides []roomSide
	for i, s := range g.view.Servers() {
		w := must[media.Worker](b)(api.CreateWorkerOn(ctx, s.ID, nil))
		workers = append(workers, w)
		r := must[media.Router](b)(w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()}))
		routers = append(routers, r)
		sides = append(sides, g.side(b, r, uint32(1000+i)))
	}
	for i, s := range sides {
		for j, r := range routers {
			if i != j {
				if _, err := routers[i].PipeToRouter(ctx, &media.PipeToRouterOptions{ProducerID: s.producer.ID(), Router: r}); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	consumeAll(b, sides)
	return func() {
		for _, w := range workers {
			if err := w.Close(context.Background()); err != nil {
				b.Error(err)
			}
		}
	}
}

// consumeAll makes every viewer consume every other side's producer.
func consumeAll(b *testing.B, sides []roomSide) {
	for i, s := range sides {
		for j, o := range sides {
			if i != j {
				s.consume(b, o.producer)
			}
		}
	}
}

// pipeTransports counts the pipe transports on the servers, through a
// connection of its own to each.
func (g *growthCluster) pipeTransports(b *testing.B) int {
	n := 0
	for _, u := range g.urls {
		rc, err := ropeclient.Dial(ctxT(b), u, &ropeclient.Options{Logger: quiet, NoReconnect: true, Dedicated: true})
		if err != nil {
			b.Fatal(err)
		}
		for _, o := range rc.Objects() {
			if o.Type() == mediaserver.TypePipeTransport {
				n++
			}
		}
		rc.Close()
	}
	return n
}

// udpPorts counts this process's UDP sockets bound to the servers'
// addresses (/proc/self/net/udp rows whose inode is one of its fds).
func (g *growthCluster) udpPorts(b *testing.B) int {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		b.Fatal(err)
	}
	mine := map[string]bool{}
	for _, fd := range fds {
		if l, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && strings.HasPrefix(l, "socket:[") {
			mine[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	table, err := os.ReadFile("/proc/self/net/udp")
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, row := range strings.Split(string(table), "\n")[1:] {
		f := strings.Fields(row)
		if len(f) < 10 || !mine[f[9]] {
			continue
		}
		hexIP, _, _ := strings.Cut(f[1], ":")
		raw, err := hex.DecodeString(hexIP)
		if err != nil || len(raw) != 4 {
			continue
		}
		v := binary.BigEndian.Uint32(raw) // the address's bytes as a host-order (little-endian) number
		if g.ips[net.IPv4(byte(v), byte(v>>8), byte(v>>16), byte(v>>24)).String()] {
			n++
		}
	}
	return n
}

// ropeCounter counts the WebSocket data frames of the connections its
// client dials: requests (client to server: calls) and messages (server
// to client: responses and state notifications).
type ropeCounter struct {
	requests, messages atomic.Int64
}

func (c *ropeCounter) client() *http.Client {
	var d net.Dialer
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countingConn{Conn: conn, out: frameCounter{n: &c.requests}, in: frameCounter{n: &c.messages}}, nil
	}}}
}

// countingConn feeds what it reads and writes to frame counters. A
// WebSocket connection has one reader and serialises its writes.
type countingConn struct {
	net.Conn
	rmu, wmu sync.Mutex
	out, in  frameCounter
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.rmu.Lock()
	c.in.feed(p[:n])
	c.rmu.Unlock()
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.wmu.Lock()
	c.out.feed(p[:n])
	c.wmu.Unlock()
	return n, err
}

// frameCounter follows one direction of a WebSocket connection: the HTTP
// upgrade up to its blank line, then frames (RFC 6455 §5.2), counting
// those that start a text or binary message.
type frameCounter struct {
	n        *atomic.Int64
	upgraded bool
	crlf     int    // of "\r\n\r\n" seen at the end of the HTTP head
	head     []byte // the frame header read so far
	skip     uint64 // payload bytes left of the current frame
}

func (f *frameCounter) feed(p []byte) {
	for len(p) > 0 {
		switch {
		case !f.upgraded:
			c := p[0]
			p = p[1:]
			switch {
			case (c == '\r' && f.crlf%2 == 0) || (c == '\n' && f.crlf%2 == 1):
				f.crlf++
			case c == '\r':
				f.crlf = 1
			default:
				f.crlf = 0
			}
			f.upgraded = f.crlf == 4
		case f.skip > 0:
			k := min(f.skip, uint64(len(p)))
			f.skip -= k
			p = p[k:]
		default:
			f.head = append(f.head, p[0])
			p = p[1:]
			f.frameHead()
		}
	}
}

// frameHead ends the frame header once it is whole.
func (f *frameCounter) frameHead() {
	if len(f.head) < 2 {
		return
	}
	need, size := 2, uint64(f.head[1]&0x7f)
	switch size {
	case 126:
		need += 2
	case 127:
		need += 8
	}
	if f.head[1]&0x80 != 0 {
		need += 4 // mask
	}
	if len(f.head) < need {
		return
	}
	switch size {
	case 126:
		size = uint64(binary.BigEndian.Uint16(f.head[2:]))
	case 127:
		size = binary.BigEndian.Uint64(f.head[2:])
	}
	if op := f.head[0] & 0x0f; op == 1 || op == 2 {
		f.n.Add(1)
	}
	f.skip, f.head = size, f.head[:0]
}
