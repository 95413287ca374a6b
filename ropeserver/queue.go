package ropeserver

import "sync"

// sendQueue holds the encoded messages waiting for one connection's writer.
// It never blocks the publisher: past its limit it marks itself overflowed
// and the writer closes the connection (4000), so a slow client cannot stall
// the others; it resumes later from its last sequence number.
type sendQueue struct {
	ready chan struct{} // capacity 1: "there is something to take"
	limit int

	// mu guards the fields below.
	mu       sync.Mutex
	msgs     [][]byte
	overflow bool
}

func newSendQueue(limit int) *sendQueue {
	return &sendQueue{ready: make(chan struct{}, 1), limit: limit}
}

func (q *sendQueue) push(msg []byte) {
	q.mu.Lock()
	switch {
	case q.overflow:
	case len(q.msgs) >= q.limit:
		q.overflow = true
	default:
		q.msgs = append(q.msgs, msg)
	}
	q.mu.Unlock()
	q.signal()
}

// pushUnbounded queues msgs whatever the limit: rope.init and the replay.
func (q *sendQueue) pushUnbounded(msgs ...[]byte) {
	q.mu.Lock()
	q.msgs = append(q.msgs, msgs...)
	q.mu.Unlock()
	q.signal()
}

func (q *sendQueue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// take swaps out everything queued, reusing spare as the next buffer.
func (q *sendQueue) take(spare [][]byte) (msgs [][]byte, overflow bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	msgs, q.msgs = q.msgs, spare[:0]
	return msgs, q.overflow
}
