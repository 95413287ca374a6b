package mediatest

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/ropehq/rope/media"
)

// Steps of DataConsumer's own methods (mediasoup v3's): send,
// getBufferedAmount, setBufferedAmountLowThreshold with
// "bufferedamountlow", "sctpsendbufferfull", pause and resume with their
// events, and subchannels.

// inbox records a data consumer's messages with their PPIDs.
type inbox struct {
	mu   sync.Mutex
	msgs [][]byte
	ppid []int
}

func record(c media.DataConsumer) *inbox {
	in := &inbox{}
	c.OnMessage(func(b []byte, ppid int) {
		in.mu.Lock()
		in.msgs = append(in.msgs, bytes.Clone(b))
		in.ppid = append(in.ppid, ppid)
		in.mu.Unlock()
	})
	return in
}

func (in *inbox) len() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.msgs)
}

func (in *inbox) at(i int) ([]byte, int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.msgs[i], in.ppid[i]
}

func (in *inbox) strings() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]string, len(in.msgs))
	for i, m := range in.msgs {
		out[i] = string(m)
	}
	return out
}

// waitMessage waits for message i and checks it.
func (in *inbox) waitMessage(t *testing.T, i int, want []byte, ppid int) {
	t.Helper()
	eventually(t, fmt.Sprintf("message %d", i), func() bool { return in.len() > i })
	got, gotPPID := in.at(i)
	if !bytes.Equal(got, want) || gotPPID != ppid {
		t.Fatalf("message %d: %q ppid %d, want %q ppid %d", i, got, gotPPID, want, ppid)
	}
}

// allBytes is a message with every byte value, to show binary safety.
func allBytes() []byte {
	b := make([]byte, 512)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// amounts records "bufferedamountlow" events.
type amounts struct {
	mu  sync.Mutex
	got []int
}

func recordLow(c media.DataConsumer) *amounts {
	a := &amounts{}
	c.OnBufferedAmountLow(func(n int) {
		a.mu.Lock()
		a.got = append(a.got, n)
		a.mu.Unlock()
	})
	return a
}

func (a *amounts) list() []int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.got)
}

// testDataConsumerSendDirect: DataConsumer.send on a DirectTransport
// reaches its "message" listeners, binary-safe, with the PPID given (or
// 53/57 by default), past the subchannel filters; it fails while paused
// and beyond maxMessageSize. A direct consumer buffers nothing:
// getBufferedAmount is 0 and setBufferedAmountLowThreshold fires
// "bufferedamountlow" (0) at once.
func testDataConsumerSendDirect(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r := newRouter(t, newWorker(t, api))
	tr := check[media.DirectTransport](t)(r.CreateDirectTransport(ctx, &media.DirectTransportOptions{MaxMessageSize: 1000}))
	dp := check[media.DataProducer](t)(tr.ProduceData(ctx, nil))
	dc := check[media.DataConsumer](t)(tr.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: dp.ID(), Subchannels: []uint16{7}}))
	in := record(dc)

	if err := dc.Send(ctx, []byte("from the server"), media.PPIDString); err != nil {
		t.Fatal(err)
	}
	in.waitMessage(t, 0, []byte("from the server"), media.PPIDString)
	if err := dc.Send(ctx, allBytes(), 0); err != nil {
		t.Fatal(err)
	}
	in.waitMessage(t, 1, allBytes(), media.PPIDBinary)
	if err := dc.Send(ctx, nil, 0); err != nil {
		t.Fatal(err)
	}
	in.waitMessage(t, 2, []byte{}, media.PPIDBinaryEmpty)

	wantErr(t, "send beyond maxMessageSize", dc.Send(ctx, make([]byte, 1001), 0), media.ErrInvalidParams)
	if n := check[int](t)(dc.GetBufferedAmount(ctx)); n != 0 {
		t.Fatalf("bufferedAmount %d on a direct data consumer", n)
	}
	low := recordLow(dc)
	if err := dc.SetBufferedAmountLowThreshold(ctx, 100); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bufferedamountlow at once", func() bool { return slices.Equal(low.list(), []int{0}) })
	if d := check[*media.DataConsumerDump](t)(dc.Dump(ctx)); d.BufferedAmountLowThreshold != 100 {
		t.Fatalf("dump bufferedAmountLowThreshold %d", d.BufferedAmountLowThreshold)
	}
	wantErr(t, "negative threshold", dc.SetBufferedAmountLowThreshold(ctx, -1), media.ErrInvalidParams)

	if err := dc.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "send while paused", dc.Send(ctx, []byte("x"), 0), media.ErrInvalidState)
	if err := dc.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if err := dc.Send(ctx, []byte("after resume"), 0); err != nil {
		t.Fatal(err)
	}
	in.waitMessage(t, 3, []byte("after resume"), media.PPIDBinary)
	stats := check[[]media.DataConsumerStats](t)(dc.GetStats(ctx))
	if len(stats) != 1 || stats[0].MessagesSent != 4 {
		t.Fatalf("stats %+v", stats)
	}
	if err := dc.Close(ctx); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "send once closed", dc.Send(ctx, []byte("x"), 0), media.ErrClosed)
}

// sctpLink is a pair of plain transports on r whose SCTP associations
// are connected to each other: a data consumer on a is read by a data
// producer on b.
func sctpLink(t *testing.T, r media.Router, sendBuffer int) (a, b media.PlainTransport) {
	t.Helper()
	ctx := ctxFor(t)
	opts := func(buf int) *media.PlainTransportOptions {
		return &media.PlainTransportOptions{ListenInfo: listenInfo(), EnableSctp: true, SctpSendBufferSize: buf}
	}
	a = check[media.PlainTransport](t)(r.CreatePlainTransport(ctx, opts(sendBuffer)))
	b = check[media.PlainTransport](t)(r.CreatePlainTransport(ctx, opts(0)))
	for _, x := range [][2]media.PlainTransport{{a, b}, {b, a}} {
		to := x[1].Tuple()
		if err := x[0].Connect(ctx, &media.PlainTransportConnectOptions{IP: to.LocalAddress, Port: to.LocalPort}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "both associations connected", func() bool {
		return a.SctpState() == media.SctpConnected && b.SctpState() == media.SctpConnected
	})
	return a, b
}

// sctpChain is a data consumer on an SCTP transport and, at the other
// end of the association, a direct data consumer of what arrives.
type sctpChain struct {
	dp  media.DataProducer   // direct, feeding out
	out media.DataConsumer   // the SCTP data consumer under test
	in  media.DataProducer   // reads out's stream at the other end
	got *inbox               // what in receives
	dst media.DataConsumer   // direct consumer of in
	a   media.PlainTransport // out's transport
}

func newSctpChain(t *testing.T, api media.API, sendBuffer int) *sctpChain {
	t.Helper()
	ctx := ctxFor(t)
	r := newRouter(t, newWorker(t, api))
	a, b := sctpLink(t, r, sendBuffer)
	direct := check[media.DirectTransport](t)(r.CreateDirectTransport(ctx, nil))
	c := &sctpChain{a: a}
	c.dp = check[media.DataProducer](t)(direct.ProduceData(ctx, &media.DataProducerOptions{Label: "chain"}))
	c.out = check[media.DataConsumer](t)(a.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: c.dp.ID()}))
	c.in = check[media.DataProducer](t)(b.ProduceData(ctx, &media.DataProducerOptions{SctpStreamParameters: c.out.SctpStreamParameters(), Label: "chain"}))
	c.dst = check[media.DataConsumer](t)(direct.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: c.in.ID()}))
	c.got = record(c.dst)
	return c
}

// testDataConsumerSendSctp: DataConsumer.send writes on the consumer's
// SCTP stream: the peer's data producer of that stream gets the message
// with its PPID, binary-safe; an empty PPID carries an empty message.
// "bufferedamountlow" fires at once for a threshold above the buffered
// amount, and again when a large message drains. Beyond maxMessageSize
// and while paused, send fails.
func testDataConsumerSendSctp(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	c := newSctpChain(t, api, 0)
	if c.out.Type() != media.DataSCTP {
		t.Fatalf("type %q", c.out.Type())
	}
	if err := c.out.Send(ctx, []byte("hello over SCTP"), media.PPIDString); err != nil {
		t.Fatal(err)
	}
	c.got.waitMessage(t, 0, []byte("hello over SCTP"), media.PPIDString)
	if err := c.out.Send(ctx, allBytes(), 0); err != nil {
		t.Fatal(err)
	}
	c.got.waitMessage(t, 1, allBytes(), media.PPIDBinary)
	if err := c.out.Send(ctx, nil, media.PPIDStringEmpty); err != nil {
		t.Fatal(err)
	}
	c.got.waitMessage(t, 2, []byte{}, media.PPIDStringEmpty)
	// Forwarded messages go on alongside.
	if err := c.dp.Send([]byte("forwarded"), &media.DataSendOptions{PPID: media.PPIDString}); err != nil {
		t.Fatal(err)
	}
	c.got.waitMessage(t, 3, []byte("forwarded"), media.PPIDString)

	// Once the messages above are acknowledged, nothing is buffered.
	eventually(t, "bufferedAmount 0", func() bool {
		n, err := c.out.GetBufferedAmount(ctx)
		return err == nil && n == 0
	})
	low := recordLow(c.out)
	if err := c.out.SetBufferedAmountLowThreshold(ctx, 1<<20); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bufferedamountlow at once", func() bool { return len(low.list()) >= 1 })
	if err := c.out.SetBufferedAmountLowThreshold(ctx, 0); err != nil {
		t.Fatal(err)
	}
	// A large message fills the stream's buffer until the peer
	// acknowledges it: it drains to 0, the threshold.
	big := bytes.Repeat([]byte("b"), 60000)
	n := len(low.list())
	if err := c.out.Send(ctx, big, 0); err != nil {
		t.Fatal(err)
	}
	c.got.waitMessage(t, 4, big, media.PPIDBinary)
	eventually(t, "bufferedamountlow after the stream drained", func() bool {
		l := low.list()
		return len(l) > n && l[len(l)-1] == 0
	})
	if d := check[*media.DataConsumerDump](t)(c.out.Dump(ctx)); d.BufferedAmountLowThreshold != 0 {
		t.Fatalf("dump bufferedAmountLowThreshold %d", d.BufferedAmountLowThreshold)
	}

	maxSize := c.a.SctpParameters().MaxMessageSize
	wantErr(t, "send beyond maxMessageSize", c.out.Send(ctx, make([]byte, maxSize+1), 0), media.ErrInvalidParams)
	if err := c.dp.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "send while the data producer is paused", c.out.Send(ctx, []byte("x"), 0), media.ErrInvalidState)
	if err := c.dp.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.out.Send(ctx, []byte("last"), 0); err != nil {
		t.Fatal(err)
	}
	c.got.waitMessage(t, 5, []byte("last"), media.PPIDBinary)
	stats := check[[]media.DataConsumerStats](t)(c.out.GetStats(ctx))
	if len(stats) != 1 || stats[0].MessagesSent < 6 {
		t.Fatalf("stats %+v", stats)
	}
}

// testDataConsumerSendBufferFull: with a small sctpSendBufferSize, sends
// faster than the peer acknowledges fail with ErrSctpSendBufferFull
// after "sctpsendbufferfull"; once the buffer drained, send works again.
func testDataConsumerSendBufferFull(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	c := newSctpChain(t, api, 1000)
	full := newFlag()
	c.out.OnSctpSendBufferFull(full.set)
	msg := bytes.Repeat([]byte("f"), 900)
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		err = c.out.Send(ctx, msg, 0)
	}
	wantErr(t, "send into a full buffer", err, media.ErrSctpSendBufferFull)
	full.wait(t, "sctpsendbufferfull")
	eventually(t, "a send once the buffer drained", func() bool {
		return c.out.Send(ctx, []byte("drained"), 0) == nil
	})
	eventually(t, "the message after the drain", func() bool { return slices.Contains(c.got.strings(), "drained") })
}

// testDataConsumerPauseSubchannels: pause and resume of a data consumer
// and of its data producer, with their events and properties, stop and
// restart delivery; subchannels set, added and removed filter what the
// data producer sends with subchannels or a required subchannel.
func testDataConsumerPauseSubchannels(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r := newRouter(t, newWorker(t, api))
	tr := check[media.DirectTransport](t)(r.CreateDirectTransport(ctx, nil))
	dp := check[media.DataProducer](t)(tr.ProduceData(ctx, nil))
	dc := check[media.DataConsumer](t)(tr.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: dp.ID(), Subchannels: []uint16{2, 1, 2}}))
	if s := dc.Subchannels(); !slices.Equal(s, []uint16{1, 2}) {
		t.Fatalf("subchannels %v", s)
	}
	in := record(dc)
	send := func(m string, o *media.DataSendOptions) {
		t.Helper()
		if err := dp.Send([]byte(m), o); err != nil {
			t.Fatal(err)
		}
	}

	events := map[string]*flag{}
	for name, on := range map[string]func(func()) func(){
		"pause": dc.OnPause, "resume": dc.OnResume,
		"dataproducerpause": dc.OnDataProducerPause, "dataproducerresume": dc.OnDataProducerResume,
	} {
		events[name] = newFlag()
		on(events[name].set)
	}
	if err := dc.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	events["pause"].wait(t, "pause")
	if !dc.Paused() {
		t.Fatal("not paused")
	}
	send("while paused", nil)
	if err := dc.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	events["resume"].wait(t, "resume")
	if err := dp.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	events["dataproducerpause"].wait(t, "dataproducerpause")
	eventually(t, "dataProducerPaused", dc.DataProducerPaused)
	send("while the data producer is paused", nil)
	if err := dp.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	events["dataproducerresume"].wait(t, "dataproducerresume")
	eventually(t, "dataProducerPaused false", func() bool { return !dc.DataProducerPaused() })

	one := func(v uint16) *uint16 { return &v }
	if err := dc.SetSubchannels(ctx, []uint16{3, 1, 3}); err != nil {
		t.Fatal(err)
	}
	if s := dc.Subchannels(); !slices.Equal(s, []uint16{1, 3}) {
		t.Fatalf("subchannels after set %v", s)
	}
	if err := dc.AddSubchannel(ctx, 5); err != nil {
		t.Fatal(err)
	}
	if err := dc.RemoveSubchannel(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if s := dc.Subchannels(); !slices.Equal(s, []uint16{3, 5}) {
		t.Fatalf("subchannels after add 5, remove 1: %v", s)
	}
	if d := check[*media.DataConsumerDump](t)(dc.Dump(ctx)); !slices.Equal(d.Subchannels, []uint16{3, 5}) {
		t.Fatalf("dump subchannels %v", d.Subchannels)
	}
	send("to 5", &media.DataSendOptions{Subchannels: []uint16{5, 9}})
	send("to 1", &media.DataSendOptions{Subchannels: []uint16{1}})
	send("requires 3", &media.DataSendOptions{RequiredSubchannel: one(3)})
	send("requires 9", &media.DataSendOptions{RequiredSubchannel: one(9)})
	send("to 5, requires 1", &media.DataSendOptions{Subchannels: []uint16{5}, RequiredSubchannel: one(1)})
	send("to all", nil)
	eventually(t, "the last message", func() bool { return slices.Contains(in.strings(), "to all") })
	if got, want := in.strings(), []string{"to 5", "requires 3", "to all"}; !slices.Equal(got, want) {
		t.Fatalf("messages %q, want %q", got, want)
	}
	if err := dc.Close(ctx); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "setSubchannels once closed", dc.SetSubchannels(ctx, nil), media.ErrClosed)
	wantErr(t, "pause once closed", dc.Pause(ctx), media.ErrClosed)
}
