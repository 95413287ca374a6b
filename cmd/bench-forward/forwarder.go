package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/workerproc"
)

// The modes: each forwards in a process of its own, so that the process's
// CPU is the forwarding alone.
const (
	// modeInproc is our engine in the process that builds the topology
	// through media.API (as a server with in-process workers): a child
	// of this tool in the engine role.
	modeInproc = "inproc"
	// modeWorkerproc is the server's default: the topology built over
	// ROPE (media/workerproc) in a worker child process.
	modeWorkerproc = "workerproc"
	// modeMediasoup is mediasoup's C++ worker driven by mediasoup.mjs.
	modeMediasoup = "mediasoup"
)

// envRole puts this binary in the engine role (roleEngine): read a Spec
// on stdin, build it with engine.New, answer Built, forward until stdin
// ends.
const (
	envRole    = "BENCH_FORWARD_ROLE"
	roleEngine = "engine"
)

// ErrNoMediasoup says mediasoup's package was not found.
var ErrNoMediasoup = errors.New("mediasoup not found")

// forwarder is one mode's topology, built and forwarding.
type forwarder struct {
	mode  string
	pid   int
	ports []uint16
	close func() error
}

// startForwarder builds spec in mode.
func startForwarder(ctx context.Context, cfg *config, mode string, spec Spec) (*forwarder, error) {
	switch mode {
	case modeInproc:
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", mode, err)
		}
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), envRole+"="+roleEngine)
		return startChild(ctx, mode, cmd, spec)
	case modeWorkerproc:
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", mode, err)
		}
		return startWorkerproc(ctx, mode, exe, spec)
	case modeMediasoup:
		script, err := mediasoupScript(cfg)
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(cfg.node, script, cfg.mediasoupDir)
		return startChild(ctx, mode, cmd, spec)
	}
	if exe, ok := strings.CutPrefix(mode, modeWorkerproc+":"); ok {
		return startWorkerproc(ctx, mode, exe, spec)
	}
	return nil, fmt.Errorf("unknown mode %q", mode)
}

// startChild runs a forwarder child that reads spec as one JSON line and
// answers Built as one JSON line; it ends when its stdin closes.
func startChild(ctx context.Context, mode string, cmd *exec.Cmd, spec Spec) (*forwarder, error) {
	line, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", mode, err)
	}
	cmd.Stderr = os.Stderr
	// exec copies stdout into answer and Wait waits for that copy.
	answer := &firstLine{ch: make(chan []byte, 1)}
	cmd.Stdout = answer
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", mode, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: start: %w", mode, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() error {
		stdin.Close()
		select {
		case err := <-exited:
			return err
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			return <-exited
		}
	}
	var built Built
	if _, err = fmt.Fprintf(stdin, "%s\n", line); err != nil {
		err = fmt.Errorf("send spec: %w", err)
	} else {
		select {
		case b := <-answer.ch:
			err = json.Unmarshal(b, &built)
		case err = <-exited:
			err = fmt.Errorf("exited before answering: %v", err)
			exited <- err
		case <-ctx.Done():
			err = fmt.Errorf("waiting for the topology: %w", ctx.Err())
		}
	}
	if err != nil {
		_ = cmd.Process.Kill()
		_ = stop()
		return nil, fmt.Errorf("%s: %w", mode, err)
	}
	return &forwarder{mode: mode, pid: built.PID, ports: built.Ports, close: stop}, nil
}

// firstLine passes on the first line written to it and drops the rest.
type firstLine struct {
	// mu guards buf and sent.
	mu   sync.Mutex
	buf  []byte
	sent bool
	ch   chan []byte
}

func (f *firstLine) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sent {
		return len(p), nil
	}
	f.buf = append(f.buf, p...)
	if i := bytes.IndexByte(f.buf, '\n'); i >= 0 {
		f.ch <- f.buf[:i]
		f.sent, f.buf = true, nil
	}
	return len(p), nil
}

// startWorkerproc builds spec over ROPE on a worker child process running
// exe.
func startWorkerproc(ctx context.Context, mode, exe string, spec Spec) (*forwarder, error) {
	w, ports, err := build(ctx, workerproc.New(&workerproc.Options{Command: exe}), spec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", mode, err)
	}
	return &forwarder{mode: mode, pid: w.PID(), ports: ports, close: func() error {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return w.Close(cctx)
	}}, nil
}

// engineRole is this binary's main in the engine role.
func engineRole() error {
	ctx := context.Background()
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(nil, 16<<20)
	if !sc.Scan() {
		return fmt.Errorf("engine role: no spec: %v", sc.Err())
	}
	var spec Spec
	if err := json.Unmarshal(sc.Bytes(), &spec); err != nil {
		return fmt.Errorf("engine role: spec: %w", err)
	}
	w, ports, err := build(ctx, engine.New(nil), spec)
	if err != nil {
		return fmt.Errorf("engine role: %w", err)
	}
	defer w.Close(ctx)
	out, _ := json.Marshal(Built{PID: os.Getpid(), Ports: ports})
	fmt.Printf("%s\n", out)
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}
