package listener

import (
	"net"
	"testing"
	"time"

	"github.com/ropehq/rope/media/webrtc/ice"
)

// panicker panics on every packet and records what Panicked gets.
type panicker struct{ got chan any }

func (p *panicker) HandlePacket([]byte, ice.Tuple, Link) { panic("handler broke") }
func (p *panicker) TupleClosed(ice.Tuple)                {}
func (p *panicker) Panicked(v any)                       { p.got <- v }

// A panic in a UDP or TCP socket's reader reaches a PanicHandler, and the
// process goes on; the socket still closes.
func TestPanicReachesHandler(t *testing.T) {
	t.Parallel()
	h := &panicker{got: make(chan any, 2)}
	conn, err := ListenUDP(loopback, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	udp := NewUDPSocket(conn, h)
	defer udp.Close()
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(udp.LocalAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("boom")); err != nil {
		t.Fatal(err)
	}
	waitPanic(t, h, "UDP")

	ln, err := ListenTCP(loopback, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	tcp := NewTCPServer(ln, h)
	defer tcp.Close()
	tc, err := net.Dial("tcp4", tcp.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if _, err := tc.Write([]byte{0, 4, 'b', 'o', 'o', 'm'}); err != nil { // RFC 4571 frame
		t.Fatal(err)
	}
	waitPanic(t, h, "TCP")
}

func waitPanic(t *testing.T, h *panicker, what string) {
	t.Helper()
	select {
	case v := <-h.got:
		if v != "handler broke" {
			t.Fatalf("%s: Panicked(%v)", what, v)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: no Panicked", what)
	}
}
