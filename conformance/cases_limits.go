package conformance

import (
	"fmt"
	"strings"

	"github.com/coder/websocket"
	"github.com/ropehq/rope/rope"
)

// maxExactSize bounds the maxMessageSize the suite sends a message of.
const maxExactSize = 16 << 20

func limitCases() []*Case {
	return []*Case{
		{ID: "rope/10.1.1/1", Level: MUST,
			Title:  "every server MUST accept inbound messages of up to 65,536 bytes",
			Expect: "a 65,536-byte Fixture.echo call answered with its params",
			Run:    func(t *T) { runExactSize(t, rope.MinMaxMessageSize) }},
		{ID: "rope/10.1.1/2", Level: MUST,
			Title:  "the server MUST accept every message of at most maxMessageSize",
			Expect: "a Fixture.echo call of exactly maxMessageSize bytes answered with its params",
			Run: func(t *T) {
				_, in := t.Connect("probe")
				if in.MaxMessageSize > maxExactSize {
					t.Skipf("maxMessageSize %d is over the %d bytes the suite sends", in.MaxMessageSize, maxExactSize)
				}
				runExactSize(t, int(in.MaxMessageSize))
			}},
		{ID: "rope/10.1.2/1", Level: MUST,
			Title:  "on an inbound text message larger than its limit the server MUST close with 1009; the server and other connections continue",
			Expect: "close 1009 for maxMessageSize+1 bytes; another connection still answers, a new one is accepted, the closed one can resume",
			Run:    func(t *T) { runOversize(t, websocket.MessageText) }},
		{ID: "rope/10.3.1/1", Level: MUST,
			Title:  "a server MUST NOT close a connection as a slow consumer while fewer than 4096 messages and 4 MiB wait for it",
			Expect: "a connection that reads nothing while 3,801 notifications are issued then reads them all, no close",
			Run:    runQueueFloor},
		{ID: "rope/10.4.1/1", Level: MUST,
			Title:  "rope.ping counts against the in-flight limit: at the limit it MUST get -32005",
			Expect: "after sleeps fill the limit (some answered -32005), a rope.ping is answered -32005 at once (skipped if 1024 sleeps do not reach the limit)",
			Run:    runPingInFlight},
		{ID: "rope/10.1.2/2", Level: MUST,
			Title:  "on an inbound binary message larger than its limit the server MUST close with 1009",
			Expect: "close 1009 for a binary message of maxMessageSize+1 bytes",
			Run:    func(t *T) { runOversize(t, websocket.MessageBinary) }},
	}
}

// echoOfSize is a Fixture.echo call of exactly size bytes and its string
// param.
func echoOfSize(size int) (msg, param string) {
	head := `{"jsonrpc":"2.0","id":1,"method":"rope.call","params":{"object":"fixture","method":"echo","params":"`
	tail := `"}}`
	param = strings.Repeat("x", size-len(head)-len(tail))
	return head + param + tail, param
}

func runExactSize(t *T, size int) {
	p, _ := t.Connect("a")
	msg, param := echoOfSize(size)
	p.Send(msg)
	m := p.Response()
	if m.Error != nil || string(m.Result) != `"`+param+`"` {
		t.Fatalf("a %d-byte message answered %.300s, want its params echoed", size, m.Raw)
	}
}

func runOversize(t *T, typ websocket.MessageType) {
	big, in := t.Connect("big")
	other, _ := t.Connect("other")
	msg, _ := echoOfSize(int(in.MaxMessageSize) + 1)
	kind := "text"
	if typ == websocket.MessageBinary {
		kind = "binary"
	}
	big.record("sent", kind, []byte(msg))
	_ = big.ws.Write(t.ctx, typ, []byte(msg)) // the server may close while we write
	for {
		m, err := big.TryRead()
		if err != nil {
			if !closedWith(err, websocket.StatusMessageTooBig) {
				t.Fatalf("%v, want close 1009", err)
			}
			break
		}
		if _, ok := m.Seq(); !ok {
			t.Fatalf("got %.300s, want close 1009", m.Raw)
		}
	}
	other.Barrier()
	t.Dial("new", DialOptions{}).Init()
	if typ == websocket.MessageText { // the client MAY reconnect and resume
		r := t.Dial("resume", DialOptions{Query: resumeQuery(in.Epoch, big.LastSeq)}).Init()
		if !r.Resumed {
			t.Fatalf("resume after close 1009 at seq %d: got a snapshot, want resumed", big.LastSeq)
		}
	}
}

// Queue floor of §10.3.1, and the notifications runQueueFloor causes: near
// the floor in messages, small in bytes, so that the case stays quick.
const (
	floorMessages = 4096
	floorBytes    = 4 << 20
	floorDrive    = 1900 // increment iterations: 3,800 notifications
)

// runQueueFloor has a peer read nothing while another issues about 3,800
// notifications, then has it read them all.
func runQueueFloor(t *T) {
	slow, _ := t.Connect("slow")
	b, _ := t.Connect("driver")
	counter := b.CreateCounter(0)
	count, size := 1, 0
	for left := floorDrive; left > 0; left -= min(left, 1000) {
		notes, _ := b.MustCall(counter, "increment", map[string]any{"times": min(left, 1000)})
		for _, m := range notes {
			count, size = count+1, size+len(m.Raw)
		}
	}
	if count >= floorMessages || size >= floorBytes {
		t.Skipf("%d notifications of %d bytes: over the floor (long object ids?)", count, size)
	}
	S, _ := b.Ping()
	for slow.LastSeq < S {
		if _, err := slow.TryRead(); err != nil {
			t.Fatalf("%v after %d of %d notifications (%d bytes) were issued for it; fewer than %d messages and %d bytes may not close it",
				err, slow.LastSeq-(S-uint64(count)), count, size, floorMessages, floorBytes)
		}
	}
	slow.Barrier()
}

// runPingInFlight fills the in-flight limit with sleeps and sends a
// rope.ping behind them.
func runPingInFlight(t *T) {
	p, _ := t.Connect("a")
	const probe = 1024
	for i := range probe {
		p.Send(call(fmt.Sprintf(`"s%d"`, i), fixtureID, "sleep", `{"ms":10000}`))
	}
	p.Send(`{"jsonrpc":"2.0","id":"ping","method":"rope.ping"}`)
	overloaded := 0
	for {
		m := p.Response()
		if string(m.ID) != `"ping"` {
			if m.Code() == int(rope.CodeOverloaded) {
				overloaded++
			}
			continue
		}
		switch {
		case overloaded == 0:
			t.Skipf("%d sleeps at once got no -32005: the limit is above what the case probes", probe)
		case m.Code() != int(rope.CodeOverloaded):
			t.Fatalf("rope.ping behind %d requests in flight (%d answered -32005) got %.300s, want -32005", probe-overloaded, overloaded, m.Raw)
		}
		return
	}
}
