package ropeserver

import (
	"net/http"

	"github.com/ropehq/rope/rope"
)

// Stats are the server's own figures at one moment, for monitors and
// metrics (package monitor); reading them takes the server's lock once
// and each connection's queue lock once.
type Stats struct {
	// Conns is the number of open connections.
	Conns int
	// QueuedMessages and QueuedBytes are the messages and bytes waiting in
	// every connection's send queue (rope.init and replays included);
	// MaxQueuedBytes is the fullest queue's bytes.
	QueuedMessages int
	QueuedBytes    int64
	MaxQueuedBytes int64
	// ReplayMessages and ReplayBytes are what the replay ring keeps.
	ReplayMessages int
	ReplayBytes    int64
	// StateBytes is the objects' state as MaxStateBytes counts it.
	StateBytes int64
	// Objects is the number of live objects.
	Objects int
	// Seq is the last sequence number sent.
	Seq uint64
	// InFlight is the number of requests running.
	InFlight int64
}

// Stats returns the server's figures now.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	st := Stats{
		Conns: len(s.conns), ReplayMessages: s.ring.n, ReplayBytes: s.ring.bytes,
		StateBytes: s.stateBytes, Objects: len(s.objects), Seq: s.seq,
	}
	conns := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	st.InFlight = s.inFlight.Load()
	for _, c := range conns {
		c.queue.mu.Lock()
		n, b := c.queue.count+c.queue.exemptCount, c.queue.bytes+c.queue.exemptBytes
		c.queue.mu.Unlock()
		st.QueuedMessages += n
		st.QueuedBytes += b
		st.MaxQueuedBytes = max(st.MaxQueuedBytes, b)
	}
	return st
}

// Objects returns the live objects in creation order (parents before
// their children).
func (s *Server) Objects() []*Object {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Object, 0, len(s.objects))
	for _, o := range s.ordered {
		if !o.closed {
			out = append(out, o)
		}
	}
	return out
}

// CallInfo describes one answered request for Options.OnCall.
type CallInfo struct {
	// Method names what was called with a bounded set of values:
	// "<Type>.<method>" for a rope.call of a method the object's type has,
	// the JSON-RPC method for rope.setAppData, rope.ping and registered
	// server methods, "rope.call" for a call that found no such object or
	// method, and "other" for anything else.
	Method string
	// Code is the error code answered, 0 for a result.
	Code int
}

// observeCall reports an answered request to Options.OnCall.
func (s *Server) observeCall(msg *rope.Message, label string, err *rope.Error) {
	if s.opts.OnCall == nil {
		return
	}
	if label == "" {
		switch _, registered := s.opts.Methods[msg.Method]; {
		case msg.Method == rope.MethodSetAppData, msg.Method == rope.MethodPing, msg.Method == rope.MethodCall:
			label = msg.Method
		case registered:
			label = msg.Method
		default:
			label = "other"
		}
	}
	info := CallInfo{Method: label}
	if err != nil {
		info.Code = int(err.Code)
	}
	s.opts.OnCall(info)
}

// AuthorizeRequest checks the tokens r presents as a handshake's are
// checked (Options.Token, Authenticate or Authorize) and returns the grant
// they carry (nil: full access, as when the server requires no token):
// for HTTP routes served beside the server that follow its token, such as
// a monitor or /metrics.
func (s *Server) AuthorizeRequest(r *http.Request) (*Grant, error) {
	return s.authenticate(r)
}
