package ropeserver

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"
)

// sendQueue holds the encoded messages waiting for one connection and
// starts its writer: a goroutine that runs while there is something to
// write and ends when the queue is empty, so an idle connection has none.
//
// It never blocks the publisher. Past its bounds (messages or bytes) it
// marks itself overflowed, drops what comes next, and the writer closes the
// connection with 4000 after the message it is writing; the client resumes
// later from its last sequence number.
//
// rope.init and the replay of a resume are queued in front, outside the
// bounds: they are bounded by the state and replay limits.
type sendQueue struct {
	maxMsgs  int
	maxBytes int64
	writer   func()         // runs the writer and marks it done in writers
	writers  sync.WaitGroup // the running writer, if any

	// stop is set once the connection is to be closed (overflow or a close
	// request): the writer checks it between messages.
	stop atomic.Bool

	// mu guards the fields below.
	mu          sync.Mutex
	msgs        [][]byte
	count       int   // bounded messages queued or being written
	bytes       int64 // and their bytes
	exemptCount int   // rope.init and replay messages not yet written
	exemptBytes int64
	held        bool // rope.init is being encoded: nothing is written yet
	writing     bool // a writer runs (or has stopped for good)
	ended       bool // the connection is over: nothing is queued any more
	overflow    bool
	closeReq    *closeRequest
}

type closeRequest struct {
	code   websocket.StatusCode
	reason string
}

// keptBuffer is the largest batch buffer an idle queue keeps for its next
// writer: enough for the usual trickle, small for an idle connection.
const keptBuffer = 8

// takeAction tells the writer what to do with what take returned.
type takeAction int

const (
	takeWrite    takeAction = iota // write the messages
	takeIdle                       // nothing to write: the writer ends
	takeOverflow                   // close with 4000
	takeClose                      // close as requested
)

// newSendQueue returns a queue held until release, whose writer is run.
func newSendQueue(maxMsgs int, maxBytes int64, run func()) *sendQueue {
	q := &sendQueue{maxMsgs: maxMsgs, maxBytes: maxBytes, held: true}
	// Made once, so that starting the writer allocates nothing.
	q.writer = func() {
		defer q.writers.Done()
		run()
	}
	return q
}

// push queues msg, or marks the queue overflowed when msg would pass its
// bounds. It reports whether this push overflowed it.
func (q *sendQueue) push(msg []byte) (overflowed bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ended || q.overflow || q.closeReq != nil {
		return false
	}
	if q.count+1 > q.maxMsgs || q.bytes+int64(len(msg)) > q.maxBytes {
		q.overflow = true
		q.stop.Store(true)
		q.msgs = nil // never written: the client resumes
		q.startLocked()
		return true
	}
	q.msgs = append(q.msgs, msg)
	q.count++
	q.bytes += int64(len(msg))
	q.startLocked()
	return false
}

// pushExempt queues msgs outside the bounds (the replay of a resume).
func (q *sendQueue) pushExempt(msgs [][]byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.msgs = append(q.msgs, msgs...)
	for _, m := range msgs {
		q.exemptCount++
		q.exemptBytes += int64(len(m))
	}
	q.startLocked()
}

// release puts rope.init in front of everything queued so far and lets
// the writer start.
func (q *sendQueue) release(init []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.ended {
		q.msgs = slices.Insert(q.msgs, 0, init)
		q.exemptCount++
		q.exemptBytes += int64(len(init))
	}
	q.held = false
	q.startLocked()
}

// closeWith asks the writer to close the connection with code after the
// message it is writing. It reports whether this request is the one that
// will be carried out.
func (q *sendQueue) closeWith(code websocket.StatusCode, reason string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ended || q.overflow || q.closeReq != nil {
		return false
	}
	q.closeReq = &closeRequest{code, reason}
	q.stop.Store(true)
	q.msgs = nil
	q.startLocked()
	return true
}

// startLocked starts the writer when there is work and none runs.
func (q *sendQueue) startLocked() {
	if q.writing || q.held || q.ended {
		return
	}
	if len(q.msgs) == 0 && !q.overflow && q.closeReq == nil {
		return
	}
	q.writing = true
	q.writers.Add(1)
	go q.writer()
}

// take swaps out everything queued, reusing spare as the next buffer, and
// says what to do. When it answers takeIdle the writer must end: the next
// push starts another. After a close action no writer starts again.
func (q *sendQueue) take(spare [][]byte) ([][]byte, takeAction, *closeRequest) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.overflow:
		return nil, takeOverflow, nil
	case q.closeReq != nil:
		return nil, takeClose, q.closeReq
	case len(q.msgs) == 0:
		q.writing = false
		if cap(spare) <= keptBuffer && cap(spare) > cap(q.msgs) {
			q.msgs = spare[:0] // the next writer's batch
		}
		return nil, takeIdle, nil
	}
	msgs := q.msgs
	q.msgs = spare[:0]
	return msgs, takeWrite, nil
}

// written accounts for one message handed to the connection.
func (q *sendQueue) written(n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.exemptCount > 0 {
		q.exemptCount--
		q.exemptBytes -= int64(n)
		return
	}
	q.count--
	q.bytes -= int64(n)
}

// fail stops queueing after a write failed; the writer has ended.
func (q *sendQueue) fail() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ended = true
	q.msgs = nil
}

// end stops queueing and waits for the writer. The connection must be
// closed first, so that a write in progress returns.
func (q *sendQueue) end() {
	q.mu.Lock()
	q.ended = true
	q.msgs = nil
	q.mu.Unlock()
	q.writers.Wait()
	q.mu.Lock()
	q.count, q.bytes, q.exemptCount, q.exemptBytes = 0, 0, 0, 0
	q.mu.Unlock()
}

// queued returns the number and bytes of messages queued or being written:
// those within the bounds, and with rope.init and the replay.
func (q *sendQueue) queued() (msgs int, bytes, allBytes int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.count, q.bytes, q.bytes + q.exemptBytes
}
