//go:build linux && (amd64 || arm64)

package udpio

import (
	"net/netip"
	"runtime"
	"testing"

	"github.com/ropehq/rope/internal/wait"
)

// liveHeap is the live heap after a full GC.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestDetachedSocketMemory: a detached socket read by a reader with its
// own scratch (an event loop's, TryReadBatchWith) and written one
// datagram at a time holds no batch structures; a batched write makes
// arrays for its size only. Sockets held the recvmmsg and sendmmsg
// arrays for 64 messages each (about 16 KB) from Wrap on.
func TestDetachedSocketMemory(t *testing.T) {
	const n = 100
	lo := netip.MustParseAddr("127.0.0.1")
	peer, err := Listen("udp4", lo, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	s := NewReadScratch()
	ms := make([]Message, 4)
	for i := range ms {
		ms[i].Buf = make([]byte, 100)
	}
	conns := make([]*Conn, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	heap0 := liveHeap()
	for i := range conns {
		c, err := Listen("udp4", lo, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Detach(); err != nil {
			c.Close()
			t.Fatal(err)
		}
		conns[i] = c
	}
	for _, c := range conns {
		if err := peer.WriteTo([]byte{1, 2, 3}, c.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		if err := c.WriteTo([]byte{4}, peer.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		readDetached(t, c, s, ms)
	}
	perConn := (float64(liveHeap()) - float64(heap0)) / n
	t.Logf("a detached socket: %.0f B of heap", perConn)
	if perConn > 2<<10 {
		t.Errorf("a detached socket takes %.0f B of heap, want at most 2 KiB", perConn)
	}
	for i, c := range conns {
		if c.rb != nil || c.wbatch.hdrs != nil || c.wbatch.names != nil {
			t.Fatalf("socket %d holds batch structures: read %v, write %d headers, %d names", i, c.rb != nil, len(c.wbatch.hdrs), len(c.wbatch.names))
		}
	}
	// A batch of 3 to the connected peer makes arrays for minWriteBatch.
	c := conns[0]
	if err := c.Connect(peer.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteBatch([][]byte{{1}, {2}, {3}}); err != nil {
		t.Fatal(err)
	}
	if len(c.wbatch.hdrs) != minWriteBatch || c.wbatch.names != nil {
		t.Fatalf("after a batch of 3: %d headers, %d names; want %d and none", len(c.wbatch.hdrs), len(c.wbatch.names), minWriteBatch)
	}
}

// readDetached reads one datagram of detached socket c with s.
func readDetached(t *testing.T, c *Conn, s *ReadScratch, ms []Message) {
	t.Helper()
	wait.Until(t, "a datagram on "+c.LocalAddr().String(), func() bool {
		n, err := c.TryReadBatchWith(s, ms)
		if err != nil || n > 1 || n == 1 && ms[0].N != 3 {
			t.Fatalf("read %d datagrams (first %d bytes), %v; want one of 3", n, ms[0].N, err)
		}
		return n == 1
	})
}
