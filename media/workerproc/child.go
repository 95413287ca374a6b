package workerproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/internal/evloop"
	"github.com/ropehq/rope/media/mediaserver"
	"github.com/ropehq/rope/ropeserver"
)

// EnvWorkerMode is the environment variable that puts a process in worker
// mode; the parent sets it to "1".
const EnvWorkerMode = "ROPE_WORKERPROC"

// EnvWaitOnThread, set to "0" in the parent's environment (which its
// children inherit), keeps each child's event loop parked in Go's poller
// between turns. By default, on one P, the loop waits in epoll_wait on
// its own thread while packets come densely
// (engine.Options.LoopWaitsOnThread): 0.92 of the CPU per packet at
// 1→1 @ 2,000 packets/s.
const EnvWaitOnThread = "ROPE_WORKER_WAIT_ON_THREAD"

// EnvSendRing, set to "0" in the parent's environment (which its
// children inherit), has a worker child's consumers send with a system
// call each instead of one io_uring submission per event-loop turn
// (engine.Options.NoSendRing).
const EnvSendRing = "ROPE_WORKER_SEND_RING"

// IsWorkerMode reports whether this process was started as a worker.
func IsWorkerMode() bool { return os.Getenv(EnvWorkerMode) == "1" }

// Main runs Serve until the parent goes, then exits the process: 0 when
// the parent left, 1 on a failure.
func Main() {
	oneP()
	gcPercent()
	if err := Serve(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "workerproc:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// The child's replay ring (ropeserver.Options.ReplayWindow and
// ReplayBytes). Its one client, the parent, never resumes: a lost
// connection is the child's end (Serve returns). A server's defaults
// (16,384 notifications, preallocated, up to 64 MiB) were memory a
// long-lived worker filled with its events for nothing.
const (
	childReplayWindow = 64
	childReplayBytes  = 256 << 10
)

// Serve serves the local engine over ROPE on a loopback port, printing
// its WebSocket URL as the first line on stdout. It returns when ctx
// ends, when the parent's connection closes after having been open, or
// when stdin reaches its end (the parent closed it or died).
func Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rs := ropeserver.New(&ropeserver.Options{Logger: log, SendFullErrors: true, PingInterval: -1,
		ReplayWindow: childReplayWindow, ReplayBytes: childReplayBytes})
	defer rs.Close()
	// The parent is the child's one client and has applied its own
	// server's policy: the child allows what it asks.
	// On one P (oneP), unless told not to, the worker's loop keeps the
	// thread while packets come.
	api := engine.New(&engine.Options{LoopWaitsOnThread: runtime.GOMAXPROCS(0) == 1 && os.Getenv(EnvWaitOnThread) != "0",
		NoSendRing: os.Getenv(EnvSendRing) == "0"})
	armTestPanic(api) // inert outside tests
	ms, err := mediaserver.Register(rs, api, &mediaserver.Options{AllowWorkerClose: true, AllowWorkerFiles: true, Logger: log,
		// The parent's one connection carries all its clients'
		// subscriptions; the parent bounds them per client.
		MaxPacketSubscriptions: -1})
	if err != nil {
		return err
	}
	defer ms.Close(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("workerproc: listen: %w", err)
	}
	gl := &gone{Listener: ln, last: cancel}
	hs := &http.Server{Handler: rs, ReadHeaderTimeout: 5 * time.Second}
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := hs.Serve(gl); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("workerproc: serve", "err", err)
		}
		cancel()
	})
	// Stdin is a pipe from the parent: its end means the parent is gone.
	go func() { // not waited for: a blocked stdin read cannot be interrupted
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	if _, err := fmt.Fprintf(os.Stdout, "ws://%s/\n", ln.Addr()); err != nil {
		cancel()
	}
	<-ctx.Done()
	sctx, scancel := context.WithTimeout(context.Background(), time.Second)
	defer scancel()
	_ = hs.Shutdown(sctx)
	_ = hs.Close()
	wg.Wait()
	return nil
}

// gone is a listener whose connections call last when the last one open
// closes: the parent's connection went.
type gone struct {
	net.Listener
	last func()

	// mu guards open.
	mu   sync.Mutex
	open int
}

func (g *gone) Accept() (net.Conn, error) {
	c, err := g.Listener.Accept()
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	g.open++
	g.mu.Unlock()
	gc := &goneConn{Conn: c, g: g, unyield: func() {}}
	// The engine's loop, waiting on its thread while packets come,
	// parks as soon as the parent's calls arrive.
	if sc, ok := c.(syscall.Conn); ok {
		if stop, err := evloop.YieldTo(sc); err == nil {
			gc.unyield = stop
		}
	}
	return gc, nil
}

type goneConn struct {
	net.Conn
	g       *gone
	once    sync.Once
	unyield func()
}

func (c *goneConn) Close() error {
	c.unyield()
	err := c.Conn.Close()
	c.once.Do(func() {
		c.g.mu.Lock()
		c.g.open--
		last := c.g.open == 0
		c.g.mu.Unlock()
		if last {
			c.g.last()
		}
	})
	return err
}
