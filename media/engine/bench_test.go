package engine_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/internal/udpio"
)

// The forwarding benchmark runs the RTP sender and the receivers in a
// child process (this test binary in peer mode), so that the getrusage
// CPU time of the benchmark process is the engine's alone, as when
// measuring mediasoup's worker.

const (
	peerEnv       = "ROPE_BENCH_PEER"
	peerReceivers = 8
	benchSSRC     = 4242
)

// benchRates are source packets per second per fan-out: forwarded
// packets/s stay well below saturation (mediasoup saturates near 124k/s
// on this kind of machine).
var benchRates = map[int]int{1: 2000, 10: 2000, 100: 300, 500: 60}

func BenchmarkForward(b *testing.B) {
	for _, n := range []int{1, 10, 100, 500} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) { benchForward(b, n, benchRates[n], 1, false) })
	}
}

// BenchmarkForwardBWE is BenchmarkForward with send-side bandwidth
// estimation running on every consumer's transport: the consumers
// negotiated transport-cc, so each packet gets its transport's
// transport-wide sequence number and goes into its send history, and the
// receivers (the peer process) answer with transport-cc feedback every
// 100 ms that the estimator reads.
func BenchmarkForwardBWE(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) { benchForward(b, n, benchRates[n], 1, true) })
	}
}

// BenchmarkForwardBWEInterleaved compares forwarding without and with
// the estimator running (BenchmarkForward against BenchmarkForwardBWE)
// in alternating rounds of one run, so that both modes see the same
// machine load; est-kbps is the estimate of one consumer's transport at
// the end (above the initial 600 when the feedback reached it).
func BenchmarkForwardBWEInterleaved(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		for round := 1; round <= 2; round++ {
			for _, bwe := range []bool{false, true} {
				b.Run(fmt.Sprintf("N=%d/round=%d/bwe=%v", n, round, bwe), func(b *testing.B) { benchForward(b, n, benchRates[n], 1, bwe) })
			}
		}
	}
}

// BenchmarkForwardBursty sends the same average rate in bursts of 10
// back-to-back packets, as video frames arrive: the read batch then holds
// several packets and each consumer sends them with one sendmmsg.
func BenchmarkForwardBursty(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) { benchForward(b, n, benchRates[n], 10, false) })
	}
}

func benchForward(b *testing.B, n, rate, burst int, bwe bool) {
	ctx := context.Background()
	peer := startPeer(b)
	api := engine.New(nil)
	w := must[media.Worker](b)(api.CreateWorker(ctx, nil))
	defer w.Close(ctx)
	r := must[media.Router](b)(w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: mediaCodecs()}))
	in := must[media.PlainTransport](b)(r.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: &media.TransportListenInfo{IP: lo}}))
	if err := in.Connect(ctx, &media.PlainTransportConnectOptions{IP: lo, Port: peer.senderPort}); err != nil {
		b.Fatal(err)
	}
	p := must[media.Producer](b)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: vp8Params(benchSSRC)}))
	caps, twccID := consumerCaps(false), uint8(0)
	if bwe {
		caps, twccID = bweCaps(r)
	}
	var first media.PlainTransport
	for i := 0; i < n; i++ {
		tr := must[media.PlainTransport](b)(r.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: &media.TransportListenInfo{IP: lo}}))
		if err := tr.Connect(ctx, &media.PlainTransportConnectOptions{IP: lo, Port: peer.receiverPorts[i%len(peer.receiverPorts)]}); err != nil {
			b.Fatal(err)
		}
		must[media.Consumer](b)(tr.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps}))
		if first == nil {
			first = tr
		}
	}
	runtime.GC()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0, sw0 := processCPU(), voluntarySwitches()
	b.ResetTimer()
	received := peer.run(b, in.Tuple().LocalPort, b.N, rate, n, burst, twccID)
	b.StopTimer()
	cpu, sw := processCPU()-cpu0, voluntarySwitches()-sw0
	runtime.ReadMemStats(&ms1)
	forwarded := float64(b.N * n)
	if received > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(received), "cpu-µs/pkt")
		b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(received), "allocs/pkt")
		// Wake-ups (threads giving up the CPU to wait) per source packet:
		// less noisy than CPU time on a loaded machine.
		b.ReportMetric(float64(sw)/float64(b.N), "vcsw/in-pkt")
	}
	b.ReportMetric(100*float64(received)/forwarded, "delivered-%")
	b.ReportMetric(0, "ns/op")
	if st, err := first.GetStats(ctx); bwe && err == nil && st[0].AvailableOutgoingBitrate != nil {
		b.ReportMetric(float64(*st[0].AvailableOutgoingBitrate)/1000, "est-kbps")
	}
}

// voluntarySwitches is the process's voluntary context switches so far.
func voluntarySwitches() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Nvcsw
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peer is the child process: one sender socket, peerReceivers sinks.
type peer struct {
	cmd           *exec.Cmd
	stdin         io.WriteCloser
	out           *bufio.Scanner
	senderPort    uint16
	receiverPorts []uint16
}

func startPeer(b *testing.B) *peer {
	b.Helper()
	cmd, stdin, out := startChild(b, peerEnv)
	p := &peer{cmd: cmd, stdin: stdin, out: out}
	if !p.out.Scan() {
		b.Fatal("peer did not start")
	}
	ports := strings.Fields(p.out.Text())
	for i, s := range ports {
		v, _ := strconv.Atoi(s)
		if i == 0 {
			p.senderPort = uint16(v)
		} else {
			p.receiverPorts = append(p.receiverPorts, uint16(v))
		}
	}
	return p
}

// startChild starts this test binary as a benchmark's peer process, with
// env set to 1 so that its TestMain serves that peer; the child ends when
// its stdin closes, at the end of the benchmark.
func startChild(b *testing.B, env string) (*exec.Cmd, io.WriteCloser, *bufio.Scanner) {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	return cmd, stdin, bufio.NewScanner(stdout)
}

// run makes the peer send count packets at rate to port and returns how
// many packets its receivers got (count*n expected).
func (p *peer) run(b *testing.B, port uint16, count, rate, n, burst int, twccID uint8) int {
	fmt.Fprintf(p.stdin, "%d %d %d %d %d %d\n", port, count, rate, count*n, burst, twccID)
	if !p.out.Scan() {
		b.Fatal("peer died")
	}
	got, _ := strconv.Atoi(p.out.Text())
	return got
}

// runPeer is the child's main: print ports, then serve run requests.
func runPeer() {
	ip := netip.MustParseAddr(lo)
	snd, err := udpio.Listen("udp4", ip, 0)
	if err != nil {
		panic(err)
	}
	var received atomic.Int64
	var twccID atomic.Uint32
	var wg sync.WaitGroup
	ports := []string{strconv.Itoa(int(snd.LocalAddr().Port()))}
	var sinks []*udpio.Conn
	for i := 0; i < peerReceivers; i++ {
		c, err := udpio.Listen("udp4", ip, 0)
		if err != nil {
			panic(err)
		}
		sinks = append(sinks, c)
		ports = append(ports, strconv.Itoa(int(c.LocalAddr().Port())))
		wg.Add(1)
		go sink(c, &received, &twccID, &wg)
	}
	fmt.Println(strings.Join(ports, " "))
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var port, count, rate, expected, burst, id int
		fmt.Sscan(in.Text(), &port, &count, &rate, &expected, &burst, &id)
		twccID.Store(uint32(id))
		received.Store(0)
		peerSend(snd, netip.AddrPortFrom(ip, uint16(port)), count, rate, burst)
		waitQuiet(&received, int64(expected))
		fmt.Println(received.Load())
	}
	for _, c := range append(sinks, snd) {
		c.Close()
	}
	wg.Wait()
}

// sink counts the RTP it receives and, when twccID is set, answers each
// sending transport with transport-cc feedback every 100 ms.
func sink(c *udpio.Conn, received *atomic.Int64, twccID *atomic.Uint32, wg *sync.WaitGroup) {
	defer wg.Done()
	ms := make([]udpio.Message, 64)
	for i := range ms {
		ms[i].Buf = make([]byte, 1500)
	}
	recorders := map[netip.AddrPort]*twcc.Recorder{}
	lastFeedback := time.Now()
	for {
		n, err := c.ReadBatch(ms)
		if err != nil {
			return
		}
		id := uint8(twccID.Load())
		for i := 0; i < n; i++ {
			if ms[i].N > 12 && ms[i].Buf[1] < 192 {
				if ms[i].Buf[8] != 0 || ms[i].Buf[9] != 0 || ms[i].Buf[10] != 0x04 || ms[i].Buf[11] != 0xd2 {
					received.Add(1) // not a probation packet (SSRC 1234)
				}
				if id != 0 {
					recordTWCC(recorders, ms[i], id)
				}
			}
		}
		if id != 0 && time.Since(lastFeedback) >= 100*time.Millisecond {
			lastFeedback = time.Now()
			for addr, rec := range recorders {
				if b, err := rtcp.Marshal(rec.BuildFeedbackPacket()); err == nil && len(b) > 0 {
					_ = c.WriteTo(b, addr)
				}
			}
		}
	}
}

func recordTWCC(recorders map[netip.AddrPort]*twcc.Recorder, m udpio.Message, id uint8) {
	var h rtp.Header
	if _, err := h.Unmarshal(m.Buf[:m.N]); err != nil {
		return
	}
	ext := h.GetExtension(id)
	if len(ext) != 2 {
		return
	}
	rec := recorders[m.Addr]
	if rec == nil {
		rec = twcc.NewRecorder(1)
		recorders[m.Addr] = rec
	}
	rec.Record(h.SSRC, uint16(ext[0])<<8|uint16(ext[1]), time.Now().UnixMicro())
}

var peerSeq uint16

func peerSend(c *udpio.Conn, to netip.AddrPort, count, rate, burst int) {
	start := time.Now()
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, SSRC: benchSSRC}, Payload: make([]byte, 1000)}
	pkt.Payload[0] = 0x10
	buf := make([]byte, 1500)
	for i := 0; i < count; i++ {
		if due := start.Add(time.Duration(i-i%burst) * time.Second / time.Duration(rate)); time.Until(due) > 0 {
			time.Sleep(time.Until(due))
		}
		pkt.SequenceNumber = peerSeq
		pkt.Timestamp = uint32(peerSeq) * 3000
		pkt.Payload[1] = 1
		if peerSeq == 0 || i == 0 {
			pkt.Payload[1] = 0 // key frame
		}
		peerSeq++
		n, _ := pkt.MarshalTo(buf)
		_ = c.WriteTo(buf[:n], to)
	}
}

// waitQuiet waits until expected packets arrived or nothing arrived for
// 200 ms.
func waitQuiet(received *atomic.Int64, expected int64) {
	last, lastChange := received.Load(), time.Now()
	for received.Load() < expected && time.Since(lastChange) < 200*time.Millisecond {
		time.Sleep(time.Millisecond)
		if v := received.Load(); v != last {
			last, lastChange = v, time.Now()
		}
	}
}
