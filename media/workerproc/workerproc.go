package workerproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/crosspipe"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/internal/event"
	"github.com/ropehq/rope/media/mediaclient"
	"github.com/ropehq/rope/ropeclient"
)

// DefaultStopTimeout is the default of Options.StopTimeout.
const DefaultStopTimeout = 2 * time.Second

// Options configure New. Nil means defaults.
type Options struct {
	// Command is the worker program. Default os.Args[0]: this binary,
	// whose main must call Main when IsWorkerMode.
	Command string
	// Args are the program's arguments. Default none.
	Args []string
	// Env is added to the parent's environment, after which EnvWorkerMode
	// is set. Default nothing added.
	Env []string
	// Stderr receives the child's stderr. Default os.Stderr.
	Stderr io.Writer
	// StopTimeout is how long Close waits for a child to exit after its
	// connection closed before killing it. Default DefaultStopTimeout.
	StopTimeout time.Duration
	// Logger receives what has no caller to return to. Default
	// slog.Default().
	Logger *slog.Logger
}

type api struct {
	opts        Options
	onNewWorker event.Listeners[media.Worker]
	caps        media.RtpCapabilities
	// pipes keeps the pipe transports of each pair of routers in
	// different worker processes.
	pipes crosspipe.Piper
}

var (
	_ media.API               = (*api)(nil)
	_ media.Versioned         = (*api)(nil)
	_ media.NewWorkerNotifier = (*api)(nil)
)

// Version is media.Version(): the child runs this module's engine.
func (a *api) Version() string { return media.Version() }

// OnNewWorker (mediasoup's observer "newworker") fires for each worker
// process CreateWorker starts, before it returns.
func (a *api) OnNewWorker(fn func(media.Worker)) func() { return a.onNewWorker.On(fn) }

// New returns a media API whose every worker is a child process. opts may
// be nil.
func New(opts *Options) media.API {
	a := &api{}
	if opts != nil {
		a.opts = *opts
	}
	if a.opts.Command == "" {
		a.opts.Command = os.Args[0]
	}
	if a.opts.Stderr == nil {
		a.opts.Stderr = os.Stderr
	}
	if a.opts.StopTimeout <= 0 {
		a.opts.StopTimeout = DefaultStopTimeout
	}
	if a.opts.Logger == nil {
		a.opts.Logger = slog.Default()
	}
	// The child runs the same engine: its capabilities are ours.
	a.caps = engine.New(nil).SupportedRtpCapabilities()
	return a
}

func (a *api) SupportedRtpCapabilities() media.RtpCapabilities { return a.caps }

// CreateWorker starts a child process and creates its worker.
func (a *api) CreateWorker(ctx context.Context, settings *media.WorkerSettings) (media.Worker, error) {
	cmd := exec.Command(a.opts.Command, a.opts.Args...)
	cmd.Env = append(append(os.Environ(), a.opts.Env...), EnvWorkerMode+"=1")
	cmd.Stderr = a.opts.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("workerproc: %w", err)
	}
	// Stdout's first line is the child's URL; the rest is dropped. The
	// copy is exec's, which Wait waits for.
	url := &firstLine{ch: make(chan string, 1)}
	cmd.Stdout = url
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("workerproc: start worker: %w", err)
	}
	w := &worker{api: a, cmd: cmd, stdin: stdin, opts: &a.opts, exited: make(chan struct{}), done: make(chan struct{})}
	go w.reap()
	u, err := url.wait(ctx, w.exited)
	if err == nil {
		err = w.connect(ctx, u, settings)
	}
	if err != nil {
		w.stop()
		<-w.done
		return nil, err
	}
	a.onNewWorker.Emit(w)
	return w, nil
}

// firstLine keeps the first line written to it.
type firstLine struct {
	// mu guards buf and sent.
	mu   sync.Mutex
	buf  []byte
	sent bool
	ch   chan string
}

func (f *firstLine) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sent {
		return len(p), nil
	}
	f.buf = append(f.buf, p...)
	if i := bytes.IndexByte(f.buf, '\n'); i >= 0 {
		f.ch <- strings.TrimSpace(string(f.buf[:i]))
		f.sent, f.buf = true, nil
	} else if len(f.buf) > 4096 {
		f.ch <- string(f.buf[:64])
		f.sent, f.buf = true, nil
	}
	return len(p), nil
}

// wait returns the child's URL.
func (f *firstLine) wait(ctx context.Context, exited <-chan struct{}) (string, error) {
	select {
	case s := <-f.ch:
		if !strings.HasPrefix(s, "ws://") {
			return "", fmt.Errorf("workerproc: worker printed %q, want its URL", s)
		}
		return s, nil
	case <-exited:
		return "", errors.New("workerproc: worker exited before listening")
	case <-ctx.Done():
		return "", fmt.Errorf("workerproc: waiting for the worker: %w", ctx.Err())
	}
}

// connect dials the child and creates its worker.
func (w *worker) connect(ctx context.Context, url string, settings *media.WorkerSettings) error {
	quiet := slog.New(slog.DiscardHandler)
	rc, err := ropeclient.Dial(ctx, url, &ropeclient.Options{
		Dedicated: true, Logger: quiet,
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
	})
	if err != nil {
		return fmt.Errorf("workerproc: %w", err)
	}
	w.mu.Lock()
	w.rc = rc
	w.mu.Unlock()
	mc := mediaclient.New(rc, &mediaclient.Options{Logger: w.opts.Logger})
	inner, err := mc.CreateWorker(ctx, settings)
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.Worker, w.mc = inner, mc
	w.mu.Unlock()
	// A worker that died inside the child (a panic the child's engine
	// recovered) has closed with mediasoup's events, as the server sent
	// them; the child then serves nothing and is stopped.
	inner.OnClose(func() {
		if inner.Died() {
			go w.stop()
		}
	})
	return nil
}
