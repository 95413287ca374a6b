package mediaclient_test

import (
	"errors"
	"sync/atomic"
	"testing"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediatest"
)

// An end event the server sent just before the connection ended is not
// given again by Bury's local close: a router's "workerclose" fires once.
func TestBuryGivesEndEventsOnce(t *testing.T) {
	s := startServer(t, nil)
	c, _ := s.dial(t, nil)
	ctx := ctxT(t)
	w, err := c.CreateWorker(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()})
	if err != nil {
		t.Fatal(err)
	}
	var workerClose atomic.Int32
	r.OnWorkerClose(func() { workerClose.Add(1) })
	// The server's cascade has announced the router's end, and the
	// connection ends before its rope.closed.
	o, ok := s.rs.Object(r.ID())
	if !ok {
		t.Fatal("no ROPE object for the router")
	}
	if err := o.Emit("workerclose", nil); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, "workerclose from the server", func() bool { return workerClose.Load() == 1 })
	c.Bury(errors.New("server gone"))
	wait.Until(t, "the router closed by Bury", r.Closed)
	if n := workerClose.Load(); n != 1 {
		t.Fatalf("workerclose fired %d times", n)
	}
}
