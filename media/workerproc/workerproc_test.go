package workerproc_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediatest"
	"github.com/ropehq/rope/media/workerproc"
)

// TestMain runs the worker instead of the tests when the test binary was
// started as a worker: the tests use the test binary itself as the worker
// program.
func TestMain(m *testing.M) {
	if workerproc.IsWorkerMode() {
		workerproc.Main()
	}
	goleak.VerifyTestMain(m)
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func newWorker(t *testing.T, api media.API) media.Worker {
	t.Helper()
	w := must[media.Worker](t)(api.CreateWorker(ctxT(t), nil))
	t.Cleanup(func() {
		if err := w.Close(context.Background()); err != nil {
			t.Errorf("close worker: %v", err)
		}
	})
	return w
}

// path is a router with a producer on one plain transport and its
// consumer on another, fed and drained by loopback UDP endpoints.
type path struct {
	router   media.Router
	in, out  media.PlainTransport
	producer media.Producer
	consumer media.Consumer
	src, dst *mediatest.Endpoint
	sender   *mediatest.VP8Sender
}

func newPath(t *testing.T, w media.Worker) *path {
	t.Helper()
	ctx := ctxT(t)
	p := &path{src: mediatest.NewEndpoint(t), dst: mediatest.NewEndpoint(t), sender: &mediatest.VP8Sender{SSRC: 3333, PT: 101}}
	p.router = must[media.Router](t)(w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()}))
	plain := func(e *mediatest.Endpoint) media.PlainTransport {
		tr := must[media.PlainTransport](t)(p.router.CreatePlainTransport(ctx, &media.PlainTransportOptions{
			ListenInfo: &media.TransportListenInfo{Protocol: media.ProtocolUDP, IP: "127.0.0.1"}}))
		if err := tr.Connect(ctx, &media.PlainTransportConnectOptions{IP: "127.0.0.1", Port: e.Port()}); err != nil {
			t.Fatal(err)
		}
		return tr
	}
	p.in, p.out = plain(p.src), plain(p.dst)
	p.producer = must[media.Producer](t)(p.in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(3333)}))
	p.consumer = must[media.Consumer](t)(p.out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.producer.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
	return p
}

// forwards sends n packets (the first a key frame) and waits until the
// consumer's endpoint has them all.
func (p *path) forwards(t *testing.T, n int) {
	t.Helper()
	ssrc := p.consumer.RtpParameters().Encodings[0].SSRC
	have := len(p.dst.RTP(ssrc))
	for i := range n {
		p.src.Send(p.in.Tuple(), p.sender.Next(t, i == 0, 600))
	}
	wait.Until(t, "forwarded packets", func() bool { return len(p.dst.RTP(ssrc)) >= have+n })
}

func TestForwardingInChild(t *testing.T) {
	t.Parallel()
	w := newWorker(t, workerproc.New(nil))
	if w.PID() == os.Getpid() || w.PID() <= 0 {
		t.Fatalf("PID %d, this process %d", w.PID(), os.Getpid())
	}
	if err := syscall.Kill(w.PID(), 0); err != nil {
		t.Fatalf("child %d: %v", w.PID(), err)
	}
	newPath(t, w).forwards(t, 20)
}

// GetResourceUsage reports the child's own figures. CPU time counts in
// clock ticks of 10 ms, so the child forwards until its /proc says it
// used one; the figures reported then lie between two reads of the
// child's /proc taken around the call.
func TestResourceUsage(t *testing.T) {
	t.Parallel()
	w := newWorker(t, workerproc.New(nil))
	p := newPath(t, w)
	wait.Until(t, "the child to use CPU time", func() bool {
		p.forwards(t, 50)
		ticks, _ := procStat(t, w.PID())
		return ticks > 0
	})
	ticksBefore, minFltBefore := procStat(t, w.PID())
	u := must[*media.WorkerResourceUsage](t)(w.GetResourceUsage(ctxT(t)))
	ticksAfter, minFltAfter := procStat(t, w.PID())
	if cpu := u.UTime + u.STime; cpu < ticksBefore*10 || cpu > ticksAfter*10 {
		t.Fatalf("utime+stime %d ms, the child's /proc says %d..%d ms", cpu, ticksBefore*10, ticksAfter*10)
	}
	if u.MinFlt < minFltBefore || u.MinFlt > minFltAfter {
		t.Fatalf("minflt %d, the child's /proc says %d..%d", u.MinFlt, minFltBefore, minFltAfter)
	}
	stat := must[[]byte](t)(os.ReadFile("/proc/" + itoa(w.PID()) + "/status"))
	// Its peak RSS is its own VmHWM.
	if hwm := vmHWM(string(stat)); u.MaxRSS <= 0 || u.MaxRSS > hwm || u.MaxRSS < hwm/2 {
		t.Fatalf("maxrss %d, child's VmHWM %d", u.MaxRSS, hwm)
	}
}

func TestKilledWorkerDies(t *testing.T) {
	t.Parallel()
	api := workerproc.New(nil)
	victim := newWorker(t, api)
	survivor := newWorker(t, api)
	pv, ps := newPath(t, victim), newPath(t, survivor)
	pv.forwards(t, 5)

	died := make(chan error, 1)
	victim.OnDied(func(err error) { died <- err })
	closed := make(chan string, 16)
	victim.OnClose(func() { closed <- "worker close" })
	pv.router.OnWorkerClose(func() { closed <- "router workerclose" })
	pv.in.OnRouterClose(func() { closed <- "transport routerclose" })
	pv.producer.OnTransportClose(func() { closed <- "producer transportclose" })
	pv.consumer.OnTransportClose(func() { closed <- "consumer transportclose" })
	srv := must[media.WebRtcServer](t)(victim.CreateWebRtcServer(ctxT(t), &media.WebRtcServerOptions{
		ListenInfos: []media.TransportListenInfo{{Protocol: media.ProtocolUDP, IP: "127.0.0.1"}}}))
	wt := must[media.WebRtcTransport](t)(pv.router.CreateWebRtcTransport(ctxT(t), &media.WebRtcTransportOptions{WebRtcServer: srv}))
	srv.OnWorkerClose(func() { closed <- "server workerclose" })
	srv.OnClose(func() { closed <- "server close" })
	wt.OnRouterClose(func() { closed <- "webrtc transport routerclose" })

	if err := syscall.Kill(victim.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-died:
		if err == nil || !strings.Contains(err.Error(), "killed") {
			t.Errorf("died with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no died")
	}
	want := map[string]bool{"worker close": true, "router workerclose": true, "transport routerclose": true,
		"producer transportclose": true, "consumer transportclose": true,
		"server workerclose": true, "server close": true, "webrtc transport routerclose": true}
	for len(want) > 0 {
		select {
		case ev := <-closed:
			delete(want, ev)
		case <-time.After(5 * time.Second):
			t.Fatalf("events missing: %v", want)
		}
	}
	if !victim.Died() || !victim.Closed() || !pv.router.Closed() || !pv.consumer.Closed() || !srv.Closed() || !wt.Closed() {
		t.Fatalf("died %v closed %v router closed %v", victim.Died(), victim.Closed(), pv.router.Closed())
	}
	if _, err := victim.CreateRouter(ctxT(t), nil); err == nil {
		t.Fatal("CreateRouter on a dead worker succeeded")
	}
	// The other process goes on.
	ps.forwards(t, 20)
	if survivor.Died() || survivor.Closed() {
		t.Fatal("survivor harmed")
	}
}

func TestCloseStopsChild(t *testing.T) {
	t.Parallel()
	w := must[media.Worker](t)(workerproc.New(nil).CreateWorker(ctxT(t), nil))
	pid := w.PID()
	closed := make(chan struct{})
	w.OnClose(func() { close(closed) })
	if err := w.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("no close")
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Fatalf("child %d still there after Close", pid)
	}
	if w.Died() {
		t.Fatal("a closed worker died")
	}
	if err := w.Close(ctxT(t)); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestAPI(t *testing.T) {
	mediatest.Run(t, func(t *testing.T) media.API { return workerproc.New(nil) }, mediatest.As("workerproc"))
}

// A producer piped from a process that is then killed: its pipe producer
// in the other process closes and that process's consumers get
// producerclose, while its own path keeps forwarding.
func TestKilledPipeSource(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	api := workerproc.New(nil)
	src, dst := newWorker(t, api), newWorker(t, api)
	ps, pd := newPath(t, src), newPath(t, dst)
	res := must[*media.PipeToRouterResult](t)(ps.router.PipeToRouter(ctx, &media.PipeToRouterOptions{ProducerID: ps.producer.ID(), Router: pd.router}))
	c := must[media.Consumer](t)(pd.out.Consume(ctx, &media.ConsumerOptions{ProducerID: ps.producer.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
	ssrc := c.RtpParameters().Encodings[0].SSRC
	for i := range 10 {
		ps.src.Send(ps.in.Tuple(), ps.sender.Next(t, i == 0, 500))
	}
	wait.Until(t, "packets through the pipe", func() bool { return len(pd.dst.RTP(ssrc)) >= 10 })

	producerClosed := make(chan struct{})
	c.OnProducerClose(func() { close(producerClosed) })
	if err := syscall.Kill(src.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-producerClosed:
	case <-time.After(5 * time.Second):
		t.Fatal("no producerclose in the other process")
	}
	wait.Until(t, "pipe producer closed", res.PipeProducer.Closed)
	pd.forwards(t, 10)
}

// TestPipesShareTransportPairs: producers piped between the routers of
// two worker processes share one pair of pipe transports, as mediasoup's
// pipeToRouter between workers does; the next pair comes when a side
// closes.
func TestPipesShareTransportPairs(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	api := workerproc.New(nil)
	src, dst := newWorker(t, api), newWorker(t, api)
	ps := newPath(t, src)
	rd := must[media.Router](t)(dst.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()}))
	in := ps.in
	var producers []media.Producer
	for i := range 3 {
		p := must[media.Producer](t)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(uint32(7000 + i))}))
		producers = append(producers, p)
		must[*media.PipeToRouterResult](t)(ps.router.PipeToRouter(ctx, &media.PipeToRouterOptions{ProducerID: p.ID(), Router: rd}))
	}
	if d := must[*media.RouterDump](t)(rd.Dump(ctx)); len(d.TransportIDs) != 1 {
		t.Fatalf("destination router has %d transports, want one pipe transport", len(d.TransportIDs))
	}
	for _, p := range producers {
		if err := p.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	wait.Until(t, "the pipe producers gone", func() bool {
		d := must[*media.RouterDump](t)(rd.Dump(ctx))
		return len(d.MapProducerIDConsumerIDs) == 0 && len(d.TransportIDs) == 1
	})
}

// TestDataPipeAcrossProcesses: a data producer piped between the routers
// of two worker processes rides the pair of pipe transports its RTP
// producers use (SCTP beside RTP), and its messages arrive in order.
func TestDataPipeAcrossProcesses(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	api := workerproc.New(nil)
	src, dst := newWorker(t, api), newWorker(t, api)
	ps := newPath(t, src)
	rd := must[media.Router](t)(dst.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()}))
	must[*media.PipeToRouterResult](t)(ps.router.PipeToRouter(ctx, &media.PipeToRouterOptions{ProducerID: ps.producer.ID(), Router: rd}))
	dt := must[media.DirectTransport](t)(ps.router.CreateDirectTransport(ctx, nil))
	dp := must[media.DataProducer](t)(dt.ProduceData(ctx, &media.DataProducerOptions{Label: "chat"}))
	res := must[*media.PipeToRouterResult](t)(ps.router.PipeToRouter(ctx, &media.PipeToRouterOptions{DataProducerID: dp.ID(), Router: rd}))
	if res.PipeDataProducer.ID() != dp.ID() || res.PipeDataProducer.Type() != media.DataSCTP {
		t.Fatalf("pipe data producer %s (%s)", res.PipeDataProducer.ID(), res.PipeDataProducer.Type())
	}
	if d := must[*media.RouterDump](t)(rd.Dump(ctx)); len(d.TransportIDs) != 1 {
		t.Fatalf("destination router has %d transports, want one pipe transport", len(d.TransportIDs))
	}
	far := must[media.DirectTransport](t)(rd.CreateDirectTransport(ctx, nil))
	dc := must[media.DataConsumer](t)(far.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}))
	var mu sync.Mutex
	var got []string
	dc.OnMessage(func(b []byte, _ int) {
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
	})
	want := []string{"one", "two", "three", "four"}
	for _, m := range want {
		if err := dp.Send([]byte(m), nil); err != nil {
			t.Fatal(err)
		}
	}
	wait.Until(t, "messages across processes", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Equal(got, want)
	})
	closed := make(chan struct{})
	dc.OnDataProducerClose(func() { close(closed) })
	if err := dp.Close(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("no dataproducerclose across processes")
	}
}
