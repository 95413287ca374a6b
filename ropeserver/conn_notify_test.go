package ropeserver_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeserver"
)

// TestNotifyLossy: a flood of notifications through NotifyLossy past
// the connection's queue bound drops what does not fit instead of
// closing the connection with 4000; every notification it reports sent
// arrives, and one that finds the queue above maxQueued is dropped.
func TestNotifyLossy(t *testing.T) {
	const flood = 3000
	sentCh := make(chan int, 1)
	_, url := startServer(t, &ropeserver.Options{SendQueueBytes: 32 << 10, Methods: map[string]ropeserver.MethodFunc{
		"app.flood": func(_ context.Context, call *ropeserver.Call) (any, error) {
			pad := strings.Repeat("x", 1000)
			sent := 0
			for i := range flood {
				ok, err := call.Conn.NotifyLossy("app.tick", map[string]any{"i": i, "pad": pad}, 1<<30)
				if err != nil {
					return nil, err
				}
				if ok {
					sent++
				}
			}
			// Nothing fits a queue bounded at 0 bytes.
			if ok, _ := call.Conn.NotifyLossy("app.tick", map[string]any{"i": -1}, 0); ok {
				sent = -1
			}
			sentCh <- sent
			return sent, nil
		},
	}})
	p := dialPeer(t, url, &websocket.DialOptions{Subprotocols: []string{rope.Subprotocol}})
	p.init()
	notes, resp := p.until(p.request("app.flood", map[string]any{}))
	if resp.Error != nil {
		t.Fatalf("flood: %v", resp.Error)
	}
	sent := <-sentCh
	if sent < 1 || sent > flood {
		t.Fatalf("%d of %d sent", sent, flood)
	}
	// Every sent notification arrives before the response, in order.
	last := -1
	for _, m := range notes {
		var v struct{ I int }
		if err := json.Unmarshal(m.Params, &v); err != nil || m.Method != "app.tick" || v.I <= last {
			t.Fatalf("notification %s %s after %d", m.Method, m.Params, last)
		}
		last = v.I
	}
	if len(notes) != sent {
		t.Fatalf("%d notifications arrived, %d sent", len(notes), sent)
	}
	// The connection is still open.
	if _, resp := p.until(p.request(rope.MethodPing, nil)); resp.Error != nil {
		t.Fatalf("ping: %v", resp.Error)
	}
}

// TestConnOnClose: hooks run once the connection ended; a stopped one
// does not; one registered after the end runs at once.
func TestConnOnClose(t *testing.T) {
	conns := make(chan *ropeserver.Conn, 1)
	_, url := startServer(t, &ropeserver.Options{Methods: map[string]ropeserver.MethodFunc{
		"app.conn": func(_ context.Context, call *ropeserver.Call) (any, error) {
			conns <- call.Conn
			return nil, nil
		},
	}})
	p := dialPeer(t, url, &websocket.DialOptions{Subprotocols: []string{rope.Subprotocol}})
	p.init()
	p.until(p.request("app.conn", map[string]any{}))
	conn := <-conns
	ran := make(chan string, 3)
	conn.OnClose(func() { ran <- "kept" })
	stop := conn.OnClose(func() { ran <- "stopped" })
	if !stop() || stop() {
		t.Fatal("stop reports")
	}
	p.ws.Close(websocket.StatusNormalClosure, "")
	wait.Until(t, "the hook", func() bool { return len(ran) == 1 })
	conn.OnClose(func() { ran <- "late" })
	if got := []string{<-ran, <-ran}; got[0] != "kept" || got[1] != "late" {
		t.Fatalf("hooks ran %v", got)
	}
}
