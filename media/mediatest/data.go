package mediatest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/ropehq/rope/media"
)

// messages collects a data consumer's messages.
type messages struct {
	mu  sync.Mutex
	got []string
}

func collectMessages(c media.DataConsumer) *messages {
	m := &messages{}
	c.OnMessage(func(b []byte, _ int) {
		m.mu.Lock()
		m.got = append(m.got, string(b))
		m.mu.Unlock()
	})
	return m
}

func (m *messages) list() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.got)
}

// sctpPlain creates a plain transport with SCTP.
func sctpPlain(t *testing.T, r media.Router) media.PlainTransport {
	t.Helper()
	tr := check[media.PlainTransport](t)(r.CreatePlainTransport(ctxFor(t), &media.PlainTransportOptions{ListenInfo: listenInfo(), EnableSctp: true}))
	if p := tr.SctpParameters(); p == nil || p.Port != 5000 || p.OS != 1024 || p.MIS != 1024 {
		t.Fatalf("sctpParameters %+v", p)
	}
	return tr
}

// testPipeData: data crosses SCTP twice, then a pipe between workers. A
// direct data producer on r1 is consumed by plain transport a, whose SCTP
// association with plain transport b (both on r1, connected to each
// other: new → connecting → connected) carries it to a data producer on
// b reading that stream; that data producer is piped to r2, on another
// worker, where a direct data consumer gets every message in order.
// Closing b's data producer closes the pipe and reaches the consumer.
func testPipeData(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r1, r2 := newRouter(t, newWorker(t, api)), newRouter(t, newWorker(t, api))
	src := check[media.DirectTransport](t)(r1.CreateDirectTransport(ctx, nil))
	dp := check[media.DataProducer](t)(src.ProduceData(ctx, &media.DataProducerOptions{Label: "chat", Protocol: "text"}))

	a, b := sctpPlain(t, r1), sctpPlain(t, r1)
	if s := b.SctpState(); s != media.SctpNew {
		t.Fatalf("sctpState %q before connect", s)
	}
	connected := newFlag()
	b.OnSctpStateChange(func(s media.SctpState) {
		if s == media.SctpConnected {
			connected.set()
		}
	})
	for _, x := range [][2]media.PlainTransport{{a, b}, {b, a}} {
		to := x[1].Tuple()
		if err := x[0].Connect(ctx, &media.PlainTransportConnectOptions{IP: to.LocalAddress, Port: to.LocalPort}); err != nil {
			t.Fatal(err)
		}
	}
	connected.wait(t, "sctpstatechange connected")
	eventually(t, "both associations connected", func() bool {
		return a.SctpState() == media.SctpConnected && b.SctpState() == media.SctpConnected
	})

	out := check[media.DataConsumer](t)(a.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}))
	sp := out.SctpStreamParameters()
	if out.Type() != media.DataSCTP || sp == nil || !sp.IsOrdered() {
		t.Fatalf("data consumer type %q, sctpStreamParameters %+v", out.Type(), sp)
	}
	in := check[media.DataProducer](t)(b.ProduceData(ctx, &media.DataProducerOptions{SctpStreamParameters: sp, Label: out.Label(), Protocol: out.Protocol()}))
	res := check[*media.PipeToRouterResult](t)(r1.PipeToRouter(ctx, &media.PipeToRouterOptions{DataProducerID: in.ID(), Router: r2}))
	if res.PipeDataProducer == nil || res.PipeDataConsumer == nil || res.PipeDataProducer.ID() != in.ID() {
		t.Fatalf("result %+v", res)
	}
	dst := check[media.DirectTransport](t)(r2.CreateDirectTransport(ctx, nil))
	dc := check[media.DataConsumer](t)(dst.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: in.ID()}))
	if dc.Label() != "chat" || dc.Protocol() != "text" {
		t.Fatalf("label %q protocol %q through the pipe", dc.Label(), dc.Protocol())
	}
	got := collectMessages(dc)
	want := make([]string, 20)
	for i := range want {
		want[i] = fmt.Sprintf("message %d", i)
		if err := dp.Send([]byte(want[i]), &media.DataSendOptions{PPID: media.PPIDString}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "messages through SCTP and the pipe", func() bool { return len(got.list()) >= len(want) })
	if l := got.list(); !slices.Equal(l, want) {
		t.Fatalf("messages %q", l)
	}

	closed := newFlag()
	dc.OnDataProducerClose(closed.set)
	if err := in.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	closed.wait(t, "dataproducerclose through the pipe")
	eventually(t, "pipe data producer closed", res.PipeDataProducer.Closed)
}

// testDirectDataMessages: a DirectTransport carries text, binary (every
// byte value), empty and large messages intact and in order, each with
// its PPID (given, or the default for binary and empty ones), and refuses
// one beyond its maxMessageSize.
func testDirectDataMessages(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r := newRouter(t, newWorker(t, api))
	tr := check[media.DirectTransport](t)(r.CreateDirectTransport(ctx, &media.DirectTransportOptions{MaxMessageSize: 100_000}))
	dp := check[media.DataProducer](t)(tr.ProduceData(ctx, nil))
	dc := check[media.DataConsumer](t)(tr.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}))
	if dp.Type() != media.DataDirect || dc.Type() != media.DataDirect || dc.SctpStreamParameters() != nil {
		t.Fatalf("types %q %q sctpStreamParameters %+v", dp.Type(), dc.Type(), dc.SctpStreamParameters())
	}
	type msg struct {
		b    string
		ppid int
	}
	var mu sync.Mutex
	var got []msg
	dc.OnMessage(func(b []byte, ppid int) {
		mu.Lock()
		got = append(got, msg{string(b), ppid})
		mu.Unlock()
	})
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	large := bytes.Repeat([]byte("0123456789"), 9_000)
	want := []msg{{"text", media.PPIDString}, {string(binary), media.PPIDBinary}, {"", media.PPIDBinaryEmpty}, {string(large), media.PPIDBinary}}
	for i, m := range want {
		var opts *media.DataSendOptions
		if i == 0 {
			opts = &media.DataSendOptions{PPID: media.PPIDString}
		}
		if err := dp.Send([]byte(m.b), opts); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	eventually(t, "every message", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= len(want) })
	mu.Lock()
	defer mu.Unlock()
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("message %d: %d bytes ppid %d, want %d bytes ppid %d", i, len(got[i].b), got[i].ppid, len(want[i].b), want[i].ppid)
		}
	}
	if err := dp.Send(make([]byte, 100_001), nil); err == nil {
		t.Fatal("a message beyond maxMessageSize was accepted")
	}
}
