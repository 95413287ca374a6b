//go:build linux && (amd64 || arm64)

package evloop

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media/internal/udpio"
)

// TestMain runs the tests twice: with loops that park in Go's poller,
// then, on one P as in a worker child, with loops that wait on their
// thread while datagrams come (Options.WaitOnThread).
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		threadWaits = true
		prev := runtime.GOMAXPROCS(1)
		code = m.Run()
		runtime.GOMAXPROCS(prev)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// threadWaits is Options.WaitOnThread of the tests' loops.
var threadWaits bool

// newTestLoop is New with the pass's WaitOnThread.
func newTestLoop(o Options) (*Loop, error) {
	o.WaitOnThread = threadWaits
	return New(&o)
}

var lo = netip.MustParseAddr("127.0.0.1")

func newLoop(t *testing.T, o Options) *Loop {
	t.Helper()
	l, err := newTestLoop(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// detached opens a detached loopback socket.
func detached(t *testing.T) *udpio.Conn {
	t.Helper()
	c, err := udpio.Listen("udp4", lo, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Detach(); err != nil {
		c.Close()
		t.Fatal(err)
	}
	return c
}

// sender opens a plain socket that sends test datagrams: a 4-byte
// sender tag then a 4-byte sequence number.
func sender(t *testing.T) *udpio.Conn {
	t.Helper()
	c, err := udpio.Listen("udp4", lo, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func send(c *udpio.Conn, to netip.AddrPort, tag, seq uint32) error {
	var b [8]byte
	binary.BigEndian.PutUint32(b[:], tag)
	binary.BigEndian.PutUint32(b[4:], seq)
	return c.WriteTo(b[:], to)
}

// counter counts the datagrams of one socket and flags calls after its
// removal.
type counter struct {
	tag     uint32
	n       atomic.Int64
	gone    atomic.Bool
	late    atomic.Int64
	foreign atomic.Int64
	onBatch func(c *counter)
}

func (c *counter) HandleBatch(ms []udpio.Message) {
	if c.gone.Load() {
		c.late.Add(1)
	}
	for _, m := range ms {
		if m.N != 8 || binary.BigEndian.Uint32(m.Buf) != c.tag {
			c.foreign.Add(1)
			continue
		}
		c.n.Add(1)
	}
	if c.onBatch != nil {
		c.onBatch(c)
	}
}

func waitCount(t *testing.T, what string, f func() bool) {
	t.Helper()
	wait.Until(t, what, f)
}

// TestManySockets: every datagram sent to 64 sockets of one loop reaches
// its socket's handler, and TurnEnd runs after them.
func TestManySockets(t *testing.T) {
	var turns atomic.Int64
	l := newLoop(t, Options{TurnEnd: func() { turns.Add(1) }})
	const sockets, per = 64, 50
	cs := make([]*counter, sockets)
	conns := make([]*udpio.Conn, sockets)
	for i := range cs {
		conns[i] = detached(t)
		cs[i] = &counter{tag: uint32(i)}
		r, err := l.Add(conns[i], cs[i])
		if err != nil {
			t.Fatal(err)
		}
		defer conns[i].Close()
		defer r.Remove()
	}
	s := sender(t)
	for seq := range per {
		for i := range cs {
			if err := send(s, conns[i].LocalAddr(), uint32(i), uint32(seq)); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitCount(t, "all delivered", func() bool {
		for _, c := range cs {
			if c.n.Load() != per {
				return false
			}
		}
		return true
	})
	for i, c := range cs {
		if c.foreign.Load() != 0 {
			t.Errorf("socket %d got %d foreign datagrams", i, c.foreign.Load())
		}
	}
	if turns.Load() == 0 {
		t.Error("TurnEnd never ran")
	}
}

// TestBacklogBeyondOneTurn: datagrams waiting beyond what one turn reads
// (more than a batch on one socket; more ready sockets than one
// epoll_wait returns) are all read with no further traffic to wake the
// loop: the poller, edge-triggered on the epoll descriptor, would not
// report them again.
func TestBacklogBeyondOneTurn(t *testing.T) {
	l := newLoop(t, Options{Batch: 4})
	s := sender(t)
	const sockets, per = maxEvents + 20, 11
	cs := make([]*counter, sockets)
	conns := make([]*udpio.Conn, sockets)
	for i := range cs {
		conns[i] = detached(t)
		defer conns[i].Close()
		cs[i] = &counter{tag: uint32(i)}
		for seq := range per {
			if err := send(s, conns[i].LocalAddr(), uint32(i), uint32(seq)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Queued before the loop watches them: each Add is one edge at most.
	for i := range cs {
		r, err := l.Add(conns[i], cs[i])
		if err != nil {
			t.Fatal(err)
		}
		defer r.Remove()
	}
	waitCount(t, "every queued datagram read", func() bool {
		for _, c := range cs {
			if c.n.Load() != per {
				return false
			}
		}
		return true
	})
}

// TestAddRemoveUnderTraffic: sockets join and leave (and are closed)
// while every socket receives a stream; a removed socket's handler is
// never called after Remove returns, and the sockets that stay get
// everything sent to them.
func TestAddRemoveUnderTraffic(t *testing.T) {
	l := newLoop(t, Options{})
	const steady = 8
	stay := make([]*counter, steady)
	stayConns := make([]*udpio.Conn, steady)
	for i := range stay {
		stayConns[i] = detached(t)
		stay[i] = &counter{tag: uint32(i)}
		r, err := l.Add(stayConns[i], stay[i])
		if err != nil {
			t.Fatal(err)
		}
		defer stayConns[i].Close()
		defer r.Remove()
	}
	// A sender to the steady sockets, and one spraying the sockets
	// that come and go.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var sent atomic.Int64
	s := sender(t)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for seq := uint32(0); ; seq++ {
			select {
			case <-stop:
				return
			default:
			}
			for i := range stayConns {
				_ = send(s, stayConns[i].LocalAddr(), uint32(i), seq)
			}
			sent.Add(1)
			if seq%16 == 0 {
				time.Sleep(100 * time.Microsecond) // stay under the socket buffers
			}
		}
	}()
	var churned []*counter
	churnSender := sender(t)
	for round := range 200 {
		c := &counter{tag: uint32(1000 + round)}
		conn := detached(t)
		r, err := l.Add(conn, c)
		if err != nil {
			t.Fatal(err)
		}
		for seq := range 4 {
			_ = send(churnSender, conn.LocalAddr(), c.tag, uint32(seq))
		}
		if round%2 == 0 {
			// Sometimes wait for a delivery, so that removals
			// also meet a handler that runs.
			waitCount(t, "churned socket delivered", func() bool { return c.n.Load() > 0 })
		}
		r.Remove()
		c.gone.Store(true)
		conn.Close()
		churned = append(churned, c)
	}
	close(stop)
	wg.Wait()
	n := sent.Load()
	waitCount(t, "steady sockets delivered", func() bool {
		for _, c := range stay {
			if c.n.Load() != n {
				return false
			}
		}
		return true
	})
	for i, c := range churned {
		if c.late.Load() != 0 || c.foreign.Load() != 0 {
			t.Fatalf("churned socket %d: %d calls after Remove, %d foreign datagrams", i, c.late.Load(), c.foreign.Load())
		}
	}
	for i, c := range stay {
		if c.foreign.Load() != 0 {
			t.Fatalf("steady socket %d got foreign datagrams", i)
		}
	}
}

// TestRemoveFromHandler: a handler that removes and closes its own
// socket (a transport closed from its own packet path) returns at once;
// its socket gets nothing more and another socket goes on delivering.
func TestRemoveFromHandler(t *testing.T) {
	l := newLoop(t, Options{})
	a, b := detached(t), detached(t)
	defer b.Close()
	ca, cb := &counter{tag: 1}, &counter{tag: 2}
	var ra *Registration
	var mu sync.Mutex
	ca.onBatch = func(c *counter) {
		mu.Lock()
		r := ra
		mu.Unlock()
		r.Remove()
		c.gone.Store(true)
		a.Close()
	}
	mu.Lock()
	var err error
	ra, err = l.Add(a, ca)
	mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	rb, err := l.Add(b, cb)
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Remove()
	s := sender(t)
	aAddr := a.LocalAddr()
	for seq := range 10 {
		_ = send(s, aAddr, 1, uint32(seq))
		_ = send(s, b.LocalAddr(), 2, uint32(seq))
	}
	waitCount(t, "b delivered", func() bool { return cb.n.Load() == 10 })
	waitCount(t, "a handled", func() bool { return ca.gone.Load() })
	for seq := range 10 {
		_ = send(s, b.LocalAddr(), 2, uint32(10+seq))
	}
	waitCount(t, "b delivered after a left", func() bool { return cb.n.Load() == 20 })
	if ca.late.Load() != 0 {
		t.Fatalf("a's handler ran %d times after its Remove", ca.late.Load())
	}
}

// TestDescriptorReuse: a socket removed and closed, then another opened
// (getting the same descriptor number) and added, gets only its own
// datagrams, also when the first one's were still queued.
func TestDescriptorReuse(t *testing.T) {
	l := newLoop(t, Options{})
	s := sender(t)
	for round := range 50 {
		a := detached(t)
		ca := &counter{tag: uint32(2 * round)}
		ra, err := l.Add(a, ca)
		if err != nil {
			t.Fatal(err)
		}
		for seq := range 8 {
			_ = send(s, a.LocalAddr(), ca.tag, uint32(seq))
		}
		ra.Remove()
		ca.gone.Store(true)
		a.Close()
		b := detached(t)
		cb := &counter{tag: uint32(2*round + 1)}
		rb, err := l.Add(b, cb)
		if err != nil {
			t.Fatal(err)
		}
		_ = send(s, b.LocalAddr(), cb.tag, 0)
		waitCount(t, "b delivered", func() bool { return cb.n.Load() == 1 })
		rb.Remove()
		b.Close()
		if ca.late.Load() != 0 || cb.foreign.Load() != 0 {
			t.Fatalf("round %d: %d late calls, %d foreign datagrams", round, ca.late.Load(), cb.foreign.Load())
		}
	}
}

// TestCloseDuringTraffic: Close stops the loop's goroutine while its
// sockets receive (goleak checks it is gone); Add and AddTimer then fail
// and Remove still works.
func TestCloseDuringTraffic(t *testing.T) {
	l, err := newTestLoop(Options{})
	if err != nil {
		t.Fatal(err)
	}
	var regs []*Registration
	var conns []*udpio.Conn
	var cs []*counter
	for i := range 16 {
		c := detached(t)
		defer c.Close()
		cs = append(cs, &counter{tag: uint32(i)})
		r, err := l.Add(c, cs[i])
		if err != nil {
			t.Fatal(err)
		}
		regs, conns = append(regs, r), append(conns, c)
	}
	s := sender(t)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for seq := uint32(0); ; seq++ {
			select {
			case <-stop:
				return
			default:
			}
			for i, c := range conns {
				_ = send(s, c.LocalAddr(), uint32(i), seq)
			}
			time.Sleep(50 * time.Microsecond)
		}
	}()
	waitCount(t, "traffic flows", func() bool { return cs[0].n.Load() > 10 })
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.Done():
	default:
		t.Fatal("Close returned before the loop ended")
	}
	close(stop)
	<-done
	if _, err := l.Add(detached(t), &counter{}); err != ErrClosed {
		t.Fatalf("Add after Close: %v", err)
	}
	if _, err := l.AddTimer(time.Second, 0, func() {}); err != ErrClosed {
		t.Fatalf("AddTimer after Close: %v", err)
	}
	for _, r := range regs {
		r.Remove()
	}
	l.Close()
}

// TestCloseFromHandler: Close called by a handler returns at once and
// the loop ends after the turn.
func TestCloseFromHandler(t *testing.T) {
	l, err := newTestLoop(Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := detached(t)
	defer c.Close()
	h := &counter{tag: 1, onBatch: func(*counter) { l.Close() }}
	r, err := l.Add(c, h)
	if err != nil {
		t.Fatal(err)
	}
	_ = send(sender(t), c.LocalAddr(), 1, 0)
	select {
	case <-l.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("loop did not end")
	}
	r.Remove()
}

// TestTimers: periodic timers run on the loop until Stop; Stop from the
// timer itself returns at once; a timer added while the loop sleeps
// with no deadline wakes it.
func TestTimers(t *testing.T) {
	l := newLoop(t, Options{})
	var a atomic.Int64
	ta, err := l.AddTimer(2*time.Millisecond, 0, func() { a.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	var b atomic.Int64
	var tb *Timer
	var mu sync.Mutex
	mu.Lock()
	tb, err = l.AddTimer(time.Millisecond, 0, func() {
		if b.Add(1) == 3 {
			mu.Lock()
			tb.Stop()
			mu.Unlock()
		}
	})
	mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	waitCount(t, "timer a runs", func() bool { return a.Load() >= 5 })
	waitCount(t, "timer b stops itself", func() bool { return b.Load() == 3 })
	ta.Stop()
	n := a.Load()
	// Stop returned: no more runs, however long we look.
	for range 20 {
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
	if a.Load() != n || b.Load() != 3 {
		t.Fatalf("timers ran after Stop: a %d→%d, b %d", n, a.Load(), b.Load())
	}
	// The loop now sleeps without a deadline: a new timer wakes it.
	var c atomic.Int64
	tc, err := l.AddTimer(time.Millisecond, 0, func() { c.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Stop()
	waitCount(t, "timer c runs", func() bool { return c.Load() >= 2 })
}

// TestPanics: a handler's and a timer's panic go to Panicked and the
// loop goes on.
func TestPanics(t *testing.T) {
	var mu sync.Mutex
	var got []string
	l := newLoop(t, Options{Panicked: func(where string, v any) {
		mu.Lock()
		got = append(got, fmt.Sprintf("%s: %v", where, v))
		mu.Unlock()
	}})
	c := detached(t)
	defer c.Close()
	h := &counter{tag: 1, onBatch: func(c *counter) {
		if c.n.Load() == 1 {
			panic("boom")
		}
	}}
	r, err := l.Add(c, h)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Remove()
	var fired atomic.Bool
	tm, err := l.AddTimer(time.Millisecond, 0, func() {
		if !fired.Swap(true) {
			panic("tick")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Stop()
	s := sender(t)
	_ = send(s, c.LocalAddr(), 1, 0)
	waitCount(t, "first datagram", func() bool { return h.n.Load() == 1 })
	_ = send(s, c.LocalAddr(), 1, 1)
	waitCount(t, "second datagram after the panic", func() bool { return h.n.Load() == 2 })
	waitCount(t, "both panics reported", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 2
	})
	mu.Lock()
	defer mu.Unlock()
	want := map[string]bool{"socket handler: boom": true, "timer: tick": true}
	for _, g := range got {
		if !want[g] {
			t.Fatalf("panics %q", got)
		}
	}
}

// TestNoAllocs: reading and handling datagrams does not allocate.
func TestNoAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("counts the process's allocations")
	}
	l := newLoop(t, Options{})
	c := detached(t)
	defer c.Close()
	h := &counter{tag: 7}
	r, err := l.Add(c, h)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Remove()
	s := sender(t)
	to := c.LocalAddr()
	const n = 2000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		_ = send(s, to, 7, uint32(i))
		for h.n.Load() != int64(i+1) {
			runtime.Gosched()
		}
	}
	runtime.ReadMemStats(&after)
	// The test's own goroutines allocate a little now and then;
	// a path that allocates per datagram would show n.
	if d := after.Mallocs - before.Mallocs; d > n/20 {
		t.Fatalf("%d allocations for %d datagrams", d, n)
	}
}

// TestTimersOverdueStillRead: a loop whose turns take longer than its
// shortest timer's period (a busy worker) has a timer due at every
// wake-up; the sockets must be read in those turns too. A turn run for
// an expired deadline that ran only the timers starved them: the next
// deadline had passed too before the poller was asked, so it never
// reported the sockets.
func TestTimersOverdueStillRead(t *testing.T) {
	l := newLoop(t, Options{})
	tm, err := l.AddTimer(time.Millisecond, 0, func() { time.Sleep(3 * time.Millisecond) })
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Stop()
	c := detached(t)
	defer c.Close()
	cnt := &counter{}
	r, err := l.Add(c, cnt)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Remove()
	s := sender(t)
	const total = 200
	for seq := range total {
		if err := send(s, c.LocalAddr(), 0, uint32(seq)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	waitCount(t, "every datagram read while the timer is overdue", func() bool { return cnt.n.Load() == total })
}

// TestWakeRunsTurnEnd: Wake from another goroutine runs a turn and its
// TurnEnd, with no socket ready and no timer due.
func TestWakeRunsTurnEnd(t *testing.T) {
	var ends atomic.Int64
	l := newLoop(t, Options{TurnEnd: func() { ends.Add(1) }})
	for i := range int64(3) {
		l.Wake()
		waitCount(t, "TurnEnd after Wake", func() bool { return ends.Load() > i })
	}
}

// TestTimersShareWakeUps: timers of one period added at different times,
// and one of a period twice as long, run in the same turns (their
// deadlines fall on the same multiples of the period).
func TestTimersShareWakeUps(t *testing.T) {
	l := newLoop(t, Options{})
	const period = 20 * time.Millisecond
	var mu sync.Mutex
	turns := map[string][]uint64{}
	record := func(name string) func() {
		return func() {
			turn := l.turn // the loop's goroutine writes it: no lock
			mu.Lock()
			turns[name] = append(turns[name], turn)
			mu.Unlock()
		}
	}
	ta, err := l.AddTimer(period, 0, record("a"))
	if err != nil {
		t.Fatal(err)
	}
	defer ta.Stop()
	time.Sleep(period / 3)
	tb, err := l.AddTimer(period, 0, record("b"))
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Stop()
	tc, err := l.AddTimer(2*period, 0, record("c"))
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Stop()
	waitCount(t, "timer c runs 4 times", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(turns["c"]) >= 4
	})
	mu.Lock()
	defer mu.Unlock()
	ofA := map[uint64]bool{}
	for _, turn := range turns["a"] {
		ofA[turn] = true
	}
	for _, name := range []string{"b", "c"} {
		for _, turn := range turns[name] {
			if !ofA[turn] {
				t.Fatalf("timer %s ran in turn %d, timer a in turns %v", name, turn, turns["a"])
			}
		}
	}
}

// TestThreadWaitYields: on one P, a loop that waits on its thread while
// datagrams come runs its turns there, and the process's other
// goroutines still get their turns and their network: TCP round trips
// and a timer-paced sender go on throughout; data on a connection given
// to YieldTo ends the loop's span at once.
func TestThreadWaitYields(t *testing.T) {
	if !threadWaits {
		t.Skip("runs in the pass with thread waits, on one P")
	}
	l := newLoop(t, Options{})
	c := detached(t)
	defer c.Close()
	h := &counter{tag: 7}
	r, err := l.Add(c, h)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Remove()
	s := sender(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(stop)
	wg.Go(func() {
		for seq := uint32(0); ; seq++ {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Microsecond):
			}
			_ = send(s, c.LocalAddr(), 7, seq)
		}
	})
	waitCount(t, "traffic flows", func() bool { return h.n.Load() > 20 })
	echoRoundTrips(t, 50, false)
	before := h.n.Load()
	waitCount(t, "traffic still flows", func() bool { return h.n.Load() > before+20 })
	waitCount(t, "a connection given to YieldTo ends a span", func() bool {
		echoRoundTrips(t, 20, true)
		return l.threadYields.Load() > 0
	})
	l.Close()
	if l.threadTurns == 0 || l.threadSpans == 0 {
		t.Fatalf("loop ran %d turns in %d spans on its thread; want some", l.threadTurns, l.threadSpans)
	}
	if l.yieldErr != nil {
		t.Fatalf("watching a connection given to YieldTo: %v", l.yieldErr)
	}
}

// echoRoundTrips makes n round trips over a loopback TCP connection to
// an echoing goroutine; yield gives both ends to YieldTo.
func echoRoundTrips(t *testing.T, n int, yield bool) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		sc, err := ln.Accept()
		if err != nil {
			return
		}
		defer sc.Close()
		if yield {
			stop, err := YieldTo(sc.(*net.TCPConn))
			if err != nil {
				t.Error(err)
				return
			}
			defer stop()
		}
		_, _ = io.Copy(sc, sc)
	})
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if yield {
		stop, err := YieldTo(cc.(*net.TCPConn))
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
	}
	_ = cc.SetDeadline(time.Now().Add(time.Minute))
	var b [1]byte
	for i := range n {
		if _, err := cc.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(cc, b[:]); err != nil || b[0] != byte(i) {
			t.Fatalf("round trip %d: %v (%d)", i, err, b[0])
		}
	}
}
