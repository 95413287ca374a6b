package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ropehq/rope/cluster/registry"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/mafalda/mafaldaclient"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/mediaclient"
	"github.com/ropehq/rope/media/mediatest"
	"github.com/ropehq/rope/ropeclient"
)

// benchCluster is the processes BenchmarkCluster measures: two media
// servers (127.0.0.2 embedding NATS, 127.0.0.3, workers in their own
// process) and two cluster endpoints, one with -media-mode=mafalda
// (127.0.0.4) and one serving the media objects only (127.0.0.5).
type benchCluster struct {
	servers  []*process
	urls     []string // the servers' ROPE URLs
	mafalda  string   // the Mafalda endpoint's URL
	endpoint string   // the media endpoint's URL
	view     *registry.Registry
}

func startBenchCluster(b *testing.B) *benchCluster {
	bin := buildServer(b)
	// The endpoints close the workers their rooms leave idle: the servers
	// must let clients close workers.
	common := []string{"-port", "0", "-cluster", "-workers", "in-process", "-allow-worker-close"}
	a := startProcess(b, bin, append([]string{"-listen", "127.0.0.2", "-nats-listen", "127.0.0.2:0"}, common...)...)
	natsURL := a.loggedValue(b, `msg="ropeserver: embedded NATS listening"`, "url=")
	c := &benchCluster{servers: []*process{a, startProcess(b, bin, append([]string{"-listen", "127.0.0.3", "-nats", natsURL}, common...)...)}}
	for _, p := range c.servers {
		c.urls = append(c.urls, p.stdoutValue(b, "ropeserver: listening on "))
	}
	// 4 consumers fill a worker: a room of 8 consumers spreads over two.
	em := startProcess(b, bin, append([]string{"-listen", "127.0.0.4", "-nats", natsURL, "-cluster-endpoint",
		"-media-mode", "mafalda", "-max-consumers-per-worker", "4"}, common...)...)
	ep := startProcess(b, bin, append([]string{"-listen", "127.0.0.5", "-nats", natsURL, "-cluster-endpoint"}, common...)...)
	c.mafalda, c.endpoint = em.stdoutValue(b, "ropeserver: listening on "), ep.stdoutValue(b, "ropeserver: listening on ")
	for _, e := range []*process{em, ep} {
		for _, u := range c.urls {
			wait.Until(b, "the endpoints see both servers", func() bool {
				return e.logged(`msg="registry: server joined"`, "peer="+defaultServerID(u))
			})
		}
	}
	c.view = observe(b, natsURL)
	wait.Until(b, "both servers in the view", func() bool { return len(c.view.Servers()) == 2 })
	return c
}

// idle waits until the servers' records show no worker (the last room's
// closed), so that placement, by load then worker count, spreads.
func (c *benchCluster) idle(b *testing.B) {
	wait.Until(b, "no worker left on the servers", func() bool {
		for _, s := range c.view.Servers() {
			if len(s.Workers) > 0 || s.Load > 0 {
				return false
			}
		}
		return true
	})
}

// BenchmarkCluster measures, on real processes, one room across two
// servers against the same room on one (RoomForward) and the latency of
// createWebRtcTransport on a server reached through a cluster endpoint
// against the same server dialled directly (Placement). It builds and
// starts ropeserver; run it alone, with a short -benchtime.
func BenchmarkCluster(b *testing.B) {
	c := startBenchCluster(b)
	b.Run("RoomForward", func(b *testing.B) {
		for _, servers := range []int{1, 2} {
			b.Run(fmt.Sprintf("servers=%d", servers), func(b *testing.B) { benchRoomForward(b, c, servers) })
		}
	})
	b.Run("Placement", func(b *testing.B) { benchPlacement(b, c) })
}

// fwdConsumers is the room's consumers: a worker takes 4 (the Mafalda
// endpoint's -max-consumers-per-worker), so a room of two workers has 4
// on each and one pipe between them.
const fwdConsumers = 8

// fwdRate is the source's packets/s in the paced runs: 16,000 forwarded
// packets/s with 8 consumers, below what either room saturates at here.
const fwdRate = 2000

// benchRoomForward forwards one producer to fwdConsumers consumers of a
// Mafalda room of the cluster endpoint, on one worker (servers=1) or on
// a worker on each server (servers=2, the producer piped to the second).
// The source and the consumers' sinks are in this process; the CPU is
// the server processes' (from /proc), and both endpoints stay idle on
// the media path. "max" sends as fast as the slowest consumer keeps up
// (window of 256); "rate" sends fwdRate packets/s.
func benchRoomForward(b *testing.B, c *benchCluster, servers int) {
	c.idle(b)
	ctx := ctxT(b)
	mc, err := mafaldaclient.Dial(ctx, c.mafalda, &mafaldaclient.Options{Media: &mediaclient.Options{Logger: quiet,
		ROPE: &ropeclient.Options{Logger: quiet, Dedicated: true}}})
	if err != nil {
		b.Fatal(err)
	}
	defer mc.Close()
	room := must[mafalda.Router](b)(mc.CreateRouter(ctx, &mafalda.MafaldaRouterOptions{MaxWorkers: mafalda.Int(servers),
		RouterOptions: media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()}}))
	defer room.Close(context.Background())
	r := newFwdRoom(b, room)
	defer r.close()
	on := map[string]bool{}
	dump := must[*mafalda.Dump](b)(mc.Dump(ctx))
	wait.Until(b, "the room's workers in the servers' records", func() bool {
		clear(on)
		for _, w := range dump.Workers {
			on[serverOf(c.view, w.PID)] = true
		}
		return !on[""]
	})
	if len(dump.Workers) != servers || len(on) != servers {
		b.Fatalf("the room has %d workers on servers %v, want %d", len(dump.Workers), on, servers)
	}
	r.send(b, 20, 20, 0) // warm up: a key frame through every path
	wait.Until(b, "warm-up packets at every consumer", func() bool { return r.slowest() >= 20 })
	for _, pace := range []struct {
		name         string
		window, rate int
	}{{"max", 256, 0}, {"rate=" + strconv.Itoa(fwdRate), 0, fwdRate}} {
		b.Run(pace.name, func(b *testing.B) { r.measure(b, c, pace.window, pace.rate) })
	}
}

// fwdRoom is the room's producer and its consumers' sinks.
type fwdRoom struct {
	src   *net.UDPConn
	to    *net.UDPAddr
	sinks []*udpSink
	wg    sync.WaitGroup
	sent  int
}

func newFwdRoom(b *testing.B, room media.Router) *fwdRoom {
	ctx := ctxT(b)
	r := &fwdRoom{}
	var err error
	if r.src, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
		b.Fatal(err)
	}
	in := plainToPort(b, room, r.src.LocalAddr().(*net.UDPAddr).Port)
	r.to = &net.UDPAddr{IP: net.ParseIP(in.Tuple().LocalAddress), Port: int(in.Tuple().LocalPort)}
	prod := must[media.Producer](b)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(2222)}))
	for range fwdConsumers {
		s := newUDPSink(b, &r.wg)
		r.sinks = append(r.sinks, s)
		tr := plainToPort(b, room, s.port())
		must[media.Consumer](b)(tr.Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
	}
	return r
}

// plainToPort creates a plain transport where the room places it (its
// server's address) sending to port on 127.0.0.1.
func plainToPort(b testing.TB, r media.Router, port int) media.PlainTransport {
	tr := must[media.PlainTransport](b)(r.CreatePlainTransport(ctxT(b), &media.PlainTransportOptions{}))
	if err := tr.Connect(ctxT(b), &media.PlainTransportConnectOptions{IP: "127.0.0.1", Port: uint16(port)}); err != nil {
		b.Fatal(err)
	}
	return tr
}

func (r *fwdRoom) close() {
	r.src.Close()
	for _, s := range r.sinks {
		s.conn.Close()
	}
	r.wg.Wait()
}

func (r *fwdRoom) total() int64 {
	var n int64
	for _, s := range r.sinks {
		n += s.n.Load()
	}
	return n
}

func (r *fwdRoom) slowest() int64 {
	least := r.sinks[0].n.Load()
	for _, s := range r.sinks[1:] {
		least = min(least, s.n.Load())
	}
	return least
}

// measure sends b.N packets and reports what the consumers received and
// what the servers' processes spent.
func (r *fwdRoom) measure(b *testing.B, c *benchCluster, window, rate int) {
	base := r.total()
	cpu0 := c.serversCPU(b)
	start := time.Now()
	b.ResetTimer()
	r.send(b, b.N, window, rate)
	want := int64(b.N * fwdConsumers)
	deadline := time.Now().Add(time.Second)
	for r.total()-base < want && time.Now().Before(deadline) {
		time.Sleep(100 * time.Microsecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	got := r.total() - base
	cpu := c.serversCPU(b) - cpu0
	b.ReportMetric(float64(got)/elapsed.Seconds(), "fwd-pkts/s")
	b.ReportMetric(100*float64(got)/float64(want), "delivered-%")
	if got > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(got), "cpu-µs/pkt")
	}
	b.ReportMetric(100*cpu.Seconds()/elapsed.Seconds(), "servers-cpu-%")
}

// send sends n VP8 packets of 1,000 bytes (a key frame every 100): with
// rate > 0 paced at rate packets/s, else keeping at most window packets
// in flight to the slowest consumer (a window that does not drain in
// 20 ms counts as loss and sending goes on).
func (r *fwdRoom) send(b *testing.B, n, window, rate int) {
	pkt := make([]byte, 12+1000)
	pkt[0], pkt[1] = 0x80, 101
	binary.BigEndian.PutUint32(pkt[8:], 2222)
	pkt[12] = 0x10
	base, start := r.slowest(), time.Now()
	for i := range n {
		switch {
		case rate > 0:
			for due := time.Duration(i) * time.Second / time.Duration(rate); time.Since(start) < due; {
				time.Sleep(200 * time.Microsecond)
			}
		case i >= window && i%16 == 0:
			deadline := time.Now().Add(20 * time.Millisecond)
			for r.slowest()-base < int64(i-window) && time.Now().Before(deadline) {
				time.Sleep(50 * time.Microsecond)
			}
		}
		seq := r.sent
		r.sent++
		binary.BigEndian.PutUint16(pkt[2:], uint16(seq))
		binary.BigEndian.PutUint32(pkt[4:], uint32(seq/3)*3000)
		pkt[13] = 0x01
		if seq%100 == 0 {
			pkt[13] = 0x00 // VP8 key frame
		}
		if _, err := r.src.WriteToUDP(pkt, r.to); err != nil {
			b.Fatal(err)
		}
	}
}

// serversCPU is the CPU time the media servers' processes used so far.
func (c *benchCluster) serversCPU(b *testing.B) time.Duration {
	var sum time.Duration
	for _, p := range c.servers {
		d, err := processCPU(p.cmd.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		sum += d
	}
	return sum
}

// processCPU reads a process's user and system time from /proc (in
// clock ticks of 10 ms, USER_HZ on Linux).
func processCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // from field 3, state
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	var ticks int64
	for _, f := range fields[11:13] { // utime, stime: fields 14 and 15
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += v
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// udpSink counts the RTP packets arriving on a loopback socket.
type udpSink struct {
	conn *net.UDPConn
	n    atomic.Int64
}

func newUDPSink(b testing.TB, wg *sync.WaitGroup) *udpSink {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	_ = conn.SetReadBuffer(4 << 20)
	s := &udpSink{conn: conn}
	wg.Go(func() {
		buf := make([]byte, 2048)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			if n >= 12 && (buf[1] < 192 || buf[1] > 223) { // RTP, not RTCP
				s.n.Add(1)
			}
		}
	})
	return s
}

func (s *udpSink) port() int { return s.conn.LocalAddr().(*net.UDPAddr).Port }

// benchPlacement measures createWebRtcTransport (and its close) on a
// router: of an engine in this process (no ROPE), of a server dialled
// directly (one ROPE hop), of a server through the media endpoint (two
// hops: the endpoint forwards to the server over its own ROPE
// connection), of a Mafalda room of the Mafalda endpoint (two hops and
// the room's placement on its router), and of a new room (placing a
// worker and a router on a server first). create-ms is the create call
// alone.
func benchPlacement(b *testing.B, c *benchCluster) {
	codecs := &media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()}
	b.Run("in-process", func(b *testing.B) {
		api := engine.New(nil)
		w := must[media.Worker](b)(api.CreateWorker(ctxT(b), nil))
		defer w.Close(context.Background())
		benchCreateTransport(b, must[media.Router](b)(w.CreateRouter(ctxT(b), codecs)),
			[]media.TransportListenInfo{{Protocol: media.ProtocolUDP, IP: "127.0.0.1"}})
	})
	for _, hop := range []struct{ name, url string }{{"direct", c.urls[0]}, {"endpoint", c.endpoint}} {
		b.Run(hop.name, func(b *testing.B) {
			api, err := mediaclient.Dial(ctxT(b), hop.url, &mediaclient.Options{Logger: quiet,
				ROPE: &ropeclient.Options{Logger: quiet, Dedicated: true}})
			if err != nil {
				b.Fatal(err)
			}
			defer api.Close()
			w := must[media.Worker](b)(api.CreateWorker(ctxT(b), nil))
			defer w.Close(context.Background())
			benchCreateTransport(b, must[media.Router](b)(w.CreateRouter(ctxT(b), codecs)), nil)
		})
	}
	b.Run("endpoint-room", func(b *testing.B) {
		mc, err := mafaldaclient.Dial(ctxT(b), c.mafalda, &mafaldaclient.Options{Media: &mediaclient.Options{Logger: quiet,
			ROPE: &ropeclient.Options{Logger: quiet, Dedicated: true}}})
		if err != nil {
			b.Fatal(err)
		}
		defer mc.Close()
		room := must[mafalda.Router](b)(mc.CreateRouter(ctxT(b), &mafalda.MafaldaRouterOptions{RouterOptions: *codecs}))
		defer room.Close(context.Background())
		// One transport holds the room's router, which would close with
		// its last transport.
		must[media.WebRtcTransport](b)(room.CreateWebRtcTransport(ctxT(b), &media.WebRtcTransportOptions{}))
		benchCreateTransport(b, room, nil)
	})
	b.Run("endpoint-new-room", func(b *testing.B) {
		c.idle(b)
		mc, err := mafaldaclient.Dial(ctxT(b), c.mafalda, &mafaldaclient.Options{Media: &mediaclient.Options{Logger: quiet,
			ROPE: &ropeclient.Options{Logger: quiet, Dedicated: true}}})
		if err != nil {
			b.Fatal(err)
		}
		defer mc.Close()
		benchFirstTransport(b, mc, codecs)
	})
}

// benchFirstTransport creates b.N rooms and the first WebRTC transport of
// each, which places a worker on a server and a router on it, then closes
// the room (its worker closes). create-ms is the transport's creation.
func benchFirstTransport(b *testing.B, mc *mafaldaclient.Client, codecs *media.RouterOptions) {
	ctx := ctxT(b)
	var creating time.Duration
	b.ResetTimer()
	for range b.N {
		room := must[mafalda.Router](b)(mc.CreateRouter(ctx, &mafalda.MafaldaRouterOptions{RouterOptions: *codecs}))
		t0 := time.Now()
		if _, err := room.CreateWebRtcTransport(ctx, &media.WebRtcTransportOptions{}); err != nil {
			b.Fatal(err)
		}
		creating += time.Since(t0)
		if err := room.Close(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(creating.Microseconds())/1000/float64(b.N), "create-ms")
}

// benchCreateTransport creates and closes b.N WebRTC transports on r.
func benchCreateTransport(b *testing.B, r media.Router, listen []media.TransportListenInfo) {
	ctx := ctxT(b)
	var creating time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		tr, err := r.CreateWebRtcTransport(ctx, &media.WebRtcTransportOptions{ListenInfos: listen})
		if err != nil {
			b.Fatal(err)
		}
		creating += time.Since(t0)
		if err := tr.Close(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(creating.Microseconds())/1000/float64(b.N), "create-ms")
}
