package listener

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/ropehq/rope/media/internal/evloop"
	"github.com/ropehq/rope/media/internal/udpio"
	"github.com/ropehq/rope/media/webrtc/ice"
)

var _ BatchLink = (*UDPSocket)(nil)

// UDPSocket reads packets from a UDP socket and hands them to a Handler.
type UDPSocket struct {
	// bh is h as a BatchHandler, or nil.
	bh   BatchHandler
	conn *net.UDPConn
	// batch sends batches on conn (sendmmsg); nil if conn has no raw
	// access.
	batch *udpio.Conn
	local netip.AddrPort
	h     Handler
	// detached says an event loop reads the socket (NewUDPSocketOn): conn
	// is then closed and batch, detached, is the socket.
	detached bool
	// regMu guards reg, the socket's registration in the event loop.
	regMu sync.Mutex
	reg   *evloop.Registration
	wg    sync.WaitGroup
	once  sync.Once
}

// NewUDPSocket starts reading conn. The socket owns conn from now on.
func NewUDPSocket(conn *net.UDPConn, h Handler) *UDPSocket {
	s := &UDPSocket{conn: conn, local: unmap(conn.LocalAddr().(*net.UDPAddr).AddrPort()), h: h}
	if c, err := udpio.Wrap(conn); err == nil {
		s.batch = c
	}
	s.bh, _ = h.(BatchHandler)
	s.wg.Add(1)
	go s.readLoop()
	return s
}

// NewUDPSocketOn is NewUDPSocket with the socket read by loop (a
// worker's event loop, media/internal/evloop) instead of a goroutine of
// its own; where there is no loop (nil, not Linux) it is NewUDPSocket.
// The loop's buffers must hold MaxDatagramSize bytes. A panic of h goes
// to h if it is a PanicHandler, and the loop goes on reading. The socket
// owns conn from now on, also on error.
func NewUDPSocketOn(conn *net.UDPConn, h Handler, loop *evloop.Loop) (*UDPSocket, error) {
	if loop == nil || !udpio.CanDetach {
		return NewUDPSocket(conn, h), nil
	}
	c, err := udpio.Wrap(conn)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("listener: %w", err)
	}
	if err := c.Detach(); err != nil {
		c.Close()
		return nil, fmt.Errorf("listener: %w", err)
	}
	s := &UDPSocket{conn: conn, batch: c, local: unmap(c.LocalAddr()), h: h, detached: true}
	s.bh, _ = h.(BatchHandler)
	// Held while adding: a handler closing the socket at once waits for
	// reg.
	s.regMu.Lock()
	defer s.regMu.Unlock()
	if s.reg, err = loop.Add(c, (*loopReader)(s)); err != nil {
		c.Close()
		return nil, fmt.Errorf("listener: %w", err)
	}
	return s, nil
}

// loopReader is a UDPSocket's evloop.Handler.
type loopReader UDPSocket

func (r *loopReader) HandleBatch(ms []udpio.Message) {
	s := (*UDPSocket)(r)
	defer guard(s.h)
	s.handleBatch(ms)
}

// LocalAddr returns the bound address.
func (s *UDPSocket) LocalAddr() netip.AddrPort { return s.local }

// Send writes b to to.
func (s *UDPSocket) Send(b []byte, to netip.AddrPort) error {
	if s.detached {
		return s.batch.WriteTo(b, to)
	}
	_, err := s.conn.WriteToUDPAddrPort(b, to)
	return err
}

// SendBatch writes bufs, in order, to to with one sendmmsg (a loop of
// writes where there is none).
func (s *UDPSocket) SendBatch(bufs [][]byte, to netip.AddrPort) error {
	if len(bufs) == 1 { // sendto is a little cheaper than sendmmsg
		return s.Send(bufs[0], to)
	}
	if s.batch != nil {
		return s.batch.WriteBatchTo(bufs, to)
	}
	for _, b := range bufs {
		if err := s.Send(b, to); err != nil {
			return err
		}
	}
	return nil
}

// SendMessages writes each message to its own address, in order, with
// as few sendmmsg calls as possible (transports sharing the socket).
func (s *UDPSocket) SendMessages(ms []udpio.OutMessage) error {
	if len(ms) == 1 {
		return s.Send(ms[0].Buf, ms[0].Addr)
	}
	if s.batch != nil {
		return s.batch.WriteMessages(ms)
	}
	var first error
	for _, m := range ms {
		if err := s.Send(m.Buf, m.Addr); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Close closes the socket and waits for its reader (on an event loop:
// takes it out of the loop first, which waits for the loop's turn unless
// called from the loop). It is idempotent.
func (s *UDPSocket) Close() error {
	var err error
	s.once.Do(func() {
		if s.detached {
			s.regMu.Lock()
			r := s.reg
			s.regMu.Unlock()
			r.Remove() // before the descriptor can be reused
			err = s.batch.Close()
			return
		}
		err = s.conn.Close()
	})
	s.wg.Wait()
	return err
}

func (s *UDPSocket) readLoop() {
	defer s.wg.Done()
	defer guard(s.h)
	if s.batch != nil && udpio.Batches {
		s.readBatches()
		return
	}
	buf := make([]byte, MaxPacketSize)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ICMP port unreachable surfacing as ECONNREFUSED
		}
		t := ice.Tuple{Protocol: ice.UDP, Local: s.local, Remote: unmap(from)}
		s.h.HandlePacket(buf[:n], t, s)
	}
}

// readBatches reads datagrams with recvmmsg and hands them on, telling a
// BatchHandler when each batch ends.
func (s *UDPSocket) readBatches() {
	bufs := make([]byte, readBatch*MaxDatagramSize)
	ms := make([]udpio.Message, readBatch)
	for i := range ms {
		ms[i].Buf = bufs[i*MaxDatagramSize : (i+1)*MaxDatagramSize]
	}
	for {
		n, err := s.batch.ReadBatch(ms)
		if err != nil {
			if udpio.IsClosed(err) {
				return
			}
			continue // e.g. ICMP port unreachable surfacing as ECONNREFUSED
		}
		s.handleBatch(ms[:n])
	}
}

// handleBatch hands a read batch on, telling a BatchHandler when it ends.
func (s *UDPSocket) handleBatch(ms []udpio.Message) {
	handled := false
	for i := range ms {
		if ms[i].Truncated || ms[i].N > MaxDatagramSize {
			continue
		}
		t := ice.Tuple{Protocol: ice.UDP, Local: s.local, Remote: ms[i].Addr}
		s.h.HandlePacket(ms[i].Buf[:ms[i].N], t, s)
		handled = true
	}
	if handled && s.bh != nil {
		s.bh.BatchEnd()
	}
}
