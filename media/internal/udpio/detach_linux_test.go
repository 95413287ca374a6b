//go:build linux && (amd64 || arm64)

package udpio

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// fullSocket is a detached Conn on one end of a Unix datagram socket pair
// whose SO_SNDBUF is the smallest the kernel allows, and the other end's
// descriptor, which nothing reads until the test does. (A UDP socket on
// loopback never finds its send buffer full, however small: loopback
// hands each datagram over, and frees its buffer, within the send call.
// A Unix datagram's buffer stays charged to its sender until read.)
func fullSocket(t *testing.T) (*Conn, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_SNDBUF, 1); err != nil {
		t.Fatal(err)
	}
	c := &Conn{det: &fdRef{fd: fds[0]}, domain: unix.AF_UNIX}
	c.raw = c.det
	t.Cleanup(func() {
		c.Close()
		unix.Close(fds[1])
	})
	return c, fds[1]
}

// drain reads every datagram waiting at fd and returns how many.
func drain(t *testing.T, fd int) int {
	t.Helper()
	buf := make([]byte, 2048)
	n := 0
	for {
		_, _, err := unix.Recvfrom(fd, buf, 0)
		if errors.Is(err, unix.EAGAIN) {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
}

// TestDetachedWriteFullBuffer: a write to a detached socket whose send
// buffer is full drops at once with ErrSendBufferFull, counted by
// Dropped (one datagram for Write, the unsent rest for WriteBatch), never
// waiting for room; once the peer reads, writes go through again.
func TestDetachedWriteFullBuffer(t *testing.T) {
	c, peer := fullSocket(t)
	payload := make([]byte, 1000)
	sent := 0
	for {
		err := c.Write(payload)
		if errors.Is(err, ErrSendBufferFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if sent++; sent > 10000 {
			t.Fatal("the send buffer never filled")
		}
	}
	if !errors.Is(ErrSendBufferFull, unix.EAGAIN) {
		t.Error("ErrSendBufferFull does not wrap EAGAIN")
	}
	if got := c.Dropped(); got != 1 {
		t.Fatalf("Dropped after one refused Write = %d, want 1", got)
	}
	batch := make([][]byte, maxBatch+5) // two sendmmsg calls' worth
	for i := range batch {
		batch[i] = payload
	}
	if err := c.WriteBatch(batch); !errors.Is(err, ErrSendBufferFull) {
		t.Fatalf("WriteBatch on a full buffer: %v, want ErrSendBufferFull", err)
	}
	if got, want := c.Dropped(), uint64(1+len(batch)); got != want {
		t.Fatalf("Dropped after a refused WriteBatch = %d, want %d", got, want)
	}
	if got := drain(t, peer); got != sent {
		t.Fatalf("peer read %d datagrams, want the %d accepted", got, sent)
	}
	if err := c.WriteBatch(batch[:2]); err != nil {
		t.Fatalf("WriteBatch after the peer read: %v", err)
	}
	if got := drain(t, peer); got != 2 {
		t.Fatalf("peer read %d datagrams after the buffer emptied, want 2", got)
	}
	if got, want := c.Dropped(), uint64(1+len(batch)); got != want {
		t.Fatalf("Dropped = %d after sends that went through, want still %d", got, want)
	}
}
