package ropeserver

import (
	"encoding/json"
	"slices"

	"github.com/ropehq/rope/rope"
)

// publishLocked assigns the next sequence number, encodes the notification
// once, keeps it for replay and queues the same bytes on every connection.
// Holding s.mu across all of it is what makes the order global. Callers
// hold s.mu.
func (s *Server) publishLocked(method string, params func(seq uint64) any) {
	seq := s.seq + 1
	msg, err := rope.EncodeNotification(method, params(seq))
	if err != nil {
		// Every params value is built from already-encoded JSON; this is a
		// programming error, and skipping the seq keeps clients consistent.
		s.log.Error("ropeserver: encode notification", "method", method, "err", err)
		return
	}
	s.seq = seq
	s.ring.put(seq, msg)
	for c := range s.conns {
		c.queue.push(msg)
	}
}

// attach registers a new connection and queues its rope.init, followed by the
// replay when the client resumes within the window. Doing both under s.mu
// means the connection sees every later notification exactly once.
func (s *Server) attach(c *Conn, epoch string, seq uint64, resume bool, payload json.RawMessage) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	init := rope.InitParams{
		Protocol: rope.Protocol, Server: s.opts.Name, Epoch: s.epoch, Seq: s.seq,
		MaxMessageSize: s.opts.MaxMessageSize, ReplayWindow: s.ring.size(),
		Types: s.typeInfos(), Payload: payload,
	}
	init.Session = s.sessionInfo(c) // lease.go
	var replay [][]byte
	if resume && epoch == s.epoch {
		var ok bool
		if replay, ok = s.ring.since(seq, s.seq); ok {
			init.Resumed, init.Seq = true, seq
		}
	}
	if !init.Resumed {
		init.Objects = s.snapshotLocked()
	}
	msg, err := rope.EncodeNotification(rope.MethodInit, &init)
	if err != nil {
		s.log.Error("ropeserver: encode rope.init", "err", err)
		return false
	}
	c.queue.pushUnbounded(msg)
	c.queue.pushUnbounded(replay...)
	s.conns[c] = struct{}{}
	s.connsWG.Add(1)
	return true
}

func (s *Server) detach(c *Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.connsWG.Done()
}

// snapshotLocked lists every live object, parents before children.
func (s *Server) snapshotLocked() []rope.ObjectState {
	objs := make([]*Object, 0, len(s.objects))
	for _, o := range s.objects {
		objs = append(objs, o)
	}
	sortByOrder(objs)
	out := make([]rope.ObjectState, len(objs))
	for i, o := range objs {
		out[i] = o.stateLocked()
	}
	return out
}

func sortByOrder(objs []*Object) {
	slices.SortFunc(objs, func(a, b *Object) int {
		switch {
		case a.order < b.order:
			return -1
		case a.order > b.order:
			return 1
		}
		return 0
	})
}

// replayRing keeps the last n encoded notifications by sequence number.
type replayRing struct {
	msgs [][]byte
	seqs []uint64
}

func newReplayRing(n int) replayRing {
	return replayRing{msgs: make([][]byte, n), seqs: make([]uint64, n)}
}

func (r *replayRing) size() int { return len(r.msgs) }

func (r *replayRing) put(seq uint64, msg []byte) {
	i := seq % uint64(len(r.msgs))
	r.msgs[i], r.seqs[i] = msg, seq
}

// since returns the notifications after from up to last, or false when some
// of them have left the window (or from is in the future).
func (r *replayRing) since(from, last uint64) ([][]byte, bool) {
	if from > last || last-from > uint64(len(r.msgs)) {
		return nil, false
	}
	out := make([][]byte, 0, last-from)
	for seq := from + 1; seq <= last; seq++ {
		i := seq % uint64(len(r.msgs))
		if r.seqs[i] != seq {
			return nil, false
		}
		out = append(out, r.msgs[i])
	}
	return out, true
}
