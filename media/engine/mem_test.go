package engine

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/pion/rtp"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/evloop"
	"github.com/ropehq/rope/media/internal/rtppkt"
)

// memFigures is what one plain transport and one consumer on it cost, on
// average over many: live heap bytes after a GC and goroutine stack
// bytes, for the transport alone and for the consumer once packets have
// gone through it.
type memFigures struct {
	transportHeap, transportStack float64
	consumerHeap, consumerStack   float64
	goroutines                    float64
	// rss is the growth of the process's resident set (Linux; 0
	// elsewhere), which counts only the pages touched.
	rss float64
}

// rssBytes reads the process's resident set size (0 if unknown).
func rssBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// memSample is the live heap and the stacks in use, after a full GC.
func memSample() (heap, stack uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc, ms.StackInuse
}

// directFeed is a worker with one router and a VP8 producer (NACK
// negotiated, as bench-forward's fan-out) on a DirectTransport, fed by
// the test as the worker's read batches would be.
type directFeed struct {
	w     media.Worker
	r     media.Router
	p     media.Producer
	codec media.RtpCodecCapability
	src   *transport
	seq   uint16
}

// newDirectFeed builds a directFeed on a worker with opts (nil: defaults).
func newDirectFeed(tb testing.TB, opts *Options) *directFeed {
	tb.Helper()
	ctx := context.Background()
	w, err := New(opts).CreateWorker(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { w.Close(ctx) })
	nack := []media.RtcpFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}
	f := &directFeed{w: w,
		codec: media.RtpCodecCapability{Kind: media.KindVideo, MimeType: "video/VP8", ClockRate: 90000, RtcpFeedback: nack}}
	if f.r, err = w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: []media.RtpCodecCapability{f.codec}}); err != nil {
		tb.Fatal(err)
	}
	in, err := f.r.CreateDirectTransport(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if f.p, err = in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: media.RtpParameters{
		Codecs:    []media.RtpCodecParameters{{MimeType: "video/VP8", PayloadType: 96, ClockRate: 90000, RtcpFeedback: nack}},
		Encodings: []media.RtpEncodingParameters{{SSRC: 1}},
	}}); err != nil {
		tb.Fatal(err)
	}
	f.src = in.(*directTransport).transport
	return f
}

// plainTo adds a plain transport connected to port.
func (f *directFeed) plainTo(tb testing.TB, port uint16) media.PlainTransport {
	tb.Helper()
	ctx := context.Background()
	t, err := f.r.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: &media.TransportListenInfo{IP: "127.0.0.1"}})
	if err != nil {
		tb.Fatal(err)
	}
	if err := t.Connect(ctx, &media.PlainTransportConnectOptions{IP: "127.0.0.1", Port: port}); err != nil {
		tb.Fatal(err)
	}
	return t
}

// consumeOn adds a consumer of the producer on t.
func (f *directFeed) consumeOn(tb testing.TB, t media.Transport) media.Consumer {
	tb.Helper()
	c, err := t.Consume(context.Background(), &media.ConsumerOptions{ProducerID: f.p.ID(),
		RtpCapabilities: &media.RtpCapabilities{Codecs: []media.RtpCodecCapability{f.codec}}})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// forward feeds packets 1,000-byte VP8 packets in read batches of batch
// (the first a key frame), flushing after each batch.
func (f *directFeed) forward(packets, batch int) {
	key := true
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1}, Payload: make([]byte, 1000)}
	buf := make([]byte, rtppkt.MaxPacketLen)
	for i := 0; i < packets; i += batch {
		var last *producer
		for j := 0; j < batch && i+j < packets; j++ {
			pkt.SequenceNumber = f.seq
			pkt.Payload[0], pkt.Payload[1] = 0x10, 1 // VP8 descriptor: S=1; an inter frame
			if key {
				pkt.Payload[1], key = 0, false
			}
			f.seq++
			m, _ := pkt.MarshalTo(buf)
			if q := f.src.receive(buf[:m], nanotime()); q != nil {
				last = q
			}
		}
		if last != nil {
			last.flush()
		}
	}
}

// measurePairs builds n plain transports on one router, connected to a
// sink that never reads, each consuming a directFeed's producer,
// forwards packets to them in read batches of batch packets, and reports
// the cost per transport and per consumer. The producer has forwarded
// packets before the transports exist, so neither it nor its
// retransmission store is counted.
func measurePairs(tb testing.TB, n, batch int) memFigures {
	tb.Helper()
	ctx := context.Background()
	f := newDirectFeed(tb, nil)
	defer f.w.Close(ctx)
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	defer sink.Close()
	sinkPort := uint16(sink.LocalAddr().(*net.UDPAddr).Port)
	forward := func(packets int) { f.forward(packets, batch) }
	forward(rtppkt.StoreSize) // fill the producer's store first

	heap0, stack0 := memSample()
	rss0 := rssBytes()
	g0 := runtime.NumGoroutine()
	transports := make([]media.PlainTransport, n)
	for i := range transports {
		transports[i] = f.plainTo(tb, sinkPort)
	}
	heap1, stack1 := memSample()
	consumers := make([]media.Consumer, n)
	for i, t := range transports {
		consumers[i] = f.consumeOn(tb, t)
	}
	// Enough packets to fill every per-stream history a consumer keeps.
	const sent = 2 * rtppkt.StoreSize
	forward(sent)
	for _, c := range consumers {
		if st, err := c.GetStats(ctx); err != nil || st[0].PacketCount != sent {
			tb.Fatalf("consumer forwarded %+v, %v; want %d packets", st, err, sent)
		}
	}
	heap2, stack2 := memSample()
	rss2 := rssBytes()
	// Every consumer queued batch packets at once (short of a full
	// queue, which goes out at once, its buffers lent to the next): it
	// borrowed all but its first buffer, as many as the pool may lend,
	// and gave them back.
	pool := &f.w.(*worker).outPool
	want := min(pool.limit, n*(min(batch, outBatch-1)-1))
	if made, free := pool.counts(); made != free || made != want {
		tb.Fatalf("the pool made %d buffers and has %d back, for %d consumers queueing %d; want %d (its limit %d)", made, free, n, batch, want, pool.limit)
	}
	g2 := runtime.NumGoroutine()
	per := func(a, b uint64) float64 { return (float64(b) - float64(a)) / float64(n) }
	fig := memFigures{
		transportHeap: per(heap0, heap1), transportStack: per(stack0, stack1),
		consumerHeap: per(heap1, heap2), consumerStack: per(stack1, stack2),
		goroutines: float64(g2-g0) / float64(n), rss: per(rss0, rss2),
	}
	for _, t := range transports {
		t.Close(ctx)
	}
	return fig
}

// BenchmarkMemoryPerPair reports what a plain transport and a consumer
// cost in memory (bytes of live heap and of goroutine stacks, per
// transport and per consumer on it), with read batches of one packet
// (conference rates) and of 16 (a consumer's whole output queue). The
// time per op means nothing; run it with -benchtime=1x.
func BenchmarkMemoryPerPair(b *testing.B) {
	for _, batch := range []int{1, 16} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			var f memFigures
			for i := 0; i < b.N; i++ {
				f = measurePairs(b, 200, batch)
			}
			b.ReportMetric(f.transportHeap, "transportHeapB/pair")
			b.ReportMetric(f.transportStack, "transportStackB/pair")
			b.ReportMetric(f.consumerHeap, "consumerHeapB/pair")
			b.ReportMetric(f.consumerStack, "consumerStackB/pair")
			b.ReportMetric(f.transportHeap+f.transportStack+f.consumerHeap+f.consumerStack, "B/pair")
			b.ReportMetric(f.goroutines, "goroutines/pair")
			b.ReportMetric(f.rss, "rssB/pair")
		})
	}
}

// TestOutPoolBoundsBursts: read batches that bring every consumer a full
// queue's worth borrow no more than the worker's limit (OutPoolBytes):
// the consumers that find the pool lent out send what they queued at
// once, and every receiver still gets every packet, in order. Without
// the bound, five consumers queueing 16 packets borrowed 75 buffers.
func TestOutPoolBoundsBursts(t *testing.T) {
	const consumers, limit, batches = 5, 4, 3
	f := newDirectFeed(t, &Options{OutPoolBytes: limit * len(outBuf{})})
	var sinks []*net.UDPConn
	for range consumers {
		sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer sink.Close()
		f.consumeOn(t, f.plainTo(t, uint16(sink.LocalAddr().(*net.UDPAddr).Port)))
		sinks = append(sinks, sink)
	}
	f.forward(batches*outBatch, outBatch)
	pool := &f.w.(*worker).outPool
	if made, free := pool.counts(); made != free || made > limit {
		t.Errorf("the pool made %d buffers and has %d back; want at most its limit, %d", made, free, limit)
	}
	for i, sink := range sinks {
		var prev uint16
		buf := make([]byte, rtppkt.MaxPacketLen)
		for j := range batches * outBatch {
			sink.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err := sink.Read(buf)
			if err != nil {
				t.Fatalf("receiver %d, packet %d: %v", i, j, err)
			}
			var p rtp.Packet
			if err := p.Unmarshal(buf[:n]); err != nil {
				t.Fatalf("receiver %d, packet %d: %v", i, j, err)
			}
			if j > 0 && p.SequenceNumber != prev+1 {
				t.Fatalf("receiver %d: packet %d has sequence number %d after %d", i, j, p.SequenceNumber, prev)
			}
			prev = p.SequenceNumber
		}
	}
}

// TestConsumerMemory checks what a consumer (NACK negotiated) costs in
// live heap once packets have gone through it: its struct, its stream
// with its history of sent sequence numbers, and its share of the
// worker's packet buffers. It was about 39 KB when every consumer held a
// full output queue (16 packets), two packet buffers for retransmissions
// and a 512-entry sequence number map inline, 5 KB since; the bound
// leaves slack for the runtime's size classes.
func TestConsumerMemory(t *testing.T) {
	const bound = 10 << 10
	measurePairs(t, 50, 4) // the pool lends and gets back
	f := measurePairs(t, 200, 1)
	t.Logf("per consumer: %.0f B heap, %.0f B stacks; per transport: %.0f B heap, %.0f B stacks", f.consumerHeap, f.consumerStack, f.transportHeap, f.transportStack)
	if f.consumerHeap > bound {
		t.Errorf("a consumer takes %.0f bytes of heap, want at most %d", f.consumerHeap, bound)
	}
}

// TestTransportMemory checks what a plain transport with a consumer costs
// on the worker's event loop: no goroutine (its RTCP runs on the loop's
// timers) and a few KB of heap (its socket holds no batch arrays: the
// loop reads all sockets with one scratch; the loop packs every
// transport's reports). It was 21 KB of heap and a goroutine with its
// stack (2–4 KB) per transport, 28 KB with the consumer; 8 KB since.
func TestTransportMemory(t *testing.T) {
	if !evloop.Supported {
		t.Skip("no event loop here")
	}
	const transportBound, pairBound = 6 << 10, 12 << 10
	f := measurePairs(t, 200, 1)
	transport := f.transportHeap + f.transportStack
	pair := transport + f.consumerHeap + f.consumerStack
	t.Logf("per transport: %.0f B heap, %.0f B stacks; with its consumer %.0f B; %.2f goroutines", f.transportHeap, f.transportStack, pair, f.goroutines)
	if f.goroutines >= 0.5 {
		t.Errorf("a transport with a consumer runs %.2f goroutines, want none", f.goroutines)
	}
	if transport > transportBound {
		t.Errorf("a transport takes %.0f bytes of heap and stacks, want at most %d", transport, transportBound)
	}
	if pair > pairBound {
		t.Errorf("a transport with a consumer takes %.0f bytes of heap and stacks, want at most %d", pair, pairBound)
	}
}

// TestEstimatorStateIsSmall: a transport's send-side estimator holds no
// inline history of sent packets; gcc.History sizes its ring by the
// transport's packet rate (2 KiB below 128 packets/s), where a fixed
// ring of 1,024 packets made the estimator 19 KB on every WebRTC
// transport with a video consumer (28 KB in the runtime's size class).
func TestEstimatorStateIsSmall(t *testing.T) {
	const bound = 4 << 10
	if size := unsafe.Sizeof(tccClient{}); size > bound {
		t.Errorf("the estimator's state is %d bytes, want at most %d", size, bound)
	}
}
