package conformance

import (
	"github.com/coder/websocket"
	"github.com/ropehq/rope/rope"
)

// step is one scripted send/expect exchange: send a frame, expect an error
// response with code and id, or (code 0) a result: JSON-equal to result, or
// any result when result is empty.
type step struct {
	send   string
	binary bool
	code   rope.Code
	id     string
	result string
}

// errStep expects an error with code and id in answer to send.
func errStep(send string, code rope.Code, id string) step {
	return step{send: send, code: code, id: id}
}

// scripted returns a case body that runs the steps on one connection in
// order and then checks the connection is still open and answering.
func scripted(steps ...step) func(*T) {
	return func(t *T) {
		p, _ := t.Connect("a")
		for _, s := range steps {
			s.run(t, p)
		}
		p.Barrier()
	}
}

func (s step) run(t *T, p *Peer) {
	if s.binary {
		p.SendBinary([]byte(s.send))
	} else {
		p.Send(s.send)
	}
	var m *Msg
	if s.id == "null" {
		m = p.Answer() // answered at once, without execution
	} else {
		m = p.Response()
	}
	if s.code != 0 {
		t.ExpectError(m, s.code, s.id)
		return
	}
	if string(m.ID) != s.id {
		t.Fatalf("got id %s in %.300s, want %s", orAbsent(m.ID), m.Raw, s.id)
	}
	if s.result == "" {
		if m.Error != nil || m.Result == nil {
			t.Fatalf("got %.300s, want a result", m.Raw)
		}
		return
	}
	t.ExpectResult(m, s.result)
}

// closedWith reports whether err is a close with one of the codes.
func closedWith(err error, codes ...websocket.StatusCode) bool {
	got := websocket.CloseStatus(err)
	for _, c := range codes {
		if got == c {
			return true
		}
	}
	return false
}
