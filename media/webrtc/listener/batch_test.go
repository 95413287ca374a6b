package listener

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/ropehq/rope/media/internal/udpio"
	"github.com/ropehq/rope/media/webrtc/ice"
)

// batchRecorder is a BatchHandler that records packets and batch ends.
type batchRecorder struct {
	mu      sync.Mutex
	packets [][]byte
	tuples  []ice.Tuple
	ends    int
}

func (r *batchRecorder) HandlePacket(b []byte, t ice.Tuple, _ Link) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.packets = append(r.packets, bytes.Clone(b))
	r.tuples = append(r.tuples, t)
}

func (r *batchRecorder) TupleClosed(ice.Tuple) {}

func (r *batchRecorder) BatchEnd() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ends++
}

func (r *batchRecorder) snapshot() (n, ends int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.packets), r.ends
}

// TestUDPSocketBatches checks the recvmmsg read loop: every datagram in
// order with its tuple, BatchEnd after each batch, datagrams beyond
// MaxDatagramSize dropped; and SendBatch sends in order.
func TestUDPSocketBatches(t *testing.T) {
	if !udpio.Batches {
		t.Skip("no recvmmsg on this platform")
	}
	conn, err := ListenUDP(loopback, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var rec batchRecorder
	s := NewUDPSocket(conn, &rec)
	defer s.Close()
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	to := net.UDPAddrFromAddrPort(s.LocalAddr())
	for i := range 40 {
		size := 100
		if i == 7 {
			size = MaxDatagramSize + 1
		}
		b := make([]byte, size)
		binary.BigEndian.PutUint16(b, uint16(i))
		if _, err := peer.WriteToUDP(b, to); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for n, _ := rec.snapshot(); n < 39; n, _ = rec.snapshot() {
		if time.Now().After(deadline) {
			t.Fatalf("got %d packets", n)
		}
		time.Sleep(time.Millisecond)
	}
	rec.mu.Lock()
	want := 0
	for i, p := range rec.packets {
		if want == 7 {
			want++ // too large: dropped
		}
		if got := int(binary.BigEndian.Uint16(p)); got != want || len(p) != 100 {
			t.Errorf("packet %d: seq %d len %d, want seq %d", i, got, len(p), want)
		}
		peerAddr := peer.LocalAddr().(*net.UDPAddr).AddrPort()
		if tup := rec.tuples[i]; tup.Remote != peerAddr || tup.Local != s.LocalAddr() || tup.Protocol != ice.UDP {
			t.Errorf("tuple %v", tup)
		}
		want++
	}
	if rec.ends == 0 || rec.ends > len(rec.packets) {
		t.Errorf("%d batch ends for %d packets", rec.ends, len(rec.packets))
	}
	rec.mu.Unlock()

	var bufs [][]byte
	for i := range 20 {
		bufs = append(bufs, []byte{byte(i), 1, 2})
	}
	peerAddr := netip.MustParseAddrPort(peer.LocalAddr().String())
	if err := s.SendBatch(bufs, peerAddr); err != nil {
		t.Fatal(err)
	}
	_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 100)
	for i := range 20 {
		n, err := peer.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if n != 3 || buf[0] != byte(i) {
			t.Fatalf("datagram %d: %x", i, buf[:n])
		}
	}
}

// TestTCPSendBatch checks that a TCP connection sends a batch as
// consecutive RFC 4571 frames.
func TestTCPSendBatch(t *testing.T) {
	ln, err := ListenTCP(loopback, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	links := make(chan Link, 1)
	srv := NewTCPServer(ln, handlerFunc(func(b []byte, _ ice.Tuple, l Link) {
		select {
		case links <- l:
		default:
		}
	}))
	defer srv.Close()
	c, err := net.Dial("tcp", srv.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := WriteFrame(c, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	var l Link
	select {
	case l = <-links:
	case <-time.After(5 * time.Second):
		t.Fatal("no packet")
	}
	bl, ok := l.(BatchLink)
	if !ok {
		t.Fatal("TCP link is no BatchLink")
	}
	bufs := [][]byte{[]byte("a"), bytes.Repeat([]byte("b"), 300), []byte("cc")}
	if err := bl.SendBatch(bufs, netip.AddrPort{}); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, MaxPacketSize)
	for i, want := range bufs {
		n, err := ReadFrame(c, buf)
		if err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if !bytes.Equal(buf[:n], want) {
			t.Fatalf("frame %d = %q", i, buf[:n])
		}
	}
	if err := bl.SendBatch([][]byte{make([]byte, MaxPacketSize+1)}, netip.AddrPort{}); err != ErrTooLarge {
		t.Fatalf("oversize batch: %v", err)
	}
}

// handlerFunc is a Handler from a function.
type handlerFunc func(b []byte, t ice.Tuple, l Link)

func (f handlerFunc) HandlePacket(b []byte, t ice.Tuple, l Link) { f(b, t, l) }
func (f handlerFunc) TupleClosed(ice.Tuple)                      {}
