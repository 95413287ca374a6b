//go:build linux && (amd64 || arm64)

package uring

import (
	"bytes"
	"errors"
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pair is a receiving UDP socket and a sender's descriptor connected to it.
type pair struct {
	rx *net.UDPConn
	fd int
}

func newPairs(tb testing.TB, n int) []pair {
	tb.Helper()
	ps := make([]pair, n)
	for i := range ps {
		rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { rx.Close() })
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { unix.Close(fd) })
		if err := unix.Connect(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: rx.LocalAddr().(*net.UDPAddr).Port}); err != nil {
			tb.Fatal(err)
		}
		ps[i] = pair{rx, fd}
	}
	return ps
}

func newRing(tb testing.TB, entries int) *Ring {
	tb.Helper()
	r, err := New(entries)
	if errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EPERM) {
		tb.Skipf("io_uring refused here: %v", err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	return r
}

// Every queued send reaches its socket's peer, in order per socket, over
// several submissions that reuse the ring; a send on a bad descriptor
// fails alone, with its own error.
func TestSubmitSendsEachDatagram(t *testing.T) {
	r := newRing(t, 64)
	ps := newPairs(t, 10)
	const rounds = 5
	for round := range rounds {
		for i, p := range ps {
			if err := r.Add(p.fd, []byte{byte(round), byte(i), 1, 2, 3}); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Add(-1, []byte("nowhere")); err != nil {
			t.Fatal(err)
		}
		if n, err := r.Submit(); err != nil || n != len(ps)+1 {
			t.Fatalf("round %d: submitted %d, %v", round, n, err)
		}
		for i := range ps {
			if err := r.Result(i); err != nil {
				t.Fatalf("round %d: send %d: %v", round, i, err)
			}
		}
		if err := r.Result(len(ps)); !errors.Is(err, syscall.EBADF) {
			t.Fatalf("round %d: the send on a bad descriptor: %v, want EBADF", round, err)
		}
	}
	buf := make([]byte, 64)
	for i, p := range ps {
		p.rx.SetReadDeadline(time.Now().Add(5 * time.Second))
		for round := range rounds {
			n, err := p.rx.Read(buf)
			if err != nil {
				t.Fatalf("socket %d, round %d: %v", i, round, err)
			}
			if want := []byte{byte(round), byte(i), 1, 2, 3}; !bytes.Equal(buf[:n], want) {
				t.Fatalf("socket %d got %v, want %v", i, buf[:n], want)
			}
		}
	}
}

// A ring takes at most its capacity of sends per submission.
func TestAddBeyondCapacity(t *testing.T) {
	r := newRing(t, 4)
	ps := newPairs(t, 1)
	for range r.Capacity() {
		if err := r.Add(ps[0].fd, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Add(ps[0].fd, []byte("x")); !errors.Is(err, ErrFull) {
		t.Fatalf("add beyond %d: %v, want ErrFull", r.Capacity(), err)
	}
	if n, err := r.Submit(); err != nil || n != r.Capacity() || r.Queued() != 0 {
		t.Fatalf("submit: %d, %v; %d still queued", n, err, r.Queued())
	}
}

// threadCPU is the calling thread's CPU time.
func threadCPU() time.Duration {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}

// processCPU is the process's CPU time, all threads.
func processCPU() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFanoutSend sends one 1,012-byte datagram on each of 100
// connected sockets per op, as a worker forwards one packet to 100
// consumers: one sendmsg each (mediasoup's way, and ours at conference
// rates), or one Submit for all. It reports the sending thread's CPU
// per datagram (cpu-ns/send): the loopback receivers' side runs in the
// sender's system calls, so it is counted too; and the whole process's
// (process-cpu-ns/send), which adds the goroutines draining the
// receivers, alike in both, and any kernel worker io_uring used.
func BenchmarkFanoutSend(b *testing.B) {
	payload := make([]byte, 1012)
	for _, mode := range []string{"sendmsg", "uring"} {
		b.Run(mode, func(b *testing.B) {
			ps := newPairs(b, 100)
			for _, p := range ps {
				p.rx.SetReadBuffer(4 << 20)
				go func() {
					buf := make([]byte, 2048)
					for {
						if _, err := p.rx.Read(buf); err != nil {
							return
						}
					}
				}()
			}
			var r *Ring
			if mode == "uring" {
				r = newRing(b, 128)
			}
			runtime.LockOSThread() // threadCPU reads this thread's
			defer runtime.UnlockOSThread()
			b.ReportAllocs()
			b.ResetTimer()
			start, proc := threadCPU(), processCPU()
			for range b.N {
				for _, p := range ps {
					if r != nil {
						_ = r.Add(p.fd, payload)
					} else {
						_, _ = unix.SendmsgN(p.fd, payload, nil, nil, unix.MSG_DONTWAIT)
					}
				}
				if r != nil {
					if _, err := r.Submit(); err != nil {
						b.Fatal(err)
					}
				}
			}
			sends := float64(b.N * len(ps))
			b.ReportMetric(float64(threadCPU()-start)/sends, "cpu-ns/send")
			b.ReportMetric(float64(processCPU()-proc)/sends, "process-cpu-ns/send")
		})
	}
}
