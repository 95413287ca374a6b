package ropeserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeserver"
	"github.com/ropehq/rope/ropeserver/fixture"
)

// bigAppData is a rope.setAppData request body of about n bytes.
func bigAppData(object string, n int) map[string]any {
	return map[string]any{"object": object, "appData": map[string]string{"pad": strings.Repeat("x", n)}}
}

// setAppData runs rope.setAppData and returns its response.
func (p *peer) setAppData(params map[string]any) *rope.Message {
	p.t.Helper()
	_, resp := p.until(p.request(rope.MethodSetAppData, params))
	return resp
}

// setBigAppData sets about n bytes of appData on the fixture's root and
// waits for the response, skipping the notifications it reads before
// without decoding them (they are large; the race detector makes that slow).
func (p *peer) setBigAppData(n int) {
	p.t.Helper()
	p.id++
	id := itoa(p.id)
	p.sendRaw(`{"jsonrpc":"2.0","id":` + id + `,"method":"rope.setAppData","params":{"object":"` + fixture.RootID + `","appData":{"pad":"` + strings.Repeat("x", n) + `"}}}`)
	for {
		data := p.readRaw(5 * time.Second)
		if len(data) > 1024 {
			continue // a notification
		}
		m, _, e := rope.Decode(data)
		if e != nil {
			p.t.Fatalf("server sent an invalid message %s: %v", data, e)
		}
		if !m.IsRequest() && string(m.ID) == id {
			if m.Error != nil {
				p.t.Fatalf("setAppData: %v", m.Error)
			}
			return
		}
	}
}

func (p *peer) readRaw(d time.Duration) []byte {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, data, err := p.ws.Read(ctx)
	if err != nil {
		p.t.Fatalf("read: %v", err)
	}
	return data
}

// checkBounds fails when a queue or the replay ring holds more bytes than
// its bound.
func checkBounds(t *testing.T, srv *ropeserver.Server, queueBytes, replayBytes int64) {
	t.Helper()
	for _, q := range srv.QueueStats() {
		if q.Bytes > queueBytes {
			t.Fatalf("a send queue holds %d bytes, over its bound of %d", q.Bytes, queueBytes)
		}
	}
	if _, b := srv.ReplayStats(); b > replayBytes {
		t.Fatalf("the replay ring holds %d bytes, over its bound of %d", b, replayBytes)
	}
}

// A client that stops reading is closed with 4000, and the close frame
// reaches it behind what the server had already written: it gets the
// frame once it reads again.
func TestSlowConsumerGetsCloseFrame(t *testing.T) {
	srv, url := startServer(t, &ropeserver.Options{SendQueueBytes: rope.MinSendQueueBytes, WriteTimeout: wait.Timeout})
	slow := dialPeer(t, url, nil)
	slow.init()
	fast := dialPeer(t, url, nil)
	fast.init()
	// Each call queues 512 KiB for every connection: the slow one's socket
	// buffers fill, then its queue passes its bound.
	wait.Until(t, "the slow connection's queue to overflow", func() bool {
		fast.setBigAppData(512 << 10)
		checkBounds(t, srv, rope.MinSendQueueBytes, ropeserver.DefaultReplayBytes)
		return slices.ContainsFunc(srv.QueueStats(), func(q ropeserver.QueueStats) bool { return q.Overflow })
	})
	ctx, cancel := context.WithTimeout(context.Background(), wait.Timeout)
	defer cancel()
	for {
		_, _, err := slow.ws.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) != rope.CloseSlowConsumer {
				t.Fatalf("slow client: %v, want a close frame with 4000", err)
			}
			break
		}
	}
	wait.Until(t, "the slow connection to end", func() bool { return srv.ConnCount() == 1 })
	if resp := fast.call(fixture.RootID, "echo", []int{1}); resp.Error != nil {
		t.Fatalf("the other connection: %v", resp.Error)
	}
}

// Large notifications fill the replay ring only up to its bound in bytes;
// resume replays what it kept. (TestSlowConsumerGetsCloseFrame checks the
// send queue's bound.)
func TestReplayRingBytesBounded(t *testing.T) {
	const ringBytes = 2 << 20
	srv, url := startServer(t, &ropeserver.Options{ReplayBytes: ringBytes})
	p := dialPeer(t, url, nil)
	ip := p.init()
	for range 10 { // 5 MiB of notifications
		p.setBigAppData(512 << 10)
		checkBounds(t, srv, ropeserver.DefaultSendQueueBytes, ringBytes)
	}
	if n, b := srv.ReplayStats(); n != 3 || b > ringBytes {
		t.Errorf("the ring keeps %d notifications, %d bytes; want the 3 that fit in %d", n, b, ringBytes)
	}
	last := srv.Seq()
	r := dialPeer(t, url+"?epoch="+ip.Epoch+"&seq="+itoa(int(last-3)), nil)
	if rip := r.init(); !rip.Resumed {
		t.Fatalf("resume within the ring's bytes: %+v", rip)
	}
	for range 3 {
		if m := r.read(); m.Method != rope.MethodUpdated {
			t.Fatalf("replayed %s", m.Method)
		}
	}
	if s := dialPeer(t, url+"?epoch="+ip.Epoch+"&seq="+itoa(int(last-4)), nil).init(); s.Resumed || len(s.Objects) != 1 {
		t.Errorf("resume past the ring's bytes: resumed %v, %d objects; want a snapshot", s.Resumed, len(s.Objects))
	}
}

// One object's state and all objects' state are bounded in bytes: a change
// past either gets an error and the connection goes on; rope.init stays
// within the limit the handshake announces.
func TestStateBounds(t *testing.T) {
	const objectBytes, stateBytes = 64 << 10, 256 << 10
	srv, url := startServer(t, &ropeserver.Options{MaxObjectBytes: objectBytes, MaxStateBytes: stateBytes})
	p := dialPeer(t, url, nil)
	p.init()
	errCode(t, p.setAppData(bigAppData(fixture.RootID, objectBytes)), rope.CodeInvalidParams)
	root, _ := srv.Object(fixture.RootID)
	if string(root.AppData()) != "{}" {
		t.Errorf("appData %.40s… after a refused change", root.AppData())
	}
	full := false
	for range 10 {
		id := p.createCounter(0)
		resp := p.setAppData(bigAppData(id, 60<<10))
		if resp.Error != nil {
			errCode(t, resp, rope.CodeOverloaded)
			full = true
			break
		}
	}
	if !full || srv.StateBytes() > stateBytes {
		t.Fatalf("state full %v at %d bytes, bound %d", full, srv.StateBytes(), stateBytes)
	}
	if resp := p.call(fixture.RootID, "echo", []int{1}); resp.Error != nil {
		t.Fatalf("the connection after refused changes: %v", resp.Error)
	}
	// The Go API says why.
	counter, err := srv.Create(fixture.TypeCounter, &ropeserver.ObjectOptions{Parent: root, Props: map[string]any{"value": 0}})
	if err != nil {
		t.Fatal(err)
	}
	if err := counter.SetAppData(json.RawMessage(`{"pad":"` + strings.Repeat("x", objectBytes) + `"}`)); !errors.Is(err, ropeserver.ErrTooLarge) {
		t.Errorf("SetAppData past MaxObjectBytes: %v, want ErrTooLarge", err)
	}
	if err := counter.SetAppData(json.RawMessage(`{"pad":"` + strings.Repeat("x", 60<<10) + `"}`)); !errors.Is(err, ropeserver.ErrStateFull) {
		t.Errorf("SetAppData past MaxStateBytes: %v, want ErrStateFull", err)
	}
	// A new connection's rope.init, all the state in it, fits what the
	// handshake announced.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	limit, err := strconv.ParseInt(resp.Header.Get(rope.HeaderOutboundLimit), 10, 64)
	if err != nil || limit < stateBytes {
		t.Fatalf("%s: %q, want at least MaxStateBytes", rope.HeaderOutboundLimit, resp.Header.Get(rope.HeaderOutboundLimit))
	}
	ws.SetReadLimit(limit)
	_, data, err := ws.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < int(srv.StateBytes()) || int64(len(data)) > limit {
		t.Errorf("rope.init of %d bytes for %d bytes of state, announced limit %d", len(data), srv.StateBytes(), limit)
	}
}

// A new connection's rope.init is encoded outside the server's lock: while
// it is, other clients' pings and state changes go through, and the new
// connection still sees exactly the changes after its snapshot, once, in
// order.
func TestInitEncodedOutsideTheLock(t *testing.T) {
	srv, url := startServer(t, nil)
	a := dialPeer(t, url, nil)
	a.init()
	counter := a.createCounter(0)
	entered, release := make(chan struct{}), make(chan struct{})
	releaseOnce := sync.OnceFunc(func() { close(release) })
	t.Cleanup(releaseOnce)
	var once sync.Once
	ropeserver.SetInitEncodingHook(func() {
		once.Do(func() {
			close(entered)
			<-release
		})
	})
	t.Cleanup(func() { ropeserver.SetInitEncodingHook(nil) })
	snapSeq := srv.Seq()
	b := dialPeer(t, url, nil)
	select {
	case <-entered:
	case <-time.After(wait.Timeout):
		t.Fatal("rope.init was not encoded")
	}
	if srv.LockHeld() {
		t.Error("the server's lock is held while rope.init is encoded")
	}
	if _, resp := a.until(a.request(rope.MethodPing, nil)); resp.Error != nil {
		t.Fatal(resp.Error)
	}
	if resp := a.call(counter, "increment", map[string]int{"by": 1}); resp.Error != nil {
		t.Fatal(resp.Error)
	}
	releaseOnce()
	bi := b.init()
	if bi.Seq != snapSeq || len(bi.Objects) != 2 || string(bi.Objects[1].Props["value"]) != "0" {
		t.Fatalf("rope.init seq %d (want %d), objects %+v", bi.Seq, snapSeq, bi.Objects)
	}
	notes, _ := b.until(b.request(rope.MethodPing, nil))
	if got := strings.Join(methods(notes), ","); got != "rope.updated,rope.event" {
		t.Fatalf("after rope.init: %s, want the increment's rope.updated and rope.event", got)
	}
	checkContiguous(t, bi.Seq, notes)
}

// MaxInFlightTotal bounds the requests running over all connections.
func TestGlobalInFlightLimit(t *testing.T) {
	block := make(chan struct{})
	var started atomic.Int32
	_, url := startServer(t, &ropeserver.Options{MaxInFlightTotal: 4, Methods: map[string]ropeserver.MethodFunc{
		"app.block": func(ctx context.Context, _ *ropeserver.Call) (any, error) {
			started.Add(1)
			select {
			case <-block:
			case <-ctx.Done():
			}
			return "done", nil
		},
	}})
	a, b := dialPeer(t, url, nil), dialPeer(t, url, nil)
	a.init()
	b.init()
	for range 2 {
		a.request("app.block", nil)
	}
	wait.Until(t, "a's calls to start", func() bool { return started.Load() == 2 })
	// b's first two take the last slots; its next two find none.
	for range 4 {
		b.request("app.block", nil)
	}
	overloaded := 0
	for range 2 {
		if m := b.read(); m.Error != nil && m.Error.Code == rope.CodeOverloaded {
			overloaded++
		}
	}
	close(block)
	ok := 0
	for _, p := range []*peer{a, a, b, b} {
		if m := p.read(); m.Error == nil {
			ok++
		}
	}
	if overloaded != 2 || ok != 4 {
		t.Errorf("overloaded %d, ok %d; want 2 and 4", overloaded, ok)
	}
}
