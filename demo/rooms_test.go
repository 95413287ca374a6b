package demo_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ropehq/rope/demo"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/mediaserver"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeclient"
	"github.com/ropehq/rope/ropeserver"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// server is a ROPE server with the media objects of one in-process
// worker, whose routers the rooms use, and DemoRooms.
type server struct {
	url     string
	rooms   *demo.Rooms
	routers int // routers made by NewRouter
	mu      sync.Mutex
}

func newServer(t *testing.T, opts demo.Options) *server {
	t.Helper()
	ctx := context.Background()
	rs := ropeserver.New(&ropeserver.Options{Logger: quiet})
	api := engine.New(nil)
	ms, err := mediaserver.Register(rs, api, &mediaserver.Options{Logger: quiet,
		ListenInfo: &media.TransportListenInfo{Protocol: media.ProtocolUDP, IP: "127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	w, err := api.CreateWorker(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ms.AddWorker(w); err != nil {
		t.Fatal(err)
	}
	s := &server{}
	opts.Logger = quiet
	opts.NewRouter = func(ctx context.Context) (media.Router, error) {
		s.mu.Lock()
		s.routers++
		s.mu.Unlock()
		return w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: demo.MediaCodecs()})
	}
	s.rooms, err = demo.Register(rs, &opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(rs)
	s.url = "ws" + strings.TrimPrefix(hs.URL, "http") + "/"
	t.Cleanup(func() {
		if err := s.rooms.Close(ctx); err != nil {
			t.Errorf("rooms close: %v", err)
		}
		_ = ms.Close(ctx)
		_ = w.Close(ctx)
		rs.Close()
		hs.Close()
	})
	return s
}

func (s *server) made() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.routers
}

func dial(t *testing.T, url string) *ropeclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := ropeclient.Dial(ctx, url, &ropeclient.Options{Logger: quiet, Dedicated: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func join(t *testing.T, c *ropeclient.Client, room string) (demo.JoinResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var res demo.JoinResult
	err := c.Call(ctx, demo.RootID, "join", demo.JoinParams{Room: room}, &res)
	return res, err
}

func mustJoin(t *testing.T, c *ropeclient.Client, room string) demo.JoinResult {
	t.Helper()
	res, err := join(t, c, room)
	if err != nil {
		t.Fatalf("join %q: %v", room, err)
	}
	return res
}

func roomNames(t *testing.T, c *ropeclient.Client) []string {
	t.Helper()
	o, ok := c.Object(demo.RootID)
	if !ok {
		t.Fatal("no DemoRooms object")
	}
	var list []demo.RoomInfo
	if err := o.DecodeProp("rooms", &list); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range list {
		names = append(names, r.Name)
	}
	return names
}

func TestJoinFindsOrCreatesTheRoomByName(t *testing.T) {
	s := newServer(t, demo.Options{})
	a, b := dial(t, s.url), dial(t, s.url)
	first := mustJoin(t, a, "lobby")
	ro, ok := a.Object(first.RouterID)
	if !ok || ro.Type() != "Router" {
		t.Fatalf("router %q not in the mirror: %v", first.RouterID, ro)
	}
	if so, ok := a.Object(first.ActiveSpeakerObserverID); !ok || so.Type() != "ActiveSpeakerObserver" || so.ParentID() != first.RouterID {
		t.Fatalf("speaker observer %q: %v", first.ActiveSpeakerObserverID, so)
	}
	var caps media.RtpCapabilities
	if err := ro.DecodeProp("rtpCapabilities", &caps); err != nil || len(caps.Codecs) == 0 {
		t.Fatalf("rtpCapabilities %+v %v", caps, err)
	}
	if again := mustJoin(t, b, "lobby"); again != first {
		t.Fatalf("second join %+v, want the same room %+v", again, first)
	}
	if other := mustJoin(t, b, "Lobby 2 ✓"); other.RouterID == first.RouterID {
		t.Fatal("another name gave the same router")
	}
	wait.Until(t, "the rooms property", func() bool { return strings.Join(roomNames(t, b), ",") == "Lobby 2 ✓,lobby" })
	if n := s.made(); n != 2 {
		t.Fatalf("%d routers made, want 2", n)
	}
}

func TestConcurrentJoinsOfANewRoomMakeOneRouter(t *testing.T) {
	s := newServer(t, demo.Options{})
	const n = 8
	results := make([]demo.JoinResult, n)
	var wg sync.WaitGroup
	for i := range n {
		c := dial(t, s.url)
		wg.Go(func() { results[i] = mustJoin(t, c, "busy") })
	}
	wg.Wait()
	for _, r := range results {
		if r != results[0] {
			t.Fatalf("joins got %+v and %+v", results[0], r)
		}
	}
	if got := s.made(); got != 1 {
		t.Fatalf("%d routers made, want 1", got)
	}
}

func TestJoinRefusesBadNamesAndTooManyRooms(t *testing.T) {
	s := newServer(t, demo.Options{MaxRooms: 2})
	c := dial(t, s.url)
	for _, name := range []string{"", strings.Repeat("x", demo.MaxRoomName+1), "tab\there", "nul\x00", "zero\u200bwidth"} {
		if _, err := join(t, c, name); !isCode(err, rope.CodeInvalidParams) {
			t.Errorf("join %q: %v, want -32602", name, err)
		}
	}
	var res demo.JoinResult
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Call(ctx, demo.RootID, "join", json.RawMessage(`{"room": 7}`), &res); !isCode(err, rope.CodeInvalidParams) {
		t.Errorf("join with a number: %v, want -32602", err)
	}
	mustJoin(t, c, "a")
	mustJoin(t, c, "b")
	if _, err := join(t, c, "c"); !isCode(err, rope.CodeInvalidState) {
		t.Fatalf("a third room: %v, want -32003", err)
	}
	mustJoin(t, c, "a") // existing rooms still join
}

func isCode(err error, code rope.Code) bool {
	var re *rope.Error
	return errors.As(err, &re) && re.Code == code
}

func TestARoomClosesOnceIdle(t *testing.T) {
	s := newServer(t, demo.Options{IdleTimeout: 100 * time.Millisecond})
	c := dial(t, s.url)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// Nobody opens a transport: it closes.
	r := mustJoin(t, c, "unused")
	wait.Until(t, "the unused room's router closed", func() bool { _, ok := c.Object(r.RouterID); return !ok })
	wait.Until(t, "the unused room gone from the list", func() bool { return len(roomNames(t, c)) == 0 })

	// It stays while a transport is open, and closes after the last one.
	r = mustJoin(t, c, "used")
	var tr rope.CreateResult
	if err := c.Call(ctx, r.RouterID, "createWebRtcTransport", map[string]any{}, &tr); err != nil {
		t.Fatal(err)
	}
	if again := mustJoin(t, c, "used"); again != r {
		t.Fatalf("rejoin %+v, want %+v", again, r)
	}
	if err := c.Call(ctx, tr.ID, "close", nil, nil); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, "the used room's router closed", func() bool { _, ok := c.Object(r.RouterID); return !ok })
	// A join makes the room again, with a new router.
	if again := mustJoin(t, c, "used"); again.RouterID == r.RouterID {
		t.Fatal("a closed room's router came back")
	}
}

func TestARouterClosedByAClientEndsItsRoom(t *testing.T) {
	s := newServer(t, demo.Options{})
	c := dial(t, s.url)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := mustJoin(t, c, "x")
	if err := c.Call(ctx, r.RouterID, "close", nil, nil); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, "the room gone from the list", func() bool { return len(roomNames(t, c)) == 0 })
	if again := mustJoin(t, c, "x"); again.RouterID == r.RouterID {
		t.Fatal("joined a closed router")
	}
}

func TestRegisterNeedsNewRouter(t *testing.T) {
	rs := ropeserver.New(&ropeserver.Options{Logger: quiet})
	defer rs.Close()
	if _, err := demo.Register(rs, nil); !errors.Is(err, demo.ErrNoRouterFunc) {
		t.Fatalf("Register without NewRouter: %v", err)
	}
}
