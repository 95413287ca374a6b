package ropeserver_test

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ropehq/rope/ropeclient"
	"github.com/ropehq/rope/ropeserver"
	"github.com/ropehq/rope/ropeserver/fixture"
	"github.com/sourcegraph/jsonrpc2"
)

// The ROPE benchmarks run beside bare JSON-RPC over the same WebSocket stack
// (sourcegraph/jsonrpc2 on coder/websocket), so ROPE's own cost shows as a
// ratio.

func benchServer(b *testing.B, opts *ropeserver.Options) (*ropeserver.Server, string) {
	b.Helper()
	if opts == nil {
		opts = &ropeserver.Options{}
	}
	opts.Logger = quiet
	srv := ropeserver.New(opts)
	if _, err := fixture.Register(srv); err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	b.Cleanup(func() { srv.Close(); hs.Close() })
	return srv, "ws" + strings.TrimPrefix(hs.URL, "http") + "/"
}

func BenchmarkCallRoundTrip(b *testing.B) {
	b.Run("rope", func(b *testing.B) {
		_, url := benchServer(b, nil)
		c, err := ropeclient.Dial(context.Background(), url, &ropeclient.Options{Logger: quiet, Dedicated: true})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		ctx := context.Background()
		params := map[string]int{"n": 1}
		b.ReportAllocs()
		for b.Loop() {
			if err := c.Call(ctx, fixture.RootID, "echo", params, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	})
	b.Run("bare-jsonrpc2", func(b *testing.B) {
		conn := bareEchoConn(b)
		ctx := context.Background()
		params := map[string]int{"n": 1}
		b.ReportAllocs()
		for b.Loop() {
			var out json.RawMessage
			if err := conn.Call(ctx, "echo", params, &out); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	})
}

func BenchmarkCallsParallel(b *testing.B) {
	b.Run("rope", func(b *testing.B) {
		_, url := benchServer(b, &ropeserver.Options{MaxInFlight: 4096})
		c, err := ropeclient.Dial(context.Background(), url, &ropeclient.Options{Logger: quiet, Dedicated: true})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		b.SetParallelism(16)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := c.Call(context.Background(), fixture.RootID, "echo", map[string]int{"n": 1}, nil); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	})
	b.Run("bare-jsonrpc2", func(b *testing.B) {
		conn := bareEchoConn(b)
		b.SetParallelism(16)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				var out json.RawMessage
				if err := conn.Call(context.Background(), "echo", map[string]int{"n": 1}, &out); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	})
}

// BenchmarkFanout1000 measures one state change reaching 1,000 connections.
func BenchmarkFanout1000(b *testing.B) {
	const clients = 1000
	b.Run("rope", func(b *testing.B) {
		srv, url := benchServer(b, nil)
		var counter *ropeserver.Object
		root, _ := srv.Object(fixture.RootID)
		counter, err := srv.Create(fixture.TypeCounter, &ropeserver.ObjectOptions{Parent: root, Props: map[string]any{"value": 0}})
		if err != nil {
			b.Fatal(err)
		}
		got := startReaders(b, url, clients, 1)
		b.ReportAllocs()
		i := 0
		var publish time.Duration
		for b.Loop() {
			i++
			t0 := time.Now()
			counter.SetProp("value", i)
			publish += time.Since(t0)
			got.wait(b, int64(i)*clients)
		}
		b.ReportMetric(float64(b.N*clients)/b.Elapsed().Seconds(), "deliveries/s")
		b.ReportMetric(float64(publish.Nanoseconds())/float64(b.N), "publish-ns/op")
	})
	// Half of the connections have a view (spec §18) that holds the
	// counter, half one that does not: the change reaches 500.
	b.Run("rope-views-half-out", func(b *testing.B) {
		var in, out *ropeserver.Grant
		srv, url := benchServer(b, &ropeserver.Options{Authorize: func(_ *http.Request, token string) (*ropeserver.Grant, error) {
			if token == "in" {
				return in, nil
			}
			return out, nil
		}})
		root, _ := srv.Object(fixture.RootID)
		counter, err := srv.Create(fixture.TypeCounter, &ropeserver.ObjectOptions{Parent: root, Props: map[string]any{"value": 0}})
		if err != nil {
			b.Fatal(err)
		}
		in = &ropeserver.Grant{Subject: "in", Roots: []string{counter.ID()}}
		out = &ropeserver.Grant{Subject: "out", Roots: []string{"elsewhere"}}
		got := startReaders(b, url+"?access_token=in", clients/2, 1)
		startReaders(b, url+"?access_token=out", clients/2, 1)
		b.ReportAllocs()
		i := 0
		var publish time.Duration
		for b.Loop() {
			i++
			t0 := time.Now()
			counter.SetProp("value", i)
			publish += time.Since(t0)
			got.wait(b, int64(i)*clients/2)
		}
		b.ReportMetric(float64(b.N*clients/2)/b.Elapsed().Seconds(), "deliveries/s")
		b.ReportMetric(float64(publish.Nanoseconds())/float64(b.N), "publish-ns/op")
	})
	b.Run("bare-broadcast", func(b *testing.B) {
		hub := newBareHub()
		hs := httptest.NewServer(hub)
		b.Cleanup(func() { hub.close(); hs.Close() })
		got := startReaders(b, "ws"+strings.TrimPrefix(hs.URL, "http"), clients, 0)
		hub.waitConns(clients)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": "updated", "params": map[string]any{"value": i}})
			hub.broadcast(msg)
			got.wait(b, int64(i)*clients)
		}
		b.ReportMetric(float64(b.N*clients)/b.Elapsed().Seconds(), "deliveries/s")
	})
}

// counterWait counts messages received by all readers.
type counterWait struct {
	n    atomic.Int64
	wake chan struct{}
}

func (c *counterWait) wait(b *testing.B, want int64) {
	deadline := time.After(30 * time.Second)
	for c.n.Load() < want {
		select {
		case <-c.wake:
		case <-deadline:
			b.Fatalf("got %d deliveries, want %d", c.n.Load(), want)
		}
	}
}

// startReaders opens n raw connections that count every message after the
// first skip ones.
func startReaders(b *testing.B, url string, n, skip int) *counterWait {
	got := &counterWait{wake: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	b.Cleanup(func() { cancel(); wg.Wait() })
	for range n {
		ws, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			b.Fatal(err)
		}
		ws.SetReadLimit(-1)
		for range skip {
			if _, _, err := ws.Read(ctx); err != nil {
				b.Fatal(err)
			}
		}
		wg.Go(func() {
			defer ws.CloseNow()
			for {
				if _, _, err := ws.Read(ctx); err != nil {
					return
				}
				got.n.Add(1)
				select {
				case got.wake <- struct{}{}:
				default:
				}
			}
		})
	}
	return got
}

// bareHub broadcasts the same bytes to every connection, with no state.
type bareHub struct {
	mu    sync.Mutex
	conns map[*websocket.Conn]chan []byte
	wg    sync.WaitGroup
}

func newBareHub() *bareHub { return &bareHub{conns: map[*websocket.Conn]chan []byte{}} }

func (h *bareHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	ch := make(chan []byte, 1024)
	h.mu.Lock()
	h.conns[ws] = ch
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()
	go func() {
		ws.Read(context.Background()) // returns when the connection closes
		close(ch)
	}()
	for msg := range ch {
		if ws.Write(context.Background(), websocket.MessageText, msg) != nil {
			break
		}
	}
	ws.CloseNow()
}

func (h *bareHub) waitConns(n int) {
	for {
		h.mu.Lock()
		l := len(h.conns)
		h.mu.Unlock()
		if l >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func (h *bareHub) broadcast(msg []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range h.conns {
		ch <- msg
	}
}

func (h *bareHub) close() {
	h.mu.Lock()
	for ws := range h.conns {
		ws.CloseNow()
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// wsStream adapts a coder/websocket connection to jsonrpc2.ObjectStream.
type wsStream struct{ ws *websocket.Conn }

func (s wsStream) WriteObject(obj any) error {
	b, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	return s.ws.Write(context.Background(), websocket.MessageText, b)
}

func (s wsStream) ReadObject(v any) error {
	_, b, err := s.ws.Read(context.Background())
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func (s wsStream) Close() error { return s.ws.Close(websocket.StatusNormalClosure, "") }

var silent = jsonrpc2.SetLogger(log.New(io.Discard, "", 0))

type echoHandler struct{}

func (echoHandler) Handle(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request) {
	var p json.RawMessage
	if req.Params != nil {
		p = *req.Params
	}
	conn.Reply(ctx, req.ID, p)
}

// bareEchoConn serves sourcegraph/jsonrpc2 echo over coder/websocket and
// returns a client connection to it.
func bareEchoConn(b *testing.B) *jsonrpc2.Conn {
	var wg sync.WaitGroup
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		conn := jsonrpc2.NewConn(context.Background(), wsStream{ws}, jsonrpc2.AsyncHandler(echoHandler{}), silent)
		wg.Add(1)
		defer wg.Done()
		<-conn.DisconnectNotify()
	}))
	ws, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		b.Fatal(err)
	}
	conn := jsonrpc2.NewConn(context.Background(), wsStream{ws}, jsonrpc2.HandlerWithError(func(context.Context, *jsonrpc2.Conn, *jsonrpc2.Request) (any, error) { return nil, nil }), silent)
	b.Cleanup(func() {
		conn.Close()
		hs.CloseClientConnections()
		wg.Wait()
		hs.Close()
	})
	return conn
}
