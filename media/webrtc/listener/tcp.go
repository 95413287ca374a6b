package listener

import (
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"sync"

	"github.com/ropehq/rope/media/internal/evloop"
	"github.com/ropehq/rope/media/webrtc/ice"
)

// TCPServer accepts TCP connections carrying RFC 4571 frames.
type TCPServer struct {
	ln    *net.TCPListener
	local netip.AddrPort
	h     Handler
	wg    sync.WaitGroup
	once  sync.Once

	// mu guards conns and closed.
	mu     sync.Mutex
	conns  map[*tcpConn]struct{}
	closed bool
}

// NewTCPServer starts accepting on ln. The server owns ln from now on.
func NewTCPServer(ln *net.TCPListener, h Handler) *TCPServer {
	s := &TCPServer{
		ln:    ln,
		local: unmap(ln.Addr().(*net.TCPAddr).AddrPort()),
		h:     h,
		conns: make(map[*tcpConn]struct{}),
	}
	s.wg.Add(1)
	go s.acceptLoop()
	return s
}

// LocalAddr returns the bound address.
func (s *TCPServer) LocalAddr() netip.AddrPort { return s.local }

// Close stops accepting, closes every connection and waits for their
// readers. It is idempotent.
func (s *TCPServer) Close() error {
	var err error
	s.once.Do(func() {
		err = s.ln.Close()
		s.mu.Lock()
		s.closed = true
		for c := range s.conns {
			_ = c.conn.Close()
		}
		s.mu.Unlock()
	})
	s.wg.Wait()
	return err
}

func (s *TCPServer) acceptLoop() {
	defer s.wg.Done()
	defer guard(s.h)
	for {
		conn, err := s.ln.AcceptTCP()
		if err != nil {
			return
		}
		c := &tcpConn{conn: conn, unyield: func() {}}
		// A worker loop waiting on its thread (a worker child's) parks
		// as soon as the connection has media: its reader is a goroutine.
		if stop, err := evloop.YieldTo(conn); err == nil {
			c.unyield = stop
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.unyield()
			_ = conn.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.readLoop(c)
	}
}

func (s *TCPServer) readLoop(c *tcpConn) {
	defer s.wg.Done()
	defer guard(s.h)
	t := ice.Tuple{
		Protocol: ice.TCP,
		Local:    unmap(c.conn.LocalAddr().(*net.TCPAddr).AddrPort()),
		Remote:   unmap(c.conn.RemoteAddr().(*net.TCPAddr).AddrPort()),
	}
	buf := make([]byte, 2+MaxPacketSize)
	for {
		n, err := readFrame(c.conn, buf)
		if err != nil {
			break
		}
		s.h.HandlePacket(buf[:n], t, c)
	}
	c.unyield()
	_ = c.conn.Close()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.h.TupleClosed(t)
}

// readFrame reads one RFC 4571 frame into buf and returns its length.
func readFrame(r io.Reader, buf []byte) (int, error) {
	if _, err := io.ReadFull(r, buf[:2]); err != nil {
		return 0, err
	}
	n := int(binary.BigEndian.Uint16(buf[:2]))
	if _, err := io.ReadFull(r, buf[:n]); err != nil {
		return 0, err
	}
	return n, nil
}

var _ BatchLink = (*tcpConn)(nil)

// tcpConn is one accepted connection; it is the Link for its tuple.
type tcpConn struct {
	conn *net.TCPConn
	// unyield ends evloop.YieldTo for conn.
	unyield func()

	// mu guards wbuf and serializes frames.
	mu   sync.Mutex
	wbuf []byte
}

// Send writes b as one frame; to is ignored.
func (c *tcpConn) Send(b []byte, _ netip.AddrPort) error {
	if len(b) > MaxPacketSize {
		return ErrTooLarge
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wbuf = binary.BigEndian.AppendUint16(c.wbuf[:0], uint16(len(b)))
	c.wbuf = append(c.wbuf, b...)
	_, err := c.conn.Write(c.wbuf)
	return err
}

// SendBatch writes bufs as consecutive frames with one write; to is
// ignored. No frame is written if one is too large.
func (c *tcpConn) SendBatch(bufs [][]byte, _ netip.AddrPort) error {
	for _, b := range bufs {
		if len(b) > MaxPacketSize {
			return ErrTooLarge
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wbuf = c.wbuf[:0]
	for _, b := range bufs {
		c.wbuf = binary.BigEndian.AppendUint16(c.wbuf, uint16(len(b)))
		c.wbuf = append(c.wbuf, b...)
	}
	_, err := c.conn.Write(c.wbuf)
	return err
}

// WriteFrame writes b to w as one RFC 4571 frame (for clients and tests).
func WriteFrame(w io.Writer, b []byte) error {
	if len(b) > MaxPacketSize {
		return ErrTooLarge
	}
	frame := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(b)), uint16(len(b)))
	_, err := w.Write(append(frame, b...))
	return err
}

// ReadFrame reads one RFC 4571 frame from r into buf (at least 65535
// bytes) and returns its length (for clients and tests).
func ReadFrame(r io.Reader, buf []byte) (int, error) { return readFrame(r, buf) }
