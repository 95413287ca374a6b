package workerproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"time"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediaclient"
	"github.com/ropehq/rope/ropeclient"
)

// worker is the child's worker, as mediaclient mirrors it, bound to the
// child process.
type worker struct {
	// Worker is the mediaclient worker; nil until connect made it.
	media.Worker
	api *api
	// mc is the media client of the child's connection; nil until
	// connect made it.
	mc    *mediaclient.Client
	cmd   *exec.Cmd
	stdin io.WriteCloser
	opts  *Options
	rc    *ropeclient.Client
	// exited closes when the process has ended; done when reap, and the
	// closing of a dead worker's mirrors it may run, have finished.
	exited, done chan struct{}

	// mu guards closing, died, burying, waitErr and routers.
	mu      sync.Mutex
	closing bool
	died    bool
	// burying is set while a dead worker's mirrors close and their
	// listeners run.
	burying bool
	waitErr error
	// routers are the wrappers of the open routers, by mediaclient router.
	routers map[media.Router]*router
}

var _ media.Worker = (*worker)(nil)

// PID is the child process's id.
func (w *worker) PID() int { return w.cmd.Process.Pid }

// Died reports whether the child ended without Close, or its worker
// died inside it.
func (w *worker) Died() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.died || (w.Worker != nil && w.Worker.Died())
}

// GetResourceUsage reports the child process's figures.
func (w *worker) GetResourceUsage(ctx context.Context) (*media.WorkerResourceUsage, error) {
	if w.Closed() {
		return nil, media.NewError(media.ErrClosed, "worker %d closed", w.PID())
	}
	return resourceUsage(w.PID())
}

// Close closes the worker, then the connection, upon which the child
// exits; it waits for the child (killing it after Options.StopTimeout).
// It is idempotent. On a worker that died it waits for the close events
// of its objects to have run; while they are running it returns at once,
// since it may be called from one of their listeners, which would wait
// for itself.
func (w *worker) Close(ctx context.Context) error {
	w.mu.Lock()
	already := w.closing || w.died
	burying := w.burying
	w.closing = true
	w.mu.Unlock()
	if burying {
		return nil
	}
	if already {
		<-w.done
		return nil
	}
	var err error
	select {
	case <-w.exited:
	default:
		if err = w.Worker.Close(ctx); err != nil && errors.Is(err, ropeclient.ErrDisconnected) {
			err = nil // the child went meanwhile
		}
	}
	w.stop()
	<-w.done
	return err
}

// stop closes the connection and stdin, and kills the child if it has not
// exited after StopTimeout.
func (w *worker) stop() {
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	if w.rc != nil {
		w.rc.Close()
	}
	w.stdin.Close()
	t := time.NewTimer(w.opts.StopTimeout)
	defer t.Stop()
	select {
	case <-w.exited:
	case <-t.C:
		_ = w.cmd.Process.Kill()
	}
}

// reap waits for the process; if it ended without Close, the worker
// died: its mirrors close locally with mediasoup's events
// (mediaclient's Bury).
func (w *worker) reap() {
	defer close(w.done)
	err := w.cmd.Wait()
	w.mu.Lock()
	died := !w.closing && w.Worker != nil
	w.died = died
	w.burying = died
	w.waitErr = err
	w.mu.Unlock()
	close(w.exited)
	if !died {
		return
	}
	if err == nil {
		err = errors.New("worker process exited")
	}
	// The child's objects close in the mirror as mediasoup closes a dead
	// worker's: each after its parent's close event, the worker after
	// "died".
	w.mc.Bury(fmt.Errorf("workerproc: worker process %d: %w", w.PID(), err))
	w.mu.Lock()
	w.burying = false
	w.mu.Unlock()
	w.stdin.Close()
}
