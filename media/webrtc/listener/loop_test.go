package listener

import (
	"net"
	"testing"
	"time"

	"github.com/ropehq/rope/media/internal/evloop"
)

// newLoop starts an event loop with buffers for MaxDatagramSize, or
// skips where there is none.
func newLoop(t *testing.T) *evloop.Loop {
	t.Helper()
	if !evloop.Supported {
		t.Skip("no event loop on this platform")
	}
	l, err := evloop.New(&evloop.Options{BufSize: MaxDatagramSize})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// A socket read by an event loop answers through its Link (single and
// batch sends), and closes (leaving the loop) twice without error.
func TestUDPSocketOnLoop(t *testing.T) {
	t.Parallel()
	loop := newLoop(t)
	conn, err := ListenUDP(loopback, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewUDPSocketOn(conn, &echo{}, loop)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(s.LocalAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 100)
	for _, msg := range []string{"ping", "pong"} {
		_, _ = c.Write([]byte(msg))
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != "re:"+msg {
			t.Fatalf("echo %q %v", buf[:n], err)
		}
	}
	local := c.LocalAddr().(*net.UDPAddr).AddrPort()
	if err := s.SendBatch([][]byte{[]byte("a"), []byte("b")}, local); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"a", "b"} {
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("batch read %q %v, want %q", buf[:n], err, want)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
}

// A panic of a loop-read socket's handler reaches its PanicHandler; the
// loop goes on reading it.
func TestPanicOnLoopReachesHandler(t *testing.T) {
	t.Parallel()
	loop := newLoop(t)
	h := &panicker{got: make(chan any, 2)}
	conn, err := ListenUDP(loopback, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewUDPSocketOn(conn, h, loop)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(s.LocalAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 2 {
		if _, err := c.Write([]byte("boom")); err != nil {
			t.Fatal(err)
		}
		waitPanic(t, h, "UDP on loop")
	}
}
