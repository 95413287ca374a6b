package ropeserver

import "sync"

// NotifyLossy sends an unsequenced notification to this connection only,
// unless the connection already has more than maxQueued bytes waiting to
// be written (or has ended): then the notification is dropped and sent
// is false. It suits high-rate streams a client subscribed to, such as
// media packets, where losing some beats closing a slow connection with
// 4000 as Notify would once the send queue's bounds are passed.
func (c *Conn) NotifyLossy(method string, params any, maxQueued int64) (sent bool, err error) {
	msg, err := c.srv.encodeAppNotification(method, params)
	if err != nil {
		return false, err
	}
	return c.queue.pushBelow(msg, maxQueued), nil
}

// pushBelow queues msg unless the queue would then hold more than
// maxBytes bounded bytes, or cannot take messages.
func (q *sendQueue) pushBelow(msg []byte, maxBytes int64) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ended || q.overflow || q.closeReq != nil ||
		q.bytes+int64(len(msg)) > min(maxBytes, q.maxBytes) || q.count+1 > q.maxMsgs {
		return false
	}
	q.msgs = append(q.msgs, msg)
	q.count++
	q.bytes += int64(len(msg))
	q.startLocked()
	return true
}

// OnClose registers fn to run once the connection has ended (after its
// method calls returned); at once, in the caller's goroutine, if it has
// ended already. stop unregisters fn and reports whether it did so
// before fn ran.
func (c *Conn) OnClose(fn func()) (stop func() bool) {
	return c.closeHooks.add(fn)
}

// connHooks are the functions to run when a connection ends.
type connHooks struct {
	// mu guards the fields below.
	mu    sync.Mutex
	ended bool
	next  uint64
	fns   map[uint64]func()
}

func (h *connHooks) add(fn func()) (stop func() bool) {
	h.mu.Lock()
	if h.ended {
		h.mu.Unlock()
		fn()
		return func() bool { return false }
	}
	if h.fns == nil {
		h.fns = make(map[uint64]func())
	}
	id := h.next
	h.next++
	h.fns[id] = fn
	h.mu.Unlock()
	return func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		_, ok := h.fns[id]
		delete(h.fns, id)
		return ok
	}
}

// run marks the connection ended and runs the hooks.
func (h *connHooks) run() {
	h.mu.Lock()
	h.ended = true
	fns := h.fns
	h.fns = nil
	h.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}
