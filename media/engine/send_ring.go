package engine

import (
	"errors"
	"sync/atomic"
	"syscall"

	"github.com/ropehq/rope/media/internal/udpio"
	"github.com/ropehq/rope/media/internal/uring"
)

// sendRingEntries is the most consumer sends one submission carries; a
// turn with more submits as it goes.
const sendRingEntries = 1024

// sendRing gathers what the consumers of the producers fed during an
// event-loop turn send on plain and pipe transports' sockets, and hands
// it to the kernel in one io_uring submission at the turn's end
// (worker.endTurn) instead of one system call per consumer: at fan-out
// rates each consumer has one packet a turn, and on this project's VMs a
// system call costs about what the kernel's UDP send behind it does
// (uring.BenchmarkFanoutSend). Loop goroutine only. The buffers queued
// are the consumers' output queues, which nothing reuses before the next
// turn's packets.
type sendRing struct {
	r *uring.Ring
	// The queued sends: their sockets and datagrams, in order; held are
	// the sockets whose descriptors the ring holds (udpio.Conn.Hold).
	conns []*udpio.Conn
	bufs  [][]byte
	held  []*udpio.Conn
	// sent counts the datagrams the ring sent (nil: not counted).
	sent *atomic.Uint64
}

// newSendRing returns a ring, or an error where io_uring is unavailable
// (errors.ErrUnsupported off Linux; the kernel's refusal otherwise).
func newSendRing() (*sendRing, error) {
	if !uring.Supported {
		return nil, errors.ErrUnsupported
	}
	r, err := uring.New(sendRingEntries)
	if err != nil {
		return nil, err
	}
	n := r.Capacity()
	return &sendRing{r: r, conns: make([]*udpio.Conn, 0, n), bufs: make([][]byte, 0, n), held: make([]*udpio.Conn, 0, n)}, nil
}

// queue adds a connected socket's datagrams to the turn's submission;
// false when the socket cannot take them this way (it has datagrams
// queued in user space, or is closed): send them as before.
func (s *sendRing) queue(c *udpio.Conn, bufs [][]byte) bool {
	if len(bufs) > s.r.Capacity() {
		return false
	}
	if s.r.Queued()+len(bufs) > s.r.Capacity() {
		s.submit()
	}
	fd, ok := c.Hold()
	if !ok {
		return false
	}
	s.held = append(s.held, c)
	for _, b := range bufs {
		_ = s.r.Add(fd, b) // room was made above
		s.conns = append(s.conns, c)
		s.bufs = append(s.bufs, b)
	}
	return true
}

// submit sends what was queued. A datagram a full socket buffer refused,
// or that a failed submission withdrew, goes out as any other send does:
// to the socket's own queue if its buffer is still full (udpio: sent in
// order once writable). One that a later datagram of the same socket
// overtook in this submission arrives after it, as on a network that
// reorders.
func (s *sendRing) submit() {
	if len(s.bufs) == 0 {
		return
	}
	_, _ = s.r.Submit() // what it could not send has a result saying so
	sent := 0
	for i := range s.bufs {
		switch err := s.r.Result(i); {
		case err == nil:
			sent++
		case errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.ECANCELED):
			_ = s.conns[i].Write(s.bufs[i])
		}
	}
	if s.sent != nil {
		s.sent.Add(uint64(sent))
	}
	for _, c := range s.held {
		c.Release()
	}
	clear(s.conns)
	clear(s.bufs)
	clear(s.held)
	s.conns, s.bufs, s.held = s.conns[:0], s.bufs[:0], s.held[:0]
}

// close releases the ring.
func (s *sendRing) close() { _ = s.r.Close() }
