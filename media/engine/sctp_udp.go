package engine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/pion/sctp"
	"github.com/pion/transport/v5/deadline"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/event"
	"github.com/ropehq/rope/media/internal/pionlog"
)

// SCTP over plain and pipe transports. As mediasoup's PlainTransport and
// PipeTransport do, a transport created with enableSctp carries SCTP
// packets straight in its UDP datagrams, without DTLS, beside RTP and
// RTCP on the same tuple. The link tells them apart by the first bytes:
// what is neither RTP nor RTCP (version 2 in the first byte) and starts
// with SCTP's ports 5000 and 5000 is SCTP (isSCTP, mediasoup's
// SctpAssociation::IsSctp). The association starts when the transport is
// connected (connect(), or comedia learning the remote tuple); both ends
// send INIT, and pion's client side settles the collision. sctpState goes
// new → connecting → connected, then failed (the handshake gave up) or
// closed (the peer ended the association).

const (
	// sctpInQueue bounds the SCTP packets received and not yet read by
	// the association; beyond it packets are dropped (SCTP retransmits).
	sctpInQueue = 256
	// minSctpReceiveBuffer is the least receive window announced: pion's
	// default. It grows to maxSctpMessageSize, so that a message of that
	// size can be reassembled.
	minSctpReceiveBuffer = 1 << 20
)

// isSCTP reports whether b is an SCTP packet of an association between
// ports 5000 (a common header, 12 bytes, with both ports 5000).
func isSCTP(b []byte) bool {
	return len(b) >= 12 && b[0] == sctpPort>>8 && b[1] == sctpPort&0xff && b[2] == sctpPort>>8 && b[3] == sctpPort&0xff
}

// sctpUDP is the SCTP association of a plain or pipe transport.
type sctpUDP struct {
	t      *transport
	data   *sctpData
	conn   *sctpConn
	logger *slog.Logger

	// mu guards the fields below.
	mu      sync.Mutex
	state   media.SctpState
	assoc   *sctp.Association
	started bool
	closed  bool
	// connected is closed when the state becomes connected, ended when it
	// becomes failed or closed (or the transport closes).
	connected, ended chan struct{}

	// run waits for the goroutine that connects and accepts streams.
	run     sync.WaitGroup
	onState event.Listeners[media.SctpState]
}

// newSctpUDP makes the association of t; write sends a packet to the
// remote tuple.
func newSctpUDP(t *transport, params media.SctpParameters, sendBuffer int, write func([]byte)) *sctpUDP {
	s := &sctpUDP{t: t, state: media.SctpNew, logger: t.router.worker.logger(),
		connected: make(chan struct{}), ended: make(chan struct{})}
	s.conn = newSctpConn(write)
	s.data = newSctpData(t, params, sendBuffer, s.association)
	return s
}

// association is the association once connected, nil before and once
// the transport is closing.
func (s *sctpUDP) association() *sctp.Association {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	return s.assoc
}

// parameters are the transport's sctpParameters.
func (s *sctpUDP) parameters() *media.SctpParameters {
	p := s.data.params
	return &p
}

func (s *sctpUDP) sctpState() media.SctpState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// receive hands one SCTP packet from the remote tuple to the association.
func (s *sctpUDP) receive(b []byte) { s.conn.push(b) }

// start starts the association once; the transport is connected.
func (s *sctpUDP) start() {
	s.mu.Lock()
	if s.started || s.closed {
		s.mu.Unlock()
		return
	}
	s.started = true
	s.run.Add(1)
	s.mu.Unlock()
	go s.runAssociation()
}

// runAssociation connects, then accepts the streams the peer opens until
// the association ends.
func (s *sctpUDP) runAssociation() {
	defer s.run.Done()
	defer s.t.router.worker.recoverPanic("SCTP association")
	s.setState(media.SctpConnecting)
	size := s.data.params.MaxMessageSize
	assoc, err := sctp.ClientContext(context.Background(),
		sctp.WithNetConn(s.conn),
		sctp.WithName(s.t.id),
		sctp.WithLoggerFactory(pionlog.Factory{Logger: s.logger, Quiet: s.isClosed}),
		sctp.WithMaxMessageSize(uint32(size)),
		sctp.WithMaxReceiveBufferSize(uint32(max(size, minSctpReceiveBuffer))),
		sctp.WithEnableZeroChecksum(false),
	)
	if err != nil {
		if !s.isClosed() {
			s.logger.Warn("engine: SCTP association failed", "transport", s.t.id, "err", err)
		}
		s.setState(media.SctpFailed)
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = assoc.Close()
		return
	}
	s.assoc = assoc
	s.mu.Unlock()
	s.setState(media.SctpConnected)
	for {
		st, err := assoc.AcceptStream()
		if err != nil {
			s.setState(media.SctpClosed)
			return
		}
		if int(st.StreamIdentifier()) >= s.data.params.MIS {
			// No data producer can read it: reset it, and spend no reader
			// on it (MIS bounds the readers of a transport). A peer that
			// goes on sending on it fills its own receive window.
			s.logger.Debug("engine: resetting an SCTP stream beyond MIS", "transport", s.t.id, "stream", st.StreamIdentifier())
			_ = st.Close()
			continue
		}
		s.data.accept(st)
	}
}

func (s *sctpUDP) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// setState moves to st and emits "sctpstatechange"; nothing happens once
// the transport is closing or the association has ended.
func (s *sctpUDP) setState(st media.SctpState) {
	s.mu.Lock()
	if s.closed || s.state == st || s.state == media.SctpFailed || s.state == media.SctpClosed {
		s.mu.Unlock()
		return
	}
	s.state = st
	switch st {
	case media.SctpConnected:
		close(s.connected)
	case media.SctpFailed, media.SctpClosed:
		close(s.ended)
	}
	s.mu.Unlock()
	s.t.loopCallback(func() { s.onState.Emit(st) })
}

// waitConnected waits until the association is connected, failing when
// it fails or ends first.
func (s *sctpUDP) waitConnected(ctx context.Context) error {
	select {
	case <-s.connected:
	case <-s.ended:
	case <-ctx.Done():
		return fmt.Errorf("waiting for SCTP on transport %s: %w", s.t.id, ctx.Err())
	}
	if st := s.sctpState(); st != media.SctpConnected {
		return media.NewError(media.ErrInvalidState, "SCTP association of transport %s %s", s.t.id, st)
	}
	return nil
}

// close ends the association without an event: sctpState is "closed".
// It does not wait for the goroutines (wait does), only for pion's read
// loop.
func (s *sctpUDP) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	up := s.state == media.SctpConnected
	if s.state != media.SctpFailed && s.state != media.SctpClosed {
		close(s.ended)
	}
	s.state = media.SctpClosed
	assoc := s.assoc
	s.mu.Unlock()
	s.data.stop()
	if assoc != nil {
		if up {
			// As mediasoup's (SO_LINGER 0): an ABORT, so the peer's
			// association ends ("closed") rather than waits.
			assoc.Abort("transport closed")
		}
		_ = assoc.Close()
	}
	s.conn.Close()
}

func (s *sctpUDP) wait() {
	s.run.Wait()
	s.data.readers.Wait()
}

// sctpConn is the transport's tuple as the association sees it: a
// net.Conn whose reads are the SCTP packets the link received and whose
// writes go to the remote tuple.
type sctpConn struct {
	write func([]byte)
	in    chan []byte
	done  chan struct{}
	once  sync.Once
	read  *deadline.Deadline
}

var _ net.Conn = (*sctpConn)(nil)

func newSctpConn(write func([]byte)) *sctpConn {
	return &sctpConn{write: write, in: make(chan []byte, sctpInQueue), done: make(chan struct{}), read: deadline.New()}
}

// push queues a copy of b, or drops it when the queue is full.
func (c *sctpConn) push(b []byte) {
	select {
	case <-c.done:
		return
	default:
	}
	select {
	case c.in <- append([]byte(nil), b...):
	default:
	}
}

func (c *sctpConn) Read(p []byte) (int, error) {
	select {
	case b := <-c.in:
		return copy(p, b), nil
	case <-c.done:
		return 0, net.ErrClosed
	case <-c.read.Done():
		return 0, os.ErrDeadlineExceeded
	}
}

func (c *sctpConn) Write(p []byte) (int, error) {
	select {
	case <-c.done:
		return 0, io.EOF
	default:
	}
	c.write(p)
	return len(p), nil
}

func (c *sctpConn) Close() error {
	c.once.Do(func() { close(c.done) })
	return nil
}

func (c *sctpConn) LocalAddr() net.Addr  { return sctpAddr{} }
func (c *sctpConn) RemoteAddr() net.Addr { return sctpAddr{} }

func (c *sctpConn) SetDeadline(t time.Time) error {
	c.read.Set(t)
	return nil
}

func (c *sctpConn) SetReadDeadline(t time.Time) error {
	c.read.Set(t)
	return nil
}

// SetWriteDeadline does nothing: writes never block.
func (c *sctpConn) SetWriteDeadline(time.Time) error { return nil }

// sctpAddr is the address of either end of an sctpConn.
type sctpAddr struct{}

func (sctpAddr) Network() string { return "sctp-over-udp" }
func (sctpAddr) String() string  { return "sctp-over-udp" }
