package conformance

import (
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
