package listener

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/ropehq/rope/media/webrtc/ice"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// echo answers every packet on its link and records closed tuples.
type echo struct {
	mu     sync.Mutex
	closed []ice.Tuple
}

func (e *echo) HandlePacket(b []byte, t ice.Tuple, l Link) {
	_ = l.Send(append([]byte("re:"), b...), t.Remote)
}

func (e *echo) TupleClosed(t ice.Tuple) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = append(e.closed, t)
}

func TestPortRange(t *testing.T) {
	t.Parallel()
	a, err := ListenUDP(loopback, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	busy := uint16(a.LocalAddr().(*net.UDPAddr).Port)
	if _, err := ListenUDP(loopback, 0, busy, busy); !errors.Is(err, ErrNoPort) {
		t.Fatalf("busy single-port range: %v", err)
	}
	if _, err := ListenUDP(loopback, 0, 10, 9); !errors.Is(err, ErrNoPort) {
		t.Fatalf("inverted range: %v", err)
	}
	b, err := ListenUDP(loopback, 0, busy-1, busy)
	if err != nil {
		// busy-1 may be taken by someone else on a shared machine.
		t.Skipf("range %d-%d: %v", busy-1, busy, err)
	}
	defer b.Close()
	if p := b.LocalAddr().(*net.UDPAddr).Port; p != int(busy-1) {
		t.Fatalf("bound %d, want %d", p, busy-1)
	}
	ln, err := ListenTCP(loopback, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	_ = ln.Close()
}

func TestUDPSocket(t *testing.T) {
	t.Parallel()
	conn, err := ListenUDP(loopback, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := NewUDPSocket(conn, &echo{})
	defer s.Close()
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(s.LocalAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte("ping"))
	buf := make([]byte, 100)
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "re:ping" {
		t.Fatalf("echo %q %v", buf[:n], err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
}

func TestTCPFraming(t *testing.T) {
	t.Parallel()
	ln, err := ListenTCP(loopback, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	h := &echo{}
	s := NewTCPServer(ln, h)
	defer s.Close()
	c, err := net.Dial("tcp4", s.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	// Two frames in one write, then one frame split across writes.
	var both bytes.Buffer
	_ = WriteFrame(&both, []byte("one"))
	_ = WriteFrame(&both, []byte("two"))
	_, _ = c.Write(both.Bytes())
	_, _ = c.Write([]byte{0, 5, 't', 'h'})
	_, _ = c.Write([]byte{'r', 'e', 'e'})
	buf := make([]byte, MaxPacketSize)
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	for _, want := range []string{"re:one", "re:two", "re:three"} {
		n, err := ReadFrame(c, buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("frame %q %v, want %q", buf[:n], err, want)
		}
	}
	if err := WriteFrame(c, make([]byte, MaxPacketSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized frame: %v", err)
	}
	_ = c.Close()
	deadline := time.Now().Add(2 * time.Second)
	for {
		h.mu.Lock()
		n := len(h.closed)
		h.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("TupleClosed not called")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// A connection still open at Close is closed with the server.
	c2, err := net.Dial("tcp4", s.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	_ = WriteFrame(c2, []byte("x"))
	_, _ = ReadFrame(c2, buf)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFrame(c2, buf); err == nil {
		t.Fatal("connection open after Close")
	}
}
