package mafalda_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediatest"
)

// newTreeRoom returns a Mafalda (from newM) of n workers with the pipe
// fanout, and a room whose transports go one per worker (transportLoad
// at a watermark of 20 fills a worker with one), each on a new worker
// while there are fewer than n: the room's i-th transport lands on its
// i-th router, which takes slot i of its tree.
func newTreeRoom(t testing.TB, newM func(testing.TB, *mafalda.Options) *mafalda.Mafalda, n, fanout int) (*mafalda.Mafalda, *mafalda.MafaldaRouter) {
	var m *mafalda.Mafalda
	m = newM(t, &mafalda.Options{CPUs: n, LoadFunc: transportLoad(&m), PipeFanout: fanout})
	mr := must[*mafalda.MafaldaRouter](t)(m.CreateMafaldaRouter(ctxFor(t), &mafalda.MafaldaRouterOptions{
		RouterOptions: media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()}, WatermarkWorker: 20, MaxWorkers: mafalda.Int(n)}))
	return m, mr
}

// routersOf returns the router of each transport, checking they differ.
func routersOf(t testing.TB, mr *mafalda.MafaldaRouter, trs []media.Transport) []string {
	t.Helper()
	rids := make([]string, len(trs))
	for i, tr := range trs {
		rids[i] = routerOf(t, mr, tr.ID())
		if slices.Contains(rids[:i], rids[i]) {
			t.Fatalf("transports %d and %d share router %s", slices.Index(rids, rids[i]), i, rids[i])
		}
	}
	return rids
}

// hopsOf returns the open pipes of producerID as "from>to", named by the
// index of the router in rids, sorted.
func hopsOf(mr *mafalda.MafaldaRouter, producerID string, rids []string) []string {
	var out []string
	for _, p := range mr.DumpState().Pipes {
		if p.ProducerID == producerID {
			out = append(out, fmt.Sprintf("%d>%d", slices.Index(rids, p.FromRouterID), slices.Index(rids, p.ToRouterID)))
		}
	}
	sort.Strings(out)
	return out
}

// pipeInto returns the pipe of producerID into router rid.
func pipeInto(t testing.TB, mr *mafalda.MafaldaRouter, producerID, rid string) mafalda.PipeDump {
	t.Helper()
	for _, p := range mr.DumpState().Pipes {
		if p.ProducerID == producerID && p.ToRouterID == rid {
			return p
		}
	}
	t.Fatalf("no pipe of %s into %s", producerID, rid)
	return mafalda.PipeDump{}
}

func sorted(s ...string) []string {
	sort.Strings(s)
	return s
}

func hasProducer(t testing.TB, m *mafalda.Mafalda, producerID string) bool {
	t.Helper()
	for _, r := range m.Routers() {
		d := must[*media.RouterDump](t)(r.Dump(ctxFor(t)))
		if slices.ContainsFunc(d.MapProducerIDConsumerIDs, func(kv media.KeyValues) bool { return kv.Key == producerID }) {
			return true
		}
	}
	return false
}

func event(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	select {
	case got := <-ch:
		if got != want {
			t.Fatalf("event %q, want %q", got, want)
		}
	case <-time.After(timeout):
		t.Fatalf("no %q", want)
	}
}

// TestPipeTreeRTP: fanout 2 over 7 routers, a producer on leaf 3 and a
// consumer on leaf 6: RTP travels 3→1→0→2→6, relayed by three routers;
// a consumer on the root shares the hop into it; pause and resume follow
// the path; closing the producer closes every hop and the far consumer
// gets "producerclose".
func TestPipeTreeRTP(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	m, mr := newTreeRoom(t, newMafalda, 7, 2)
	src, sink := mediatest.NewEndpoint(t), mediatest.NewEndpoint(t)
	trs := make([]media.Transport, 7)
	for i := range trs {
		switch i {
		case 3:
			trs[i] = plainTo(t, mr, src)
		case 6:
			trs[i] = plainTo(t, mr, sink)
		default:
			trs[i] = must[media.DirectTransport](t)(mr.CreateDirectTransport(ctx, nil))
		}
	}
	rids := routersOf(t, mr, trs)
	prod := must[media.Producer](t)(trs[3].Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(3333)}))
	far := must[media.Consumer](t)(trs[6].Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
	path := sorted("3>1", "1>0", "0>2", "2>6")
	if got := hopsOf(mr, prod.ID(), rids); !slices.Equal(got, path) {
		t.Fatalf("pipes %v, want %v", got, path)
	}
	if p := pipeInto(t, mr, prod.ID(), rids[1]); p.Consumers != 0 || p.Relays != 1 {
		t.Fatalf("relay pipe %+v, want 0 consumers and 1 relay", p)
	}
	snd := &mediatest.VP8Sender{SSRC: 3333, PT: 101}
	for i := 0; i < 10; i++ {
		src.Send(trs[3].(media.PlainTransport).Tuple(), snd.Next(t, i == 0, 600))
	}
	ssrc := far.RtpParameters().Encodings[0].SSRC
	wait.Until(t, "RTP four hops away", func() bool { return len(sink.RTP(ssrc)) == 10 })

	root := must[media.Consumer](t)(trs[0].Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
	if got := hopsOf(mr, prod.ID(), rids); !slices.Equal(got, path) {
		t.Fatalf("pipes %v after a consumer on the root, want %v", got, path)
	}
	if p := pipeInto(t, mr, prod.ID(), rids[0]); p.Consumers != 1 || p.Relays != 1 {
		t.Fatalf("pipe into the root %+v, want 1 consumer and 1 relay", p)
	}
	if d := mr.DumpState(); d.PipesOpened != 4 {
		t.Fatalf("%d pipes opened, want 4", d.PipesOpened)
	}

	events := make(chan string, 8)
	far.OnProducerPause(func() { events <- "pause" })
	far.OnProducerResume(func() { events <- "resume" })
	far.OnProducerClose(func() { events <- "close" })
	rootClosed := make(chan string, 1)
	root.OnProducerClose(func() { rootClosed <- "close" })
	if err := prod.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	event(t, events, "pause")
	if !far.ProducerPaused() {
		t.Fatal("far consumer: producer not paused")
	}
	if err := prod.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	event(t, events, "resume")
	for i := 10; i < 20; i++ {
		src.Send(trs[3].(media.PlainTransport).Tuple(), snd.Next(t, i == 10, 600))
	}
	// A video consumer resumes at a key frame, as mediasoup's does.
	wait.Until(t, "RTP after resume", func() bool { return len(sink.RTP(ssrc)) == 20 })

	if err := prod.Close(ctx); err != nil {
		t.Fatal(err)
	}
	event(t, events, "close")
	event(t, rootClosed, "close")
	wait.Until(t, "every hop closed", func() bool { return len(mr.DumpState().Pipes) == 0 })
	wait.Until(t, "no pipe producer left", func() bool { return !hasProducer(t, m, prod.ID()) })
	if n := len(m.Workers()); n != 7 {
		t.Fatalf("%d workers, want 7: every router has a transport", n)
	}
}

// TestPipeTreeRelay: in a chain (fanout 1) of three routers, the middle
// one relays: it stays while the pipe through it is needed, its own
// transport closed, and closes with its worker once idle. The next
// consume pipes along the tree left (0→2), and a new router takes the
// freed slot 1, relaying again.
func TestPipeTreeRelay(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	m, mr := newTreeRoom(t, newMafalda, 3, 1)
	trs := make([]media.Transport, 3)
	for i := range trs {
		trs[i] = must[media.DirectTransport](t)(mr.CreateDirectTransport(ctx, nil))
	}
	rids := routersOf(t, mr, trs)
	prod := must[media.Producer](t)(trs[0].Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(44)}))
	c := must[media.Consumer](t)(trs[2].Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
	if got, want := hopsOf(mr, prod.ID(), rids), sorted("0>1", "1>2"); !slices.Equal(got, want) {
		t.Fatalf("pipes %v, want %v", got, want)
	}
	if err := trs[1].Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n, rs := len(m.Workers()), mr.DumpState().RouterIDs; n != 3 || !slices.Contains(rs, rids[1]) {
		t.Fatalf("%d workers, routers %v: the relay left while relaying", n, rs)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, "pipes closed", func() bool { return len(mr.DumpState().Pipes) == 0 })
	wait.Until(t, "idle relay closed", func() bool { return len(m.Workers()) == 2 })
	if rs := mr.DumpState().RouterIDs; slices.Contains(rs, rids[1]) {
		t.Fatalf("routers %v: the idle relay stays", rs)
	}

	// Slot 1 is free: router 2's parent is the root.
	c = must[media.Consumer](t)(trs[2].Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
	if got, want := hopsOf(mr, prod.ID(), rids), []string{"0>2"}; !slices.Equal(got, want) {
		t.Fatalf("pipes %v, want %v", got, want)
	}
	// A new router takes slot 1, between 0 and 2 again: a new producer
	// goes through it, the one already piped keeps its pipe.
	trs[1] = must[media.DirectTransport](t)(mr.CreateDirectTransport(ctx, nil))
	rids = routersOf(t, mr, trs)
	prod2 := must[media.Producer](t)(trs[0].Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(45)}))
	must[media.Consumer](t)(trs[2].Consume(ctx, &media.ConsumerOptions{ProducerID: prod2.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
	if got, want := hopsOf(mr, prod2.ID(), rids), sorted("0>1", "1>2"); !slices.Equal(got, want) {
		t.Fatalf("pipes of the new producer %v, want %v", got, want)
	}
	if got, want := hopsOf(mr, prod.ID(), rids), []string{"0>2"}; !slices.Equal(got, want) {
		t.Fatalf("pipes of the first producer %v, want %v", got, want)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, "first producer's pipe closed", func() bool { return len(hopsOf(mr, prod.ID(), rids)) == 0 })
}

// TestPipeTreeRelayDies: in a chain of three worker processes the
// middle one relays; SIGKILL to it ends the pipes through it, the far
// consumer gets "producerclose" as when an origin's worker dies, and a
// new consume pipes along the tree left, straight from the origin.
func TestPipeTreeRelayDies(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	m, mr := newTreeRoom(t, newProcMafalda, 3, 1)
	src, sink := mediatest.NewEndpoint(t), mediatest.NewEndpoint(t)
	in := plainTo(t, mr, src)
	trs := []media.Transport{in, must[media.DirectTransport](t)(mr.CreateDirectTransport(ctx, nil)), plainTo(t, mr, sink)}
	rids := routersOf(t, mr, trs)
	prod := must[media.Producer](t)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(5555)}))
	far := &peer{e: sink, tr: trs[2].(media.PlainTransport)}
	far.c = must[media.Consumer](t)(far.tr.Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
	if got, want := hopsOf(mr, prod.ID(), rids), sorted("0>1", "1>2"); !slices.Equal(got, want) {
		t.Fatalf("pipes %v, want %v", got, want)
	}
	snd := &mediatest.VP8Sender{SSRC: 5555, PT: 101}
	sendAndCheck(t, src, in, snd, 10, []*peer{far})

	closed := make(chan string, 1)
	far.c.OnProducerClose(func() { closed <- "producerclose" })
	if err := syscall.Kill(workerOf(t, m, rids[1]).PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	event(t, closed, "producerclose")
	wait.Until(t, "pipes through the relay closed", func() bool { return len(mr.DumpState().Pipes) == 0 })
	wait.Until(t, "relay gone", func() bool { return len(m.Workers()) == 2 })
	if !trs[1].Closed() || far.tr.Closed() || in.Closed() {
		t.Fatal("transports: the relay's must close, the others stay")
	}
	far.c = must[media.Consumer](t)(far.tr.Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
	if got, want := hopsOf(mr, prod.ID(), rids), []string{"0>2"}; !slices.Equal(got, want) {
		t.Fatalf("pipes after the relay died %v, want %v", got, want)
	}
	sendAndCheck(t, src, in, snd, 10, []*peer{far})
}

// TestPipeTreeConcurrent: every router of a 7-router tree consumes every
// other router's producer at once, then closes them all at once: each
// hop is opened once and shared, and none is left, in Mafalda or in the
// engine.
func TestPipeTreeConcurrent(t *testing.T) {
	t.Parallel()
	const n = 7
	ctx := ctxFor(t)
	m, mr := newTreeRoom(t, newMafalda, n, 2)
	trs := make([]media.Transport, n)
	prods := make([]media.Producer, n)
	for i := range trs {
		trs[i] = must[media.DirectTransport](t)(mr.CreateDirectTransport(ctx, nil))
		prods[i] = must[media.Producer](t)(trs[i].Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(uint32(200 + i))}))
	}
	routersOf(t, mr, trs)
	var wg sync.WaitGroup
	consumers := make(chan media.Consumer, n*n)
	for i, tr := range trs {
		for j, p := range prods {
			if i == j {
				continue
			}
			wg.Go(func() {
				c, err := tr.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: mediatest.EndpointCaps()})
				if err != nil {
					t.Error(err)
					return
				}
				consumers <- c
			})
		}
	}
	wg.Wait()
	close(consumers)
	if d := mr.DumpState(); d.PipesOpened != n*(n-1) || len(d.Pipes) != n*(n-1) {
		t.Fatalf("%d pipes opened, %d open, want %d", d.PipesOpened, len(d.Pipes), n*(n-1))
	}
	for c := range consumers {
		wg.Go(func() {
			if err := c.Close(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	wait.Until(t, "every pipe closed", func() bool { return len(mr.DumpState().Pipes) == 0 })
	wait.Until(t, "no pipe consumer left", func() bool {
		for _, r := range m.Routers() {
			if len(must[*media.RouterDump](t)(r.Dump(ctx)).MapConsumerIDProducerID) > 0 {
				return false
			}
		}
		return true
	})
	if d := must[*mafalda.Dump](t)(m.Dump(ctx)); len(d.Workers) != n {
		t.Fatalf("%d workers, want %d", len(d.Workers), n)
	}
	for _, w := range must[*mafalda.Dump](t)(m.Dump(ctx)).Workers {
		if w.Consumers != 0 {
			t.Fatalf("worker %s counts %d consumers, want 0", w.ID, w.Consumers)
		}
	}
}

// pipeCount is what piping costs a room of n routers where every router
// produces once and consumes every other router's producer.
type pipeCount struct {
	pipes     int // PipeToRouter calls: pipe consumer + pipe producer each
	transport int // pipe transports (a UDP port each) across the routers
	maxPerRtr int // pipe transports on the busiest router
}

// calls counts the media API calls the pipes took: each PipeToRouter is
// a consume and a produce, each new transport pair two
// createPipeTransport and two connect calls (over media/workerproc each
// a ROPE request to a worker process).
func (c pipeCount) calls() int { return 2*c.pipes + 2*c.transport }

// countPipes builds that room and counts, from the routers' own dumps.
func countPipes(t testing.TB, newM func(testing.TB, *mafalda.Options) *mafalda.Mafalda, n, fanout int) pipeCount {
	ctx := ctxFor(t)
	m, mr := newTreeRoom(t, newM, n, fanout)
	trs := make([]media.Transport, n)
	prods := make([]media.Producer, n)
	for i := range trs {
		trs[i] = must[media.DirectTransport](t)(mr.CreateDirectTransport(ctx, nil))
		prods[i] = must[media.Producer](t)(trs[i].Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(uint32(100 + i))}))
	}
	routersOf(t, mr, trs)
	for i, tr := range trs {
		for j, p := range prods {
			if i != j {
				must[media.Consumer](t)(tr.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
			}
		}
	}
	var c pipeCount
	c.pipes = mr.DumpState().PipesOpened
	for _, r := range m.Routers() {
		k := len(must[*media.RouterDump](t)(r.Dump(ctx)).TransportIDs) - 1 // one is the room's
		c.transport += k
		c.maxPerRtr = max(c.maxPerRtr, k)
	}
	if err := mr.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// pipings are the Options.PipeFanout values compared, with names for
// tables and benchmarks.
var pipings = []struct {
	name, short string
	k           int
}{{"direct (mesh)", "mesh", mafalda.PipeDirect}, {"star", "star", mafalda.PipeStar}, {"fanout 2", "k2", 2}, {"fanout 4 (default)", "k4", 0}}

// TestPipeTransportsGrowLinearly counts the pipe transports of a room of
// n = 2, 4, 8 routers (one per worker) where every router produces and
// consumes every other router's producer: piping from the origin makes
// the full mesh of n·(n−1) transport pairs (the engine keeps one pair per
// ordered pair of routers), a tree at most 2·(n−1), one pair each way per
// edge. PipeToRouter calls are n·(n−1) either way: each router receives
// each producer once. It logs the figures.
func TestPipeTransportsGrowLinearly(t *testing.T) {
	t.Parallel()
	var table strings.Builder
	fmt.Fprintf(&table, "\n| routers | piping | PipeToRouter calls | pipe transports (ports) | transport pairs | most on one router | media calls |\n|---|---|---|---|---|---|---|\n")
	for _, n := range []int{2, 4, 8} {
		for _, f := range pipings {
			c := countPipes(t, newMafalda, n, f.k)
			pairs := c.transport / 2
			if c.pipes != n*(n-1) {
				t.Errorf("n=%d %s: %d PipeToRouter calls, want %d", n, f.name, c.pipes, n*(n-1))
			}
			if f.k == mafalda.PipeDirect && pairs != n*(n-1) {
				t.Errorf("n=%d direct: %d pairs, want the mesh's %d", n, pairs, n*(n-1))
			}
			if f.k != mafalda.PipeDirect && pairs > 2*(n-1) {
				t.Errorf("n=%d %s: %d pairs, want at most 2·(n−1) = %d", n, f.name, pairs, 2*(n-1))
			}
			fmt.Fprintf(&table, "| %d | %s | %d | %d | %d | %d | %d |\n", n, f.name, c.pipes, c.transport, pairs, c.maxPerRtr, c.calls())
		}
	}
	t.Log(table.String())
}

// BenchmarkPipeTransports reports countPipes' figures per piping and
// room size, over the local engine and over worker processes, whose
// pipes between processes get a transport pair each (media/workerproc
// reuses none), so there a tree saves no port. Run it with
// -benchtime=1x: the figures do not depend on b.N.
func BenchmarkPipeTransports(b *testing.B) {
	for _, api := range []struct {
		name string
		newM func(testing.TB, *mafalda.Options) *mafalda.Mafalda
	}{{"engine", newMafalda}, {"processes", newProcMafalda}} {
		for _, n := range []int{2, 4, 8} {
			for _, f := range pipings {
				b.Run(fmt.Sprintf("%s/n=%d/%s", api.name, n, f.short), func(b *testing.B) {
					var c pipeCount
					for range b.N {
						c = countPipes(b, api.newM, n, f.k)
					}
					b.ReportMetric(float64(c.pipes), "pipes")
					b.ReportMetric(float64(c.transport), "ports")
					b.ReportMetric(float64(c.transport/2), "pairs")
					b.ReportMetric(float64(c.maxPerRtr), "ports/router")
					b.ReportMetric(float64(c.calls()), "calls")
				})
			}
		}
	}
}
