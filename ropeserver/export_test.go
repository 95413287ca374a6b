package ropeserver

// Accessors for the tests of package ropeserver_test.

// QueueStats is one connection's send queue, as the bounds count it.
type QueueStats struct {
	Msgs     int   // within the bounds
	Bytes    int64 // within the bounds
	Overflow bool
}

// QueueStats lists the connections' send queues.
func (s *Server) QueueStats() []QueueStats {
	s.mu.Lock()
	conns := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	out := make([]QueueStats, 0, len(conns))
	for _, c := range conns {
		n, b, _ := c.queue.queued()
		c.queue.mu.Lock()
		overflow := c.queue.overflow
		c.queue.mu.Unlock()
		out = append(out, QueueStats{Msgs: n, Bytes: b, Overflow: overflow})
	}
	return out
}

// ReplayStats returns how many notifications the replay ring keeps, and
// their bytes.
func (s *Server) ReplayStats() (n int, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ring.n, s.ring.bytes
}

// StateBytes is the objects' state as the bounds count it.
func (s *Server) StateBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stateBytes
}

// SetInitEncodingHook makes f run while each rope.init is encoded; nil
// removes it.
func SetInitEncodingHook(f func()) {
	if f == nil {
		testHookInitEncoding.Store(nil)
		return
	}
	testHookInitEncoding.Store(&f)
}

// LockHeld reports whether s.mu is held, without waiting for it.
func (s *Server) LockHeld() bool {
	if s.mu.TryLock() {
		s.mu.Unlock()
		return false
	}
	return true
}
