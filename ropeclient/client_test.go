package ropeclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ropehq/rope/internal/cuttest"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeclient"
	"github.com/ropehq/rope/ropeserver"
	"github.com/ropehq/rope/ropeserver/fixture"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func startServer(t testing.TB, opts *ropeserver.Options) (*ropeserver.Server, string) {
	t.Helper()
	if opts == nil {
		opts = &ropeserver.Options{}
	}
	opts.Logger = quiet
	srv := ropeserver.New(opts)
	if _, err := fixture.Register(srv); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return srv, "ws" + strings.TrimPrefix(hs.URL, "http") + "/"
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dial(t testing.TB, url string, opts *ropeclient.Options) *ropeclient.Client {
	t.Helper()
	if opts == nil {
		opts = &ropeclient.Options{}
	}
	opts.Logger = quiet
	c, err := ropeclient.Dial(ctxT(t), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func createCounter(t testing.TB, c *ropeclient.Client) *ropeclient.Object {
	t.Helper()
	var r rope.CreateResult
	if err := c.Call(ctxT(t), fixture.RootID, "createCounter", nil, &r); err != nil {
		t.Fatal(err)
	}
	o, ok := c.Object(r.ID)
	if !ok {
		t.Fatalf("counter %s not in the mirror when the call returned", r.ID)
	}
	return o
}

func propInt(o *ropeclient.Object, name string) int64 {
	var v int64
	o.DecodeProp(name, &v)
	return v
}

func TestMirrorAndCalls(t *testing.T) {
	_, url := startServer(t, &ropeserver.Options{Payload: func(*http.Request) any { return map[string]int{"n": 1} }})
	c := dial(t, url, nil)
	if c.ReadyState() != ropeclient.Connected {
		t.Errorf("state %v", c.ReadyState())
	}
	if string(c.Payload()) != `{"n":1}` {
		t.Errorf("payload %s", c.Payload())
	}
	if _, ok := c.Type(fixture.TypeCounter); !ok {
		t.Error("catalogue lacks Counter")
	}
	counter := createCounter(t, c)
	var res struct{ Value int64 }
	if err := counter.Call(ctxT(t), "increment", map[string]int{"by": 5}, &res); err != nil {
		t.Fatal(err)
	}
	if res.Value != 5 || propInt(counter, "value") != 5 {
		t.Errorf("result %d, mirror %d: the mirror must be current when the call returns", res.Value, propInt(counter, "value"))
	}
	if err := counter.SetAppData(ctxT(t), map[string]string{"room": "a"}); err != nil {
		t.Fatal(err)
	}
	if string(counter.AppData()) != `{"room":"a"}` {
		t.Errorf("appData %s", counter.AppData())
	}
	if err := c.Open(ctxT(t)); !errors.Is(err, ropeclient.ErrAlreadyOpen) {
		t.Errorf("Open on an open client: %v", err)
	}
}

func TestErrorsKeepTheirCode(t *testing.T) {
	_, url := startServer(t, nil)
	c := dial(t, url, nil)
	ctx := ctxT(t)
	err := c.Call(ctx, "ghost", "close", nil, nil)
	var re *rope.Error
	if !errors.Is(err, rope.ErrObjectNotFound) || !errors.As(err, &re) || re.Data.Name != "ObjectNotFound" {
		t.Errorf("unknown object: %v", err)
	}
	if err := c.Call(ctx, fixture.RootID, "nope", nil, nil); !errors.Is(err, rope.ErrUnknownMethod) {
		t.Errorf("unknown method: %v", err)
	}
	if err := c.Call(ctx, fixture.RootID, "fail", map[string]string{"kind": "internal"}, nil); !errors.Is(err, rope.ErrInternal) || strings.Contains(err.Error(), fixture.Secret) {
		t.Errorf("internal: %v", err)
	}
	if err := c.Request(ctx, "no.such.method", nil, nil); !errors.Is(err, rope.ErrMethodNotFound) {
		t.Errorf("extra method: %v", err)
	}
	var ping rope.PingResult
	if err := c.Request(ctx, rope.MethodPing, nil, &ping); err != nil || ping.Seq != c.Seq() {
		t.Errorf("ping %v %+v seq %d", err, ping, c.Seq())
	}
}

func TestTwoClientsSeeEachOther(t *testing.T) {
	_, url := startServer(t, nil)
	a := dial(t, url, &ropeclient.Options{Dedicated: true})
	b := dial(t, url, &ropeclient.Options{Dedicated: true})
	counter := createCounter(t, a)
	var child rope.CreateResult
	if err := counter.Call(ctxT(t), "createChild", map[string]string{"name": "kid"}, &child); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, "B mirrors the child", func() bool { _, ok := b.Object(child.ID); return ok })
	bCounter, _ := b.Object(counter.ID())
	bChild, _ := b.Object(child.ID)
	var mu sync.Mutex
	var closes []string
	bChild.OnClose(func() { mu.Lock(); closes = append(closes, "child"); mu.Unlock() })
	bCounter.OnClose(func() { mu.Lock(); closes = append(closes, "counter"); mu.Unlock() })
	// B changes, A sees.
	if err := bCounter.Call(ctxT(t), "increment", map[string]int{"by": 3}, nil); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, "A sees B's increment", func() bool { return propInt(counter, "value") == 3 })
	// A closes, B's mirror fires close, children first.
	if err := counter.Call(ctxT(t), "close", nil, nil); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, "B's close events", func() bool { mu.Lock(); defer mu.Unlock(); return len(closes) == 2 })
	if strings.Join(closes, ",") != "child,counter" || !bCounter.Closed() {
		t.Errorf("closes %v closed %v", closes, bCounter.Closed())
	}
	if err := bCounter.Call(ctxT(t), "increment", nil, nil); !errors.Is(err, ropeclient.ErrObjectClosed) {
		t.Errorf("call on a closed mirror: %v", err)
	}
}

func TestSharedConnectionClosesWithTheLast(t *testing.T) {
	srv, url := startServer(t, nil)
	a := dial(t, url, nil)
	b := ropeclient.New(url, &ropeclient.Options{Logger: quiet})
	joined := make(chan string, 2)
	b.OnOpen(func() { joined <- "open" })
	b.OnConnected(func() { joined <- "connected" })
	if err := b.Open(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if e1, e2 := <-joined, <-joined; e1 != "open" || e2 != "connected" {
		t.Errorf("joining a live connection: %s, %s", e1, e2)
	}
	if n := srv.ConnCount(); n != 1 {
		t.Fatalf("%d connections for two shared clients", n)
	}
	counter := createCounter(t, a)
	if _, ok := b.Object(counter.ID()); !ok {
		t.Error("a shared client sees the same mirror")
	}
	a.Close()
	if a.ReadyState() != ropeclient.Closed || b.ReadyState() != ropeclient.Connected {
		t.Errorf("after closing a: a %v b %v", a.ReadyState(), b.ReadyState())
	}
	if err := b.Call(ctxT(t), counter.ID(), "increment", nil, nil); err != nil {
		t.Fatal(err)
	}
	b.Close()
	wait.Until(t, "the connection to close", func() bool { return srv.ConnCount() == 0 })
}

func TestUnauthorized(t *testing.T) {
	_, url := startServer(t, &ropeserver.Options{Token: "t0k"})
	if _, err := ropeclient.Dial(ctxT(t), url, &ropeclient.Options{Logger: quiet}); !errors.Is(err, ropeclient.ErrUnauthorized) {
		t.Fatalf("no token: %v", err)
	}
	dial(t, url, &ropeclient.Options{Token: "t0k"})
}

// TestResumeLosesNothing cuts a client off while 10,000 updates happen and
// checks it ends with the server's state and every event, in order, once.
func TestResumeLosesNothing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		window int
		replay bool
	}{{"within the window", 30000, true}, {"past the window", 100, false}} {
		t.Run(tc.name, func(t *testing.T) {
			srv, url := startServer(t, &ropeserver.Options{ReplayWindow: tc.window})
			var cut cuttest.Cutter
			a := dial(t, url, &ropeclient.Options{Dedicated: true, HTTPClient: cut.Client(), MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})
			b := dial(t, url, &ropeclient.Options{Dedicated: true})
			counter := createCounter(t, b)
			wait.Until(t, "A mirrors the counter", func() bool { _, ok := a.Object(counter.ID()); return ok })
			aCounter, _ := a.Object(counter.ID())
			var mu sync.Mutex
			var values []int64
			aCounter.OnEvent(func(event string, data json.RawMessage) {
				var d struct{ Value int64 }
				json.Unmarshal(data, &d)
				mu.Lock()
				values = append(values, d.Value)
				mu.Unlock()
			})
			disconnected := make(chan struct{}, 1)
			a.OnDisconnected(func(error) {
				select {
				case disconnected <- struct{}{}:
				default:
				}
			})
			// Cut A mid-stream: the first 5,000 arrive live, the rest while it is away.
			increment5000 := func() { // the fixture takes times ≤ 1000
				for range 5 {
					if err := b.Call(ctxT(t), counter.ID(), "increment", map[string]int{"times": 1000}, nil); err != nil {
						t.Fatal(err)
					}
				}
			}
			increment5000()
			cut.Cut()
			increment5000()
			<-disconnected
			wait.Until(t, "A catches up", func() bool { return a.Seq() == srv.Seq() && a.ReadyState() == ropeclient.Connected })
			if v := propInt(aCounter, "value"); v != 10000 {
				t.Errorf("A's mirror has value %d, want 10000", v)
			}
			if aCounter.Closed() {
				t.Error("A's counter was closed by the reconnection")
			}
			if tc.replay {
				// The seq is current before the dispatcher has run the
				// last events' listeners.
				wait.Until(t, "A's listeners", func() bool {
					mu.Lock()
					defer mu.Unlock()
					return len(values) >= 10000
				})
			}
			mu.Lock()
			defer mu.Unlock()
			if tc.replay {
				if len(values) != 10000 {
					t.Fatalf("A got %d events, want 10000", len(values))
				}
				for i, v := range values {
					if v != int64(i+1) {
						t.Fatalf("event %d has value %d: out of order or duplicated", i, v)
					}
				}
			} else if len(values) > 10000 {
				t.Errorf("A got %d events: some applied twice", len(values))
			}
		})
	}
}

func TestPendingCallFailsOnDisconnect(t *testing.T) {
	_, url := startServer(t, nil)
	var cut cuttest.Cutter
	c := dial(t, url, &ropeclient.Options{Dedicated: true, HTTPClient: cut.Client()})
	errc := make(chan error, 1)
	go func() { errc <- c.Call(ctxT(t), fixture.RootID, "sleep", map[string]int{"ms": 5000}, nil) }()
	time.Sleep(50 * time.Millisecond) // let the request leave; the assertion does not depend on it
	cut.Cut()
	if err := <-errc; !errors.Is(err, ropeclient.ErrDisconnected) {
		t.Fatalf("got %v, want ErrDisconnected", err)
	}
	wait.Until(t, "reconnection", func() bool { return c.ReadyState() == ropeclient.Connected })
	if err := c.Call(ctxT(t), fixture.RootID, "echo", []int{1}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestExtraMethodsAndNotifications(t *testing.T) {
	srv, url := startServer(t, &ropeserver.Options{Methods: map[string]ropeserver.MethodFunc{
		"app.hello": func(_ context.Context, call *ropeserver.Call) (any, error) {
			var p struct {
				Name string `json:"name"` // names match exactly (spec §1.4.1)
			}
			if err := call.Bind(&p); err != nil {
				return nil, err
			}
			if err := call.Conn.Notify("app.greeting", map[string]string{"to": p.Name}); err != nil {
				return nil, err
			}
			return "hello " + p.Name, nil
		},
	}})
	c := dial(t, url, nil)
	got := make(chan string, 2)
	c.OnNotification(func(method string, params json.RawMessage) { got <- method + " " + string(params) })
	var res string
	if err := c.Request(ctxT(t), "app.hello", map[string]string{"name": "ada"}, &res); err != nil || res != "hello ada" {
		t.Fatalf("%q %v", res, err)
	}
	if n := <-got; n != `app.greeting {"to":"ada"}` {
		t.Errorf("notification %s", n)
	}
	if err := srv.NotifyAll("app.broadcast", 1); err == nil {
		t.Error("scalar params must be refused")
	}
	if err := srv.NotifyAll("app.broadcast", []int{1}); err != nil {
		t.Fatal(err)
	}
	if n := <-got; n != `app.broadcast [1]` {
		t.Errorf("broadcast %s", n)
	}
}

func TestLifecycleEvents(t *testing.T) {
	srv, url := startServer(t, nil)
	// A long backoff keeps the client from reconnecting before it closes.
	c := ropeclient.New(url, &ropeclient.Options{Logger: quiet, Dedicated: true, MinBackoff: time.Hour})
	if c.ReadyState() != ropeclient.Closed {
		t.Errorf("new client: %v", c.ReadyState())
	}
	var mu sync.Mutex
	var events []string
	add := func(e string) { mu.Lock(); events = append(events, e); mu.Unlock() }
	c.OnWebSocketOpen(func() { add("websocketOpen") })
	c.OnOpen(func() { add("open") })
	c.OnConnected(func() { add("connected") })
	c.OnWebSocketClose(func(clean bool) { add(fmt.Sprintf("websocketClose(%v)", clean)) })
	c.OnDisconnected(func(error) { add("disconnected") })
	c.OnClose(func() { add("close") })
	if err := c.Open(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	// The server going away is a clean close; the client reconnects.
	srv.Close()
	wait.Until(t, "the disconnection", func() bool { mu.Lock(); defer mu.Unlock(); return len(events) >= 5 })
	c.Close()
	mu.Lock()
	defer mu.Unlock()
	want := "websocketOpen open connected websocketClose(true) disconnected close"
	if got := strings.Join(events, " "); got != want {
		t.Errorf("events %s\nwant   %s", got, want)
	}
	if c.ReadyState() != ropeclient.Closed {
		t.Errorf("closed client: %v", c.ReadyState())
	}
}

// A server whose rope.init is larger than the 64 MiB every client accepts
// announces its limit in the handshake, and the client follows it.
func TestDialReadsInitLargerThanTheDefaultLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 70 MB")
	}
	const objects, pad = 70, 1_000_000
	srv, url := startServer(t, &ropeserver.Options{MaxStateBytes: 80 << 20})
	root, _ := srv.Object(fixture.RootID)
	appData := json.RawMessage(`{"pad":"` + strings.Repeat("x", pad) + `"}`)
	for range objects {
		if _, err := srv.Create(fixture.TypeCounter, &ropeserver.ObjectOptions{Parent: root, Props: map[string]any{"value": 0}, AppData: appData}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := ropeclient.Dial(ctx, url, &ropeclient.Options{Logger: quiet, Dedicated: true, NoReconnect: true})
	if err != nil {
		t.Fatalf("dial a server with %d bytes of state: %v", objects*pad, err)
	}
	defer c.Close()
	if got := len(c.Objects()); got != objects+1 {
		t.Errorf("the mirror holds %d objects, want %d", got, objects+1)
	}
}
