//go:build linux && (amd64 || arm64)

package evloop

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ropehq/rope/media/internal/udpio"
)

// fullPair is a detached Conn on one end of a Unix datagram socket pair
// with the smallest send buffer (loopback UDP never finds its buffer
// full) and the other end, read by the test only.
func fullPair(t *testing.T) (*udpio.Conn, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_SNDBUF, 1); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[1]) })
	return udpio.FromFD(fds[0]), fds[1]
}

// epollEvents is the event mask the loop's epoll set holds for fd (from
// /proc/self/fdinfo).
func epollEvents(t *testing.T, l *Loop, fd int) uint32 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", l.epfd))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[0] == "tfd:" && f[1] == strconv.Itoa(fd) && f[2] == "events:" {
			v, err := strconv.ParseUint(f[3], 16, 32)
			if err != nil {
				t.Fatal(err)
			}
			return uint32(v)
		}
	}
	t.Fatalf("fd %d not in the epoll set", fd)
	return 0
}

// TestSendQueueFlushedWhenWritable: datagrams that find a socket's send
// buffer full are queued and the socket watched for EPOLLOUT; while the
// peer does not read, the loop goes on serving another socket; once it
// reads, the loop sends every queued datagram in order (none lost below
// the bound) and stops watching EPOLLOUT; beyond the bound datagrams are
// dropped and counted (SendDropped); removing and closing the socket
// with a non-empty queue frees it.
func TestSendQueueFlushedWhenWritable(t *testing.T) {
	const limit = 200 * 500
	l := newLoop(t, Options{SendQueue: limit})
	c, peer := fullPair(t)
	reg, err := l.Add(c, &counter{})
	if err != nil {
		t.Fatal(err)
	}
	other := detached(t)
	oc := &counter{tag: 7}
	oreg, err := l.Add(other, oc)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { oreg.Remove(); other.Close() }()
	snd := sender(t)

	buf := make([]byte, 500)
	var seq uint32
	for c.SendQueued() < 100 {
		binary.BigEndian.PutUint32(buf, seq)
		if err := c.Write(buf); err != nil {
			t.Fatalf("Write %d: %v", seq, err)
		}
		if seq++; seq > 10000 {
			t.Fatal("the send buffer never filled")
		}
	}
	if ev := epollEvents(t, l, c.FD()); ev&unix.EPOLLOUT == 0 {
		t.Fatalf("events %#x without EPOLLOUT while datagrams are queued", ev)
	}
	// The loop serves the other socket meanwhile.
	for i := range uint32(5) {
		if err := send(snd, other.LocalAddr(), 7, i); err != nil {
			t.Fatal(err)
		}
	}
	waitCount(t, "the other socket's datagrams", func() bool { return oc.n.Load() == 5 })
	if c.SendQueued() == 0 {
		t.Fatal("the queue emptied while the peer read nothing")
	}

	// The peer reads: the loop flushes the queue, in order.
	var seqs []uint32
	rbuf := make([]byte, 2048)
	waitCount(t, "every queued datagram at the peer", func() bool {
		for {
			n, err := unix.Read(peer, rbuf)
			if errors.Is(err, unix.EAGAIN) {
				return len(seqs) == int(seq)
			}
			if err != nil {
				t.Fatal(err)
			}
			if n != len(buf) {
				t.Fatalf("read %d bytes, want %d", n, len(buf))
			}
			seqs = append(seqs, binary.BigEndian.Uint32(rbuf))
		}
	})
	for i, s := range seqs {
		if s != uint32(i) {
			t.Fatalf("datagram %d has sequence %d: out of order", i, s)
		}
	}
	waitCount(t, "EPOLLOUT off once the queue is empty", func() bool {
		return c.SendQueued() == 0 && epollEvents(t, l, c.FD())&unix.EPOLLOUT == 0
	})
	if got := l.SendDropped(); got != 0 {
		t.Fatalf("SendDropped = %d below the bound", got)
	}

	// Beyond the bound: dropped and counted.
	dropped := 0
	for i := 0; dropped < 3; i++ {
		err := c.Write(buf)
		if errors.Is(err, udpio.ErrSendBufferFull) {
			dropped++
		} else if err != nil {
			t.Fatal(err)
		}
		if i > 10000 {
			t.Fatal("nothing dropped beyond the bound")
		}
	}
	if c.SendQueued() != limit/len(buf) {
		t.Fatalf("%d queued at the bound, want %d", c.SendQueued(), limit/len(buf))
	}
	if got := l.SendDropped(); got != 3 {
		t.Fatalf("SendDropped = %d, want 3", got)
	}
	// Remove and Close with a full queue: freed; the drops stay counted.
	reg.Remove()
	c.Close()
	if c.SendQueued() != 0 {
		t.Fatal("Close kept the queue")
	}
	if got := l.SendDropped(); got != 3 {
		t.Fatalf("SendDropped after Remove = %d, want 3", got)
	}
}

// TestSendQueueFromLoop: sends made on the loop's goroutine (as the
// worker's TurnEnd makes them) that find the buffer full are queued and
// flushed by later turns once the peer reads: every datagram arrives, in
// order.
func TestSendQueueFromLoop(t *testing.T) {
	l := newLoop(t, Options{})
	c, peer := fullPair(t)
	reg, err := l.Add(c, &counter{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { reg.Remove(); c.Close() }()
	const total = 400
	var seq uint32 // loop goroutine only
	var errs, queued atomic.Int64
	buf := make([]byte, 500)
	tm, err := l.AddTimer(time.Millisecond, 0, func() {
		for i := 0; i < 40 && seq < total; i++ {
			binary.BigEndian.PutUint32(buf, seq)
			if c.Write(buf) != nil {
				errs.Add(1)
			}
			seq++
		}
		queued.Store(max(queued.Load(), int64(c.SendQueued())))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Stop()
	var seqs []uint32
	rbuf := make([]byte, 2048)
	waitCount(t, "every datagram at the peer", func() bool {
		for {
			_, err := unix.Read(peer, rbuf)
			if errors.Is(err, unix.EAGAIN) {
				return len(seqs) == total
			}
			if err != nil {
				t.Fatal(err)
			}
			seqs = append(seqs, binary.BigEndian.Uint32(rbuf))
		}
	})
	for i, s := range seqs {
		if s != uint32(i) {
			t.Fatalf("datagram %d has sequence %d: out of order", i, s)
		}
	}
	if queued.Load() == 0 {
		t.Fatal("nothing was ever queued: the test did not fill the buffer")
	}
	if errs.Load() != 0 || l.SendDropped() != 0 {
		t.Fatalf("%d failed writes, %d dropped below the bound", errs.Load(), l.SendDropped())
	}
}
