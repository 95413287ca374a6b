package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
)

// sctpStateLog records a transport's sctpstatechange events.
type sctpStateLog struct {
	mu     sync.Mutex
	states []media.SctpState
}

func logSctpStates(t interface {
	OnSctpStateChange(func(media.SctpState)) func()
}) *sctpStateLog {
	l := &sctpStateLog{}
	t.OnSctpStateChange(func(s media.SctpState) {
		l.mu.Lock()
		l.states = append(l.states, s)
		l.mu.Unlock()
	})
	return l
}

func (l *sctpStateLog) get() []media.SctpState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.states)
}

// inbox collects a data consumer's messages.
type inbox struct {
	mu   sync.Mutex
	msgs []string
	ppid []int
}

func collect(c media.DataConsumer) *inbox {
	in := &inbox{}
	c.OnMessage(func(b []byte, ppid int) {
		in.mu.Lock()
		in.msgs = append(in.msgs, string(b))
		in.ppid = append(in.ppid, ppid)
		in.mu.Unlock()
	})
	return in
}

func (in *inbox) get() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.msgs)
}

func (in *inbox) waitN(t *testing.T, what string, n int) []string {
	t.Helper()
	wait.Until(t, what, func() bool { return len(in.get()) >= n })
	return in.get()
}

// sctpPlains makes two plain transports with SCTP on r, connects each to
// the other and waits for both associations.
func sctpPlains(t *testing.T, f *fixture, r media.Router, oa, ob *media.PlainTransportOptions) (a, b media.PlainTransport) {
	t.Helper()
	a = must[media.PlainTransport](t)(r.CreatePlainTransport(f.ctx, oa))
	b = must[media.PlainTransport](t)(r.CreatePlainTransport(f.ctx, ob))
	connectPlains(t, f, a, b)
	return a, b
}

func sctpOptions() *media.PlainTransportOptions {
	return &media.PlainTransportOptions{ListenInfo: &media.TransportListenInfo{IP: lo}, EnableSctp: true}
}

func connectPlains(t *testing.T, f *fixture, a, b media.PlainTransport) {
	t.Helper()
	for _, x := range [][2]media.PlainTransport{{a, b}, {b, a}} {
		to := x[1].Tuple()
		if err := x[0].Connect(f.ctx, &media.PlainTransportConnectOptions{IP: to.LocalAddress, Port: to.LocalPort}); err != nil {
			t.Fatal(err)
		}
	}
	wait.Until(t, "SCTP connected", func() bool {
		return a.SctpState() == media.SctpConnected && b.SctpState() == media.SctpConnected
	})
}

// dataChain carries the messages of a direct data producer over SCTP
// from a to b: a data consumer on a, a data producer on b reading its
// stream, and a direct data consumer of that producer.
type dataChain struct {
	out media.DataConsumer // on a
	in  media.DataProducer // on b
	got *inbox
}

func newDataChain(t *testing.T, f *fixture, a, b media.Transport, src media.DataProducer, o *media.DataConsumerOptions) *dataChain {
	t.Helper()
	if o == nil {
		o = &media.DataConsumerOptions{}
	}
	o.DataProducerID = src.ID()
	out := must[media.DataConsumer](t)(a.ConsumeData(f.ctx, o))
	if out.Type() != media.DataSCTP || out.SctpStreamParameters() == nil {
		t.Fatalf("data consumer type %s, stream %+v", out.Type(), out.SctpStreamParameters())
	}
	in := must[media.DataProducer](t)(b.ProduceData(f.ctx, &media.DataProducerOptions{
		SctpStreamParameters: out.SctpStreamParameters(), Label: out.Label(), Protocol: out.Protocol()}))
	d := must[media.DirectTransport](t)(f.router.CreateDirectTransport(f.ctx, nil))
	dc := must[media.DataConsumer](t)(d.ConsumeData(f.ctx, &media.DataConsumerOptions{DataProducerID: in.ID()}))
	return &dataChain{out: out, in: in, got: collect(dc)}
}

func sendAll(t *testing.T, p media.DataProducer, msgs []string) {
	t.Helper()
	for _, m := range msgs {
		if err := p.Send([]byte(m), &media.DataSendOptions{PPID: media.PPIDString}); err != nil {
			t.Fatal(err)
		}
	}
}

func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

// TestPlainTransportSctp: two plain transports with enableSctp connected
// to each other run an association (new → connecting → connected), and a
// data consumer on one reaches a data producer on the other, ordered,
// unordered and partially reliable.
func TestPlainTransportSctp(t *testing.T) {
	f := newFixture(t)
	a := must[media.PlainTransport](t)(f.router.CreatePlainTransport(f.ctx, sctpOptions()))
	b := must[media.PlainTransport](t)(f.router.CreatePlainTransport(f.ctx, sctpOptions()))
	want := media.SctpParameters{Port: 5000, OS: 1024, MIS: 1024, MaxMessageSize: 262144}
	if p := a.SctpParameters(); p == nil || *p != want {
		t.Fatalf("sctpParameters %+v", p)
	}
	if a.SctpState() != media.SctpNew {
		t.Fatalf("sctpState %q before connect", a.SctpState())
	}
	la, lb := logSctpStates(a), logSctpStates(b)
	connectPlains(t, f, a, b)
	for _, l := range []*sctpStateLog{la, lb} {
		wait.Until(t, "sctpstatechange connected", func() bool { return len(l.get()) == 2 })
		if s := l.get(); s[0] != media.SctpConnecting || s[1] != media.SctpConnected {
			t.Fatalf("sctpstatechange %v", s)
		}
	}

	src := must[media.DirectTransport](t)(f.router.CreateDirectTransport(f.ctx, nil))
	dp := must[media.DataProducer](t)(src.ProduceData(f.ctx, &media.DataProducerOptions{Label: "chat", Protocol: "text"}))
	ordered := newDataChain(t, f, a, b, dp, nil)
	unordered := newDataChain(t, f, a, b, dp, &media.DataConsumerOptions{Ordered: new(false)})
	partial := newDataChain(t, f, a, b, dp, &media.DataConsumerOptions{MaxRetransmits: new(3)})
	if sp := unordered.out.SctpStreamParameters(); sp.IsOrdered() || sp.StreamID == ordered.out.SctpStreamParameters().StreamID {
		t.Fatalf("unordered stream %+v", sp)
	}
	if ordered.in.Label() != "chat" || ordered.in.Protocol() != "text" {
		t.Fatalf("label %q protocol %q", ordered.in.Label(), ordered.in.Protocol())
	}
	msgs := numbered("m", 300)
	sendAll(t, dp, msgs)
	if got := ordered.got.waitN(t, "ordered messages", len(msgs)); !slices.Equal(got, msgs) {
		t.Fatalf("ordered: %d messages, first %q", len(got), got[:3])
	}
	for _, c := range []*dataChain{unordered, partial} {
		got := c.got.waitN(t, "messages", len(msgs))
		slices.Sort(got)
		sorted := slices.Sorted(slices.Values(msgs))
		if !slices.Equal(got, sorted) {
			t.Fatalf("%d messages", len(got))
		}
	}

	// An empty message stays empty, with its PPID.
	if err := dp.Send(nil, nil); err != nil {
		t.Fatal(err)
	}
	got := ordered.got.waitN(t, "empty message", len(msgs)+1)
	ordered.got.mu.Lock()
	ppid := ordered.got.ppid[len(msgs)]
	ordered.got.mu.Unlock()
	if got[len(msgs)] != "" || ppid != media.PPIDBinaryEmpty {
		t.Fatalf("empty message %q, ppid %d", got[len(msgs)], ppid)
	}

	// Dumps and stats.
	da := must[*media.TransportDump](t)(a.Dump(f.ctx))
	db := must[*media.TransportDump](t)(b.Dump(f.ctx))
	if da.SctpParameters == nil || da.SctpState != media.SctpConnected || len(da.DataConsumerIDs) != 3 {
		t.Fatalf("dump %+v", da)
	}
	if db.SctpListener == nil || len(db.SctpListener.StreamIDTable) != 3 {
		t.Fatalf("sctpListener %+v", db.SctpListener)
	}
	if st := must[[]media.TransportStats](t)(b.GetStats(f.ctx)); st[0].SctpState != media.SctpConnected {
		t.Fatalf("stats sctpState %q", st[0].SctpState)
	}
	if n := must[int](t)(ordered.out.GetBufferedAmount(f.ctx)); n < 0 {
		t.Fatalf("buffered amount %d", n)
	}

	// Closing one side aborts the association: the other goes "closed".
	if err := a.Close(f.ctx); err != nil {
		t.Fatal(err)
	}
	if a.SctpState() != media.SctpClosed {
		t.Fatalf("closed transport's sctpState %q", a.SctpState())
	}
	wait.Until(t, "peer's association closed", func() bool { return b.SctpState() == media.SctpClosed })
	if s := lb.get(); s[len(s)-1] != media.SctpClosed {
		t.Fatalf("peer's sctpstatechange %v", s)
	}
}

// TestPlainTransportSctpLimits: numSctpStreams and maxSctpMessageSize
// hold both ways, and bad options are refused.
func TestPlainTransportSctpLimits(t *testing.T) {
	f := newFixture(t)
	small := sctpOptions()
	small.NumSctpStreams = &media.NumSctpStreams{OS: 2, MIS: 2}
	small.MaxSctpMessageSize = 1000
	a, b := sctpPlains(t, f, f.router, small, sctpOptions())

	if _, err := a.ProduceData(f.ctx, &media.DataProducerOptions{SctpStreamParameters: &media.SctpStreamParameters{StreamID: 2}}); !isErr(err, media.ErrInvalidParams) {
		t.Fatalf("stream id beyond MIS: %v", err)
	}
	if _, err := a.ProduceData(f.ctx, &media.DataProducerOptions{}); !isErr(err, media.ErrInvalidParams) {
		t.Fatalf("no sctpStreamParameters: %v", err)
	}
	src := must[media.DirectTransport](t)(f.router.CreateDirectTransport(f.ctx, nil))
	dp := must[media.DataProducer](t)(src.ProduceData(f.ctx, nil))

	// a → b: a sends nothing beyond its maxMessageSize.
	ab := newDataChain(t, f, a, b, dp, nil)
	must[media.DataConsumer](t)(a.ConsumeData(f.ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}))
	if _, err := a.ConsumeData(f.ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}); !isErr(err, media.ErrInvalidState) {
		t.Fatalf("third data consumer with OS 2: %v", err)
	}
	for _, m := range []string{string(bytes.Repeat([]byte("x"), 1000)), string(bytes.Repeat([]byte("y"), 1001)), "after"} {
		sendAll(t, dp, []string{m})
	}
	if got := ab.got.waitN(t, "a → b", 2); len(got) != 2 || len(got[0]) != 1000 || got[1] != "after" {
		t.Fatalf("a → b: %d messages", len(got))
	}

	// b → a: a drops what is beyond its maxMessageSize.
	src2 := must[media.DirectTransport](t)(f.router.CreateDirectTransport(f.ctx, nil))
	dp2 := must[media.DataProducer](t)(src2.ProduceData(f.ctx, nil))
	ba := newDataChain(t, f, b, a, dp2, nil)
	sendAll(t, dp2, []string{string(bytes.Repeat([]byte("z"), 1500)), "small"})
	if got := ba.got.waitN(t, "b → a", 1); len(got) != 1 || got[0] != "small" {
		t.Fatalf("b → a: %q", got)
	}

	// A stream beyond a's MIS is reset; the others go on.
	for range 2 {
		must[media.DataConsumer](t)(b.ConsumeData(f.ctx, &media.DataConsumerOptions{DataProducerID: dp2.ID()}))
	}
	sendAll(t, dp2, []string{"again"})
	if got := ba.got.waitN(t, "b → a after a stream beyond MIS", 2); got[1] != "again" {
		t.Fatalf("b → a: %q", got)
	}
	if a.SctpState() != media.SctpConnected {
		t.Fatalf("sctpState %q", a.SctpState())
	}

	for _, o := range []*media.PlainTransportOptions{
		{ListenInfo: &media.TransportListenInfo{IP: lo}, EnableSctp: true, NumSctpStreams: &media.NumSctpStreams{OS: 0, MIS: 10}},
		{ListenInfo: &media.TransportListenInfo{IP: lo}, EnableSctp: true, NumSctpStreams: &media.NumSctpStreams{OS: 10, MIS: 65536}},
		{ListenInfo: &media.TransportListenInfo{IP: lo}, EnableSctp: true, MaxSctpMessageSize: -1},
		{ListenInfo: &media.TransportListenInfo{IP: lo}, EnableSctp: true, SctpSendBufferSize: -1},
	} {
		if _, err := f.router.CreatePlainTransport(f.ctx, o); !isErr(err, media.ErrInvalidParams) {
			t.Fatalf("options %+v: %v", o, err)
		}
	}
	plain := must[media.PlainTransport](t)(f.router.CreatePlainTransport(f.ctx, &media.PlainTransportOptions{ListenInfo: &media.TransportListenInfo{IP: lo}}))
	if _, err := plain.ConsumeData(f.ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}); !isErr(err, media.ErrInvalidState) {
		t.Fatalf("consumeData without SCTP: %v", err)
	}
	if plain.SctpParameters() != nil || plain.SctpState() != "" {
		t.Fatalf("without SCTP: %+v %q", plain.SctpParameters(), plain.SctpState())
	}
}

// TestPlainTransportSctpComedia: a comedia transport learns its tuple
// from the peer's first SCTP packet and starts its association then.
func TestPlainTransportSctpComedia(t *testing.T) {
	f := newFixture(t)
	o := sctpOptions()
	o.Comedia = true
	a := must[media.PlainTransport](t)(f.router.CreatePlainTransport(f.ctx, o))
	b := must[media.PlainTransport](t)(f.router.CreatePlainTransport(f.ctx, sctpOptions()))
	tuples := make(chan media.TransportTuple, 1)
	a.OnTuple(func(tu media.TransportTuple) { tuples <- tu })
	to := a.Tuple()
	if err := b.Connect(f.ctx, &media.PlainTransportConnectOptions{IP: to.LocalAddress, Port: to.LocalPort}); err != nil {
		t.Fatal(err)
	}
	select {
	case tu := <-tuples:
		if tu.RemotePort != b.Tuple().LocalPort {
			t.Fatalf("tuple %+v", tu)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no tuple event")
	}
	wait.Until(t, "SCTP connected", func() bool {
		return a.SctpState() == media.SctpConnected && b.SctpState() == media.SctpConnected
	})
	src := must[media.DirectTransport](t)(f.router.CreateDirectTransport(f.ctx, nil))
	dp := must[media.DataProducer](t)(src.ProduceData(f.ctx, nil))
	c := newDataChain(t, f, b, a, dp, nil)
	sendAll(t, dp, []string{"hi"})
	c.got.waitN(t, "message to the comedia side", 1)
}

// TestSctpCloseFromCallback: closing the transport from a callback its
// own stream reader runs does not wait for itself.
func TestSctpCloseFromCallback(t *testing.T) {
	f := newFixture(t)
	a, b := sctpPlains(t, f, f.router, sctpOptions(), sctpOptions())
	src := must[media.DirectTransport](t)(f.router.CreateDirectTransport(f.ctx, nil))
	dp := must[media.DataProducer](t)(src.ProduceData(f.ctx, nil))
	c := newDataChain(t, f, a, b, dp, nil)
	done := make(chan struct{})
	c.in.OnClose(func() { close(done) })
	d := must[media.DirectTransport](t)(f.router.CreateDirectTransport(f.ctx, nil))
	dc := must[media.DataConsumer](t)(d.ConsumeData(f.ctx, &media.DataConsumerOptions{DataProducerID: c.in.ID()}))
	dc.OnMessage(func([]byte, int) { _ = b.Close(context.Background()) })
	sendAll(t, dp, []string{"close"})
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("transport not closed from its callback")
	}
}

// TestPipeToRouterData: pipeToRouter of a data producer between routers
// of two workers, on the same pair of pipe transports as RTP.
func TestPipeToRouterData(t *testing.T) {
	s := setupForwarding(t, 0, false)
	w2 := must[media.Worker](t)(s.api.CreateWorker(s.ctx, nil))
	t.Cleanup(func() { w2.Close(s.ctx) })
	r2 := must[media.Router](t)(w2.CreateRouter(s.ctx, &media.RouterOptions{MediaCodecs: mediaCodecs()}))
	src := must[media.DirectTransport](t)(s.router.CreateDirectTransport(s.ctx, nil))
	dp := must[media.DataProducer](t)(src.ProduceData(s.ctx, &media.DataProducerOptions{Label: "chat", Protocol: "p",
		AppData: media.AppData{"k": "v"}}))
	must[*media.PipeToRouterResult](t)(s.router.PipeToRouter(s.ctx, &media.PipeToRouterOptions{ProducerID: s.producer.ID(), Router: r2}))
	res := must[*media.PipeToRouterResult](t)(s.router.PipeToRouter(s.ctx, &media.PipeToRouterOptions{DataProducerID: dp.ID(), Router: r2}))
	pdp, pdc := res.PipeDataProducer, res.PipeDataConsumer
	if pdp == nil || pdc == nil || pdp.ID() != dp.ID() || pdp.Label() != "chat" || pdp.Protocol() != "p" || pdp.Type() != media.DataSCTP {
		t.Fatalf("result %+v", res)
	}
	if pdp.AppData()["k"] != "v" {
		t.Fatalf("appData %v", pdp.AppData())
	}
	if _, err := s.router.PipeToRouter(s.ctx, &media.PipeToRouterOptions{DataProducerID: dp.ID(), Router: r2}); !isErr(err, media.ErrDuplicateID) {
		t.Fatalf("second pipe: %v", err)
	}
	// One pair of pipe transports carries RTP and data.
	if d := must[*media.RouterDump](t)(r2.Dump(s.ctx)); len(d.TransportIDs) != 1 {
		t.Fatalf("destination router's transports %v", d.TransportIDs)
	}

	dst := must[media.DirectTransport](t)(r2.CreateDirectTransport(s.ctx, nil))
	dc := must[media.DataConsumer](t)(dst.ConsumeData(s.ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}))
	got := collect(dc)
	// PipeToRouter returned with the association up: nothing is lost.
	msgs := numbered("p", 100)
	sendAll(t, dp, msgs)
	if m := got.waitN(t, "messages through the pipe", len(msgs)); !slices.Equal(m, msgs) {
		t.Fatalf("%d messages", len(m))
	}

	paused := make(chan struct{}, 1)
	dc.OnDataProducerPause(func() { paused <- struct{}{} })
	if err := dp.Pause(s.ctx); err != nil {
		t.Fatal(err)
	}
	<-paused
	if err := dp.Resume(s.ctx); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, "resume through the pipe", func() bool { return !dc.DataProducerPaused() })

	closed := make(chan struct{})
	dc.OnDataProducerClose(func() { close(closed) })
	if err := dp.Close(s.ctx); err != nil {
		t.Fatal(err)
	}
	<-closed
	if !pdc.Closed() || !pdp.Closed() {
		t.Fatal("pipe chain not closed")
	}
}

// TestPipeToRouterDataWithoutSctp: a data producer cannot go through
// pipe transports made without SCTP.
func TestPipeToRouterDataWithoutSctp(t *testing.T) {
	f := newFixture(t)
	r2 := must[media.Router](t)(f.worker.CreateRouter(f.ctx, &media.RouterOptions{MediaCodecs: mediaCodecs()}))
	src := must[media.DirectTransport](t)(f.router.CreateDirectTransport(f.ctx, nil))
	dp := must[media.DataProducer](t)(src.ProduceData(f.ctx, nil))
	if _, err := f.router.PipeToRouter(f.ctx, &media.PipeToRouterOptions{DataProducerID: dp.ID(), Router: r2, EnableSctp: new(false)}); !isErr(err, media.ErrInvalidState) {
		t.Fatalf("pipe without SCTP: %v", err)
	}
}

// TestSctpStreamIDReuse: a closed data consumer's stream id serves a new
// one once the reset went both ways, so a transport with few streams
// keeps working across many data consumers.
func TestSctpStreamIDReuse(t *testing.T) {
	f := newFixture(t)
	few := sctpOptions()
	few.NumSctpStreams = &media.NumSctpStreams{OS: 2, MIS: 2}
	a, b := sctpPlains(t, f, f.router, few, sctpOptions())
	src := must[media.DirectTransport](t)(f.router.CreateDirectTransport(f.ctx, nil))
	dp := must[media.DataProducer](t)(src.ProduceData(f.ctx, nil))
	for i := range 6 {
		var out media.DataConsumer
		wait.Until(t, "a free stream id", func() bool {
			var err error
			out, err = a.ConsumeData(f.ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()})
			return err == nil
		})
		var in media.DataProducer
		wait.Until(t, "the stream id free on the peer", func() bool {
			var err error
			in, err = b.ProduceData(f.ctx, &media.DataProducerOptions{SctpStreamParameters: out.SctpStreamParameters()})
			return err == nil
		})
		d := must[media.DirectTransport](t)(f.router.CreateDirectTransport(f.ctx, nil))
		got := collect(must[media.DataConsumer](t)(d.ConsumeData(f.ctx, &media.DataConsumerOptions{DataProducerID: in.ID()})))
		msg := fmt.Sprintf("round-%d", i)
		sendAll(t, dp, []string{msg})
		if m := got.waitN(t, msg, 1); m[0] != msg {
			t.Fatalf("round %d: %q", i, m)
		}
		for _, c := range []interface{ Close(context.Context) error }{out, in, d} {
			if err := c.Close(f.ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestSctpSendBufferFull: messages beyond sctpSendBufferSize are dropped
// with "sctpsendbufferfull".
func TestSctpSendBufferFull(t *testing.T) {
	f := newFixture(t)
	o := sctpOptions()
	o.SctpSendBufferSize = 1000
	a, b := sctpPlains(t, f, f.router, o, sctpOptions())
	src := must[media.DirectTransport](t)(f.router.CreateDirectTransport(f.ctx, nil))
	dp := must[media.DataProducer](t)(src.ProduceData(f.ctx, nil))
	c := newDataChain(t, f, a, b, dp, nil)
	full := make(chan struct{}, 100)
	c.out.OnSctpSendBufferFull(func() { full <- struct{}{} })
	big := string(bytes.Repeat([]byte("b"), 900))
	for range 50 {
		sendAll(t, dp, []string{big})
	}
	select {
	case <-full:
	case <-time.After(10 * time.Second):
		t.Fatal("no sctpsendbufferfull")
	}
	wait.Until(t, "a message once the buffer drained", func() bool {
		sendAll(t, dp, []string{"last"})
		return slices.Contains(c.got.get(), "last")
	})
}

// BenchmarkSctpPipeMessages sends 200-byte messages from a direct data
// producer through a pipe between two workers (SCTP over UDP) to a
// direct data consumer, and waits for them all.
func BenchmarkSctpPipeMessages(b *testing.B) {
	f := newFixture(b)
	w2 := must[media.Worker](b)(f.api.CreateWorker(f.ctx, nil))
	b.Cleanup(func() { w2.Close(f.ctx) })
	r2 := must[media.Router](b)(w2.CreateRouter(f.ctx, &media.RouterOptions{MediaCodecs: mediaCodecs()}))
	src := must[media.DirectTransport](b)(f.router.CreateDirectTransport(f.ctx, nil))
	dp := must[media.DataProducer](b)(src.ProduceData(f.ctx, nil))
	must[*media.PipeToRouterResult](b)(f.router.PipeToRouter(f.ctx, &media.PipeToRouterOptions{DataProducerID: dp.ID(), Router: r2}))
	dst := must[media.DirectTransport](b)(r2.CreateDirectTransport(f.ctx, nil))
	dc := must[media.DataConsumer](b)(dst.ConsumeData(f.ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}))
	var n atomic.Int64
	dc.OnMessage(func([]byte, int) { n.Add(1) })
	msg := bytes.Repeat([]byte("m"), 200)
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for i := range b.N {
		if err := dp.Send(msg, nil); err != nil {
			b.Fatal(err)
		}
		// Stay within the send buffer: no more than 1000 in flight.
		for int64(i)-n.Load() > 1000 {
			time.Sleep(50 * time.Microsecond)
		}
	}
	wait.Until(b, "every message", func() bool { return n.Load() == int64(b.N) })
}
