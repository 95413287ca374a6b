package mafalda_test

import (
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediatest"
)

// sink counts the RTP packets arriving on a loopback socket.
type sink struct {
	conn *net.UDPConn
	n    atomic.Int64
}

func newSink(b *testing.B, wg *sync.WaitGroup) *sink {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	_ = conn.SetReadBuffer(4 << 20)
	s := &sink{conn: conn}
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 2048)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			if n >= 12 && (buf[1] < 192 || buf[1] > 223) {
				s.n.Add(1)
			}
		}
	}()
	return s
}

// benchRoom is one producer and its consumers, each on its own plain
// transport, over one or two workers.
type benchRoom struct {
	src   *net.UDPConn
	in    media.PlainTransport
	sinks []*sink
	wg    sync.WaitGroup
}

// newBenchRoom places the room with a Mafalda newM makes: the local
// engine's (newMafalda) or worker processes' (newProcMafalda).
func newBenchRoom(b *testing.B, newM func(testing.TB, *mafalda.Options) *mafalda.Mafalda, workers, consumers int) *benchRoom {
	ctx := ctxFor(b)
	limit := 0
	if workers > 1 {
		limit = consumers / workers
	}
	m := newM(b, &mafalda.Options{CPUs: workers, LoadFunc: zeroLoad, MaxConsumersPerWorker: limit})
	mr := newRoom(b, m, 0)
	r := &benchRoom{}
	var err error
	if r.src, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
		b.Fatal(err)
	}
	r.in = plainToPort(b, mr, uint16(r.src.LocalAddr().(*net.UDPAddr).Port))
	prod := must[media.Producer](b)(r.in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(2222)}))
	for i := 0; i < consumers; i++ {
		s := newSink(b, &r.wg)
		r.sinks = append(r.sinks, s)
		tr := plainToPort(b, mr, uint16(s.conn.LocalAddr().(*net.UDPAddr).Port))
		must[media.Consumer](b)(tr.Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
	}
	if n := len(m.Workers()); n != workers {
		b.Fatalf("%d workers, want %d", n, workers)
	}
	b.Cleanup(r.close)
	return r
}

func (r *benchRoom) close() {
	r.src.Close()
	for _, s := range r.sinks {
		s.conn.Close()
	}
	r.wg.Wait()
}

func plainToPort(b testing.TB, mr *mafalda.MafaldaRouter, port uint16) media.PlainTransport {
	ctx := ctxFor(b)
	tr := must[media.PlainTransport](b)(mr.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: listenInfo()}))
	if err := tr.Connect(ctx, &media.PlainTransportConnectOptions{IP: "127.0.0.1", Port: port}); err != nil {
		b.Fatal(err)
	}
	return tr
}

// slowest returns the packets received by the sink that received fewest.
func (r *benchRoom) slowest() int64 {
	least := r.sinks[0].n.Load()
	for _, s := range r.sinks[1:] {
		least = min(least, s.n.Load())
	}
	return least
}

func (r *benchRoom) total() int64 {
	var n int64
	for _, s := range r.sinks {
		n += s.n.Load()
	}
	return n
}

// send sends n VP8 packets (a key frame every 100) keeping at most window
// packets in flight to the slowest consumer; a window that does not
// drain in 20ms counts as loss and sending goes on.
func (r *benchRoom) send(b *testing.B, n, window int) {
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(r.in.Tuple().LocalPort)}
	pkt := make([]byte, 12+600)
	pkt[0], pkt[1] = 0x80, 101
	binary.BigEndian.PutUint32(pkt[8:], 2222)
	pkt[12] = 0x10
	for i := 0; i < n; i++ {
		if i >= window && i%16 == 0 {
			deadline := time.Now().Add(20 * time.Millisecond)
			for r.slowest() < int64(i-window) && time.Now().Before(deadline) {
				time.Sleep(50 * time.Microsecond)
			}
		}
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		binary.BigEndian.PutUint32(pkt[4:], uint32(i/3)*3000)
		pkt[13] = 0x01
		if i%100 == 0 {
			pkt[13] = 0x00
		}
		if _, err := r.src.WriteToUDP(pkt, to); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRoomForward forwards one producer to 8 consumers of one room
// placed on one worker or spread over two (4 each, one pipe). fwd-pkts/s
// is packets delivered to consumers per second, delivered-% of those
// expected. With the local engine both workers share this process.
func BenchmarkRoomForward(b *testing.B) { benchRoomForward(b, newMafalda) }

// BenchmarkRoomForwardProcesses is BenchmarkRoomForward with every worker
// a child process (media/workerproc): the producer's process forwards to
// its 4 consumers and the pipe, the second process to the other 4. The
// figures count only packets the consumers' sockets received; the ratio
// of workers=2 to workers=1 is what a second process buys a room (given
// as many free cores: the load generator and sinks run in this process).
func BenchmarkRoomForwardProcesses(b *testing.B) { benchRoomForward(b, newProcMafalda) }

func benchRoomForward(b *testing.B, newM func(testing.TB, *mafalda.Options) *mafalda.Mafalda) {
	const consumers = 8
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			r := newBenchRoom(b, newM, workers, consumers)
			r.send(b, 10, 10) // warm up: key frame through every path
			wait.Until(b, "warm-up packets", func() bool { return r.slowest() >= 10 })
			base := r.total()
			b.ResetTimer()
			start := time.Now()
			r.send(b, b.N, 256)
			want := int64(b.N * consumers)
			deadline := time.Now().Add(time.Second)
			for r.total()-base < want && time.Now().Before(deadline) {
				time.Sleep(100 * time.Microsecond)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			got := r.total() - base
			b.ReportMetric(float64(got)/elapsed.Seconds(), "fwd-pkts/s")
			b.ReportMetric(100*float64(got)/float64(want), "delivered-%")
		})
	}
}
