package mafaldaclient_test

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/mafalda/mafaldaclient"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/workerproc"
)

// TestWorkerDiedReachesRemoteClient: a Mafalda over worker processes; when
// the process of the worker a remote MafaldaRouter uses is killed, the
// client gets "workerdied" naming that worker, and the transport on it
// closes with "routerclose".
func TestWorkerDiedReachesRemoteClient(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a worker process")
	}
	srv := startServerAPI(t, workerproc.New(&workerproc.Options{Logger: quiet}), nil)
	c := srv.dial(t)
	room := must[*mafaldaclient.MafaldaRouter](t)(c.CreateMafaldaRouter(ctxT(t), roomOptions()))
	type death struct {
		wi  mafalda.WorkerInfo
		err error
	}
	died := make(chan death, 1)
	room.OnWorkerDiedInfo(func(wi mafalda.WorkerInfo, err error) { died <- death{wi, err} })
	tr := must[media.PlainTransport](t)(room.CreatePlainTransport(ctxT(t), nil))
	routerClosed := make(chan struct{})
	tr.OnRouterClose(func() { close(routerClosed) })
	d := must[*mafalda.Dump](t)(c.Dump(ctxT(t)))
	if len(d.Workers) != 1 {
		t.Fatalf("dump %+v", d)
	}
	w := d.Workers[0]
	if err := syscall.Kill(w.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-died:
		if got.wi.WorkerID != w.ID || got.wi.PID != w.PID || got.err == nil || strings.TrimSpace(got.err.Error()) == "" {
			t.Fatalf("workerdied %+v %v, worker %+v", got.wi, got.err, w)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no workerdied")
	}
	select {
	case <-routerClosed:
	case <-time.After(10 * time.Second):
		t.Fatal("no routerclose on the transport")
	}
	wait.Until(t, "transport closed", tr.Closed)
	// The room places its next transport on a new worker.
	must[media.PlainTransport](t)(room.CreatePlainTransport(ctxT(t), nil))
	d = must[*mafalda.Dump](t)(c.Dump(ctxT(t)))
	if len(d.Workers) != 1 || d.Workers[0].PID == w.PID {
		t.Fatalf("after the death: %+v", d.Workers)
	}
	// Closing the room closes the idle worker from an event handler; wait
	// until its process is gone, so no goroutine of it outlives the test.
	if err := room.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	pid := d.Workers[0].PID
	wait.Until(t, "the second worker process gone", func() bool { return syscall.Kill(pid, 0) != nil })
}
