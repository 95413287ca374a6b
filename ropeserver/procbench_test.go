package ropeserver_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeserver"
	"github.com/ropehq/rope/ropeserver/fixture"
)

// These benchmarks keep the clients in a child process (this test binary,
// started with peerEnv set), so the figures hold the server's CPU and
// memory only, as a deployment sees them.

// peerEnv makes TestMain run the benchmark peer instead of the tests.
const peerEnv = "ROPESERVER_BENCH_PEER"

// benchPeer is the child process holding the benchmark's connections.
type benchPeer struct {
	stdin io.WriteCloser
	out   *bufio.Scanner
}

func startPeer(b *testing.B) *benchPeer {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), peerEnv+"=1")
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
	return &benchPeer{stdin: stdin, out: bufio.NewScanner(stdout)}
}

// dial makes the peer open n connections to url and read their rope.init.
func (p *benchPeer) dial(b *testing.B, url string, n int) {
	b.Helper()
	fmt.Fprintf(p.stdin, "%s %d\n", url, n)
	if line := p.line(b); line != "ok" {
		b.Fatalf("peer: %s", line)
	}
}

// line returns the peer's next output line.
func (p *benchPeer) line(b *testing.B) string {
	b.Helper()
	if !p.out.Scan() {
		b.Fatal("peer died")
	}
	return p.out.Text()
}

// runPeer is the child's main. Each stdin line "url n" opens n connections
// that read rope.init, answer "ok", then count what they receive; each time
// every connection has received one more message, the peer prints the
// number of such rounds. It exits when stdin closes.
func runPeer() {
	var (
		received atomic.Int64
		total    atomic.Int64 // connections open
		outMu    sync.Mutex
		out      = bufio.NewWriter(os.Stdout)
	)
	say := func(s string) {
		outMu.Lock()
		out.WriteString(s + "\n")
		out.Flush()
		outMu.Unlock()
	}
	ctx, cancel := context.WithCancel(context.Background())
	var readers sync.WaitGroup
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var url string
		var n int
		if _, err := fmt.Sscan(in.Text(), &url, &n); err != nil {
			say("bad command: " + err.Error())
			continue
		}
		if err := dialPeers(ctx, url, n, &readers, func() {
			if got := received.Add(1); got%total.Load() == 0 {
				say(strconv.FormatInt(got/total.Load(), 10))
			}
		}); err != nil {
			say(err.Error())
			continue
		}
		total.Add(int64(n))
		say("ok")
	}
	cancel()
	readers.Wait()
}

func dialPeers(ctx context.Context, url string, n int, readers *sync.WaitGroup, onMessage func()) error {
	for range n {
		ws, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			return err
		}
		ws.SetReadLimit(rope.ClientReadLimit)
		if _, _, err := ws.Read(ctx); err != nil { // rope.init
			return err
		}
		readers.Go(func() {
			defer ws.CloseNow()
			for {
				if _, _, err := ws.Read(ctx); err != nil {
					return
				}
				onMessage()
			}
		})
	}
	return nil
}

// BenchmarkFanout1000Process measures one state change reaching the last
// of 1,000 connections held by another process: the time per operation is
// from the change to the last delivery; server-cpu-ms/op is the server's
// CPU per change.
func BenchmarkFanout1000Process(b *testing.B) {
	const clients = 1000
	srv, url := benchServer(b, nil)
	root, _ := srv.Object(fixture.RootID)
	counter, err := srv.Create(fixture.TypeCounter, &ropeserver.ObjectOptions{Parent: root, Props: map[string]any{"value": 0}})
	if err != nil {
		b.Fatal(err)
	}
	p := startPeer(b)
	p.dial(b, url, clients)
	b.ReportAllocs()
	cpu := processCPU()
	i := 0
	for b.Loop() {
		i++
		if err := counter.SetProp("value", i); err != nil {
			b.Fatal(err)
		}
		if got := p.line(b); got != strconv.Itoa(i) {
			b.Fatalf("peer reports round %s, want %d", got, i)
		}
	}
	b.ReportMetric(float64(b.N*clients)/b.Elapsed().Seconds(), "deliveries/s")
	// The server's CPU (user and system: the kernel's TCP work included),
	// steadier than the time on a shared machine.
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N)/1e6, "server-cpu-ms/op")
}

// processCPU is the CPU time this process has used, in nanoseconds.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkIdleConnMemory measures the server's memory per idle
// connection: live heap and goroutine stacks, after a GC, with 1,000
// connections held by another process, minus the same without them. The
// figure is the B/conn metric, measured once whatever -benchtime says;
// the time per operation means nothing.
func BenchmarkIdleConnMemory(b *testing.B) {
	const clients = 1000
	_, url := benchServer(b, nil)
	p := startPeer(b)
	before := liveBytes()
	p.dial(b, url, clients)
	after := liveBytes()
	for b.Loop() {
	}
	b.ReportMetric(float64(after-before)/clients, "B/conn")
}

// liveBytes is the heap in use by live objects plus goroutine stacks,
// after a full collection.
func liveBytes() int64 {
	var m runtime.MemStats
	for range 2 {
		runtime.GC()
	}
	time.Sleep(100 * time.Millisecond) // let just-started goroutines park
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc + m.StackInuse)
}
