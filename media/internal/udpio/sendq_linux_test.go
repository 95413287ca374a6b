//go:build linux && (amd64 || arm64)

package udpio

import (
	"encoding/binary"
	"errors"
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// wants records the calls of a send queue's want function.
type wants struct{ on, off int }

func (w *wants) want(b bool) {
	if b {
		w.on++
	} else {
		w.off++
	}
}

// seqPayload is a 500-byte datagram carrying seq.
func seqPayload(buf []byte, seq uint32) []byte {
	binary.BigEndian.PutUint32(buf, seq)
	return buf[:500]
}

// readSeqs reads every datagram waiting at fd and appends their sequence
// numbers to seqs.
func readSeqs(t *testing.T, fd int, seqs []uint32) []uint32 {
	t.Helper()
	buf := make([]byte, 2048)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if errors.Is(err, unix.EAGAIN) {
			return seqs
		}
		if err != nil {
			t.Fatal(err)
		}
		if n != 500 {
			t.Fatalf("read %d bytes, want 500", n)
		}
		seqs = append(seqs, binary.BigEndian.Uint32(buf))
	}
}

// TestSendQueueOrder: with a send queue, writes that find the send
// buffer full (Write and WriteBatch) are queued, not dropped, later
// writes go behind them, FlushSendQueue sends them in order as the peer
// reads, want is told when the queue fills and empties, and beyond the
// bound datagrams are dropped and counted.
func TestSendQueueOrder(t *testing.T) {
	c, peer := fullSocket(t)
	const limit = 100 * 500
	var w wants
	c.EnableSendQueue(limit, w.want)
	buf := make([]byte, 1000)
	var seq uint32
	// Fill the buffer and queue 40 datagrams with Write.
	for c.SendQueued() < 40 {
		if err := c.Write(seqPayload(buf, seq)); err != nil {
			t.Fatalf("Write %d: %v", seq, err)
		}
		if seq++; seq > 10000 {
			t.Fatal("the send buffer never filled")
		}
	}
	if w.on != 1 || w.off != 0 {
		t.Fatalf("want calls on=%d off=%d, want 1 and 0", w.on, w.off)
	}
	// 40 more in batches (one over two sendmmsg calls' worth).
	bufs := make([][]byte, 40)
	mem := make([]byte, 40*1000)
	for i := range bufs {
		bufs[i] = seqPayload(mem[i*1000:], seq)
		seq++
	}
	if err := c.WriteBatch(bufs); err != nil {
		t.Fatalf("WriteBatch behind the queue: %v", err)
	}
	if got := c.SendQueued(); got != 80 {
		t.Fatalf("SendQueued = %d, want 80", got)
	}
	// Up to the bound (100 datagrams) queued, beyond it dropped.
	dropped := 0
	for i := 0; i < 30; i++ {
		err := c.Write(seqPayload(buf, seq))
		if errors.Is(err, ErrSendBufferFull) {
			dropped++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		seq++
	}
	if dropped != 10 || c.Dropped() != 10 {
		t.Fatalf("dropped %d (Dropped %d) beyond the bound, want 10", dropped, c.Dropped())
	}
	// The peer reads; each flush sends what then fits, in order.
	var seqs []uint32
	for rounds := 0; c.SendQueued() > 0; rounds++ {
		if rounds > 10000 {
			t.Fatal("the queue never emptied")
		}
		seqs = readSeqs(t, peer, seqs)
		c.FlushSendQueue()
	}
	seqs = readSeqs(t, peer, seqs)
	if len(seqs) != int(seq) {
		t.Fatalf("peer read %d datagrams, want %d", len(seqs), seq)
	}
	for i, s := range seqs {
		if s != uint32(i) {
			t.Fatalf("datagram %d has sequence %d: out of order", i, s)
		}
	}
	if w.on != 1 || w.off != 1 {
		t.Fatalf("want calls on=%d off=%d, want 1 and 1", w.on, w.off)
	}
	// Empty again: writes go straight out.
	if err := c.Write(seqPayload(buf, seq)); err != nil || c.SendQueued() != 0 {
		t.Fatalf("Write on an empty queue: %v, %d queued", err, c.SendQueued())
	}
}

// TestSendQueueClose: Close frees a non-empty queue; writes then fail
// with net.ErrClosed and flushing does nothing.
func TestSendQueueClose(t *testing.T) {
	c, _ := fullSocket(t)
	c.EnableSendQueue(1<<20, nil)
	buf := make([]byte, 500)
	for i := 0; c.SendQueued() < 10; i++ {
		if err := c.Write(buf); err != nil {
			t.Fatal(err)
		}
		if i > 10000 {
			t.Fatal("the send buffer never filled")
		}
	}
	c.Close()
	if got := c.SendQueued(); got != 0 {
		t.Fatalf("SendQueued after Close = %d, want 0", got)
	}
	if c.sq.data != nil || c.sq.ents != nil {
		t.Fatal("Close kept the queue's buffers")
	}
	if err := c.Write(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close: %v, want net.ErrClosed", err)
	}
	if got := c.FlushSendQueue(); got != 0 {
		t.Fatalf("FlushSendQueue after Close = %d", got)
	}
}

// TestSendQueueNoAllocs: once its buffers have grown, queuing and
// flushing do not allocate (40 KB at a time: below what an emptied queue
// keeps).
func TestSendQueueNoAllocs(t *testing.T) {
	c, peer := fullSocket(t)
	c.EnableSendQueue(1<<20, func(bool) {})
	buf := make([]byte, 500)
	bufs := [][]byte{buf, buf, buf}
	rbuf := make([]byte, 2048)
	cycle := func() {
		for i := 0; i < 20; i++ {
			_ = c.Write(buf)
			_ = c.WriteBatch(bufs)
		}
		for c.SendQueued() > 0 {
			for {
				if _, err := unix.Read(peer, rbuf); err != nil { // (Recvfrom allocates)
					break
				}
			}
			c.FlushSendQueue()
		}
	}
	cycle()
	if a := testing.AllocsPerRun(20, cycle); a != 0 {
		t.Fatalf("%v allocations per queue-and-flush cycle, want 0", a)
	}
	if c.Dropped() != 0 {
		t.Fatalf("Dropped = %d below the bound", c.Dropped())
	}
}

// TestSendQueueReleasesBurst: a queue emptied after a burst above
// keepQueued frees its buffer (a burst does not pin memory per socket),
// and one that held less keeps it.
func TestSendQueueReleasesBurst(t *testing.T) {
	c, peer := fullSocket(t)
	c.EnableSendQueue(1<<20, func(bool) {})
	buf := make([]byte, 1000)
	rbuf := make([]byte, 2048)
	burst := func(n int) {
		for range n {
			_ = c.Write(buf)
		}
		if c.SendQueued() < n-10 { // a few may fit in the buffer
			t.Fatalf("%d queued of %d", c.SendQueued(), n)
		}
		for c.SendQueued() > 0 {
			for {
				if _, err := unix.Read(peer, rbuf); err != nil {
					break
				}
			}
			c.FlushSendQueue()
		}
	}
	burst(200)
	if n := cap(c.sq.data); n != 0 {
		t.Fatalf("an emptied queue keeps %d bytes after a 200 KB burst", n)
	}
	burst(20)
	if n := cap(c.sq.data); n < 10_000 {
		t.Fatalf("an emptied queue keeps %d bytes after a 20 KB burst, want its buffer", n)
	}
}
