package udpio

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestBatchRoundTrip(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	a, err := Listen("udp4", lo, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Listen("udp4", lo, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for i := 0; i < 5; i++ {
		if err := a.WriteTo([]byte{byte(i), 1, 2}, b.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	ms := make([]Message, 8)
	for i := range ms {
		ms[i].Buf = make([]byte, 1500)
	}
	got := 0
	deadline := time.Now().Add(5 * time.Second)
	for got < 5 && time.Now().Before(deadline) {
		n, err := b.ReadBatch(ms)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			if ms[i].N != 3 || ms[i].Buf[0] != byte(got) {
				t.Fatalf("message %d = %x", got, ms[i].Buf[:ms[i].N])
			}
			if ms[i].Addr != a.LocalAddr() {
				t.Fatalf("addr %v, want %v", ms[i].Addr, a.LocalAddr())
			}
			got++
		}
	}
	if got != 5 {
		t.Fatalf("got %d", got)
	}
	allocs := testing.AllocsPerRun(50, func() {
		_ = a.WriteTo([]byte{0, 1, 2}, b.LocalAddr())
		if _, err := b.ReadBatch(ms); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("allocs per write+read = %v", allocs)
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	c, err := Listen("udp4", netip.MustParseAddr("127.0.0.1"), 0)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		ms := []Message{{Buf: make([]byte, 100)}}
		_, err := c.ReadBatch(ms)
		done <- err
	}()
	c.Close()
	if err := <-done; !IsClosed(err) {
		t.Fatalf("err = %v", err)
	}
}

func TestListenRange(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	c, err := ListenRangeWith(lo, 40000, 40100, 7, ListenOptions{SendBuffer: 1 << 16, RecvBuffer: 1 << 17})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if p := c.LocalAddr().Port(); p < 40000 || p > 40100 {
		t.Fatalf("port %d", p)
	}
	// Linux doubles the sizes asked for (socket(7)).
	if send, recv, err := c.BufferSizes(); runtime.GOOS == "linux" && (err != nil || send != 2<<16 || recv != 2<<17) {
		t.Fatalf("buffer sizes %d %d: %v", send, recv, err)
	}
	if _, err := ListenRangeWith(lo, 10, 5, 0, ListenOptions{}); err == nil {
		t.Fatal("bad range accepted")
	}
}

func TestWriteBatch(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	a, err := Listen("udp4", lo, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Listen("udp4", lo, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := a.Connect(b.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	var bufs [][]byte
	for i := 0; i < 100; i++ { // more than one sendmmsg
		bufs = append(bufs, []byte{byte(i), 7})
	}
	if err := a.WriteBatch(bufs); err != nil {
		t.Fatal(err)
	}
	ms := make([]Message, 16)
	for i := range ms {
		ms[i].Buf = make([]byte, 100)
	}
	got := 0
	for got < 100 {
		n, err := b.ReadBatch(ms)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			if ms[i].N != 2 || ms[i].Buf[0] != byte(got) {
				t.Fatalf("datagram %d = %x", got, ms[i].Buf[:ms[i].N])
			}
			got++
		}
	}
	allocs := testing.AllocsPerRun(20, func() {
		if err := a.WriteBatch(bufs[:8]); err != nil {
			t.Fatal(err)
		}
		for n := 0; n < 8; {
			k, _ := b.ReadBatch(ms)
			n += k
		}
	})
	if allocs != 0 {
		t.Fatalf("allocs = %v", allocs)
	}
}

// TestWriteBatchTo sends batches from unconnected sockets, IPv4 and
// dual-stack IPv6 to an IPv4 peer, in order and without allocating.
func TestWriteBatchTo(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	b, err := Listen("udp4", lo, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	a4, err := Listen("udp4", lo, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a4.Close()
	senders := []*Conn{a4}
	if a6, err := Listen("udp", netip.IPv6Unspecified(), 0); err == nil {
		defer a6.Close()
		senders = append(senders, a6)
	}
	var bufs [][]byte
	for i := 0; i < 100; i++ { // more than one sendmmsg
		bufs = append(bufs, []byte{byte(i), 7})
	}
	ms := make([]Message, 16)
	for i := range ms {
		ms[i].Buf = make([]byte, 100)
	}
	for _, a := range senders {
		if err := a.WriteBatchTo(bufs, b.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		for got := 0; got < 100; {
			n, err := b.ReadBatch(ms)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i++ {
				if ms[i].N != 2 || ms[i].Buf[0] != byte(got) || ms[i].Addr.Port() != a.LocalAddr().Port() {
					t.Fatalf("datagram %d = %x from %v", got, ms[i].Buf[:ms[i].N], ms[i].Addr)
				}
				got++
			}
		}
		allocs := testing.AllocsPerRun(20, func() {
			if err := a.WriteBatchTo(bufs[:8], b.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			for n := 0; n < 8; {
				k, _ := b.ReadBatch(ms)
				n += k
			}
		})
		if allocs != 0 {
			t.Fatalf("allocs = %v", allocs)
		}
	}
	if err := a4.WriteBatchTo(bufs[:1], netip.MustParseAddrPort("[::1]:9")); err == nil {
		t.Fatal("IPv6 destination accepted on an IPv4 socket")
	}
}

// TestWriteMessages sends messages to two peers from one unconnected
// socket: each gets its own, in order; a message to an address of the
// wrong family is skipped, not the rest; no allocation.
func TestWriteMessages(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	a, err := Listen("udp4", lo, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var peers [2]*Conn
	for i := range peers {
		if peers[i], err = Listen("udp4", lo, 0); err != nil {
			t.Fatal(err)
		}
		defer peers[i].Close()
	}
	var ms []OutMessage
	for i := 0; i < 100; i++ { // more than one sendmmsg
		ms = append(ms, OutMessage{Buf: []byte{byte(i), 9}, Addr: peers[i%2].LocalAddr()})
		if i == 50 {
			ms = append(ms, OutMessage{Buf: []byte{0xff}, Addr: netip.MustParseAddrPort("[::1]:9")})
		}
	}
	if err := a.WriteMessages(ms); err == nil {
		t.Error("IPv6 destination accepted on an IPv4 socket")
	}
	rms := make([]Message, 16)
	for i := range rms {
		rms[i].Buf = make([]byte, 100)
	}
	for p, peer := range peers {
		for want := p; want < 100; {
			n, err := peer.ReadBatch(rms)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i++ {
				if rms[i].N != 2 || rms[i].Buf[0] != byte(want) {
					t.Fatalf("peer %d: datagram %x, want %d", p, rms[i].Buf[:rms[i].N], want)
				}
				want += 2
			}
		}
	}
	ok := []OutMessage{ms[0], ms[1], ms[2], ms[3]}
	allocs := testing.AllocsPerRun(20, func() {
		if err := a.WriteMessages(ok); err != nil {
			t.Fatal(err)
		}
		for _, peer := range peers {
			for n := 0; n < 2; {
				k, _ := peer.ReadBatch(rms)
				n += k
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("allocs = %v", allocs)
	}
}
