package ropeserver_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeserver"
	"github.com/ropehq/rope/ropeserver/fixture"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(peerEnv) != "" {
		runPeer()
		return
	}
	goleak.VerifyTestMain(m)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// startServer serves the fixture on loopback.
func startServer(t *testing.T, opts *ropeserver.Options) (*ropeserver.Server, string) {
	t.Helper()
	if opts == nil {
		opts = &ropeserver.Options{}
	}
	if opts.Logger == nil {
		opts.Logger = quiet
	}
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

// peer is a raw protocol client: it sends frames and reads decoded messages.
type peer struct {
	t  *testing.T
	ws *websocket.Conn
	id int
	// onNote, when set, gets every message until passes over.
	onNote func(*rope.Message)
}

func dialPeer(t *testing.T, url string, opts *websocket.DialOptions) *peer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (HTTP %d)", url, err, code)
	}
	ws.SetReadLimit(rope.ClientReadLimit)
	p := &peer{t: t, ws: ws}
	t.Cleanup(func() { ws.CloseNow() })
	return p
}

func (p *peer) sendRaw(s string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.ws.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		p.t.Fatalf("write: %v", err)
	}
}

// request sends a request and returns its id.
func (p *peer) request(method string, params any) int {
	p.t.Helper()
	p.id++
	raw, err := json.Marshal(params)
	if err != nil {
		p.t.Fatal(err)
	}
	p.sendRaw(string(rope.AppendRequest(nil, rope.ID(itoa(p.id)), method, raw)))
	return p.id
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func (p *peer) read() *rope.Message {
	p.t.Helper()
	m, err := p.tryRead(5 * time.Second)
	if err != nil {
		p.t.Fatalf("read: %v", err)
	}
	return m
}

func (p *peer) tryRead(d time.Duration) (*rope.Message, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, data, err := p.ws.Read(ctx)
	if err != nil {
		return nil, err
	}
	m, _, e := rope.Decode(data)
	if e != nil {
		p.t.Fatalf("server sent an invalid message %s: %v", data, e)
	}
	return m, nil
}

// init reads rope.init.
func (p *peer) init() rope.InitParams {
	p.t.Helper()
	m := p.read()
	if m.Method != rope.MethodInit {
		p.t.Fatalf("first message is %q, want rope.init", m.Method)
	}
	var ip rope.InitParams
	if err := json.Unmarshal(m.Params, &ip); err != nil {
		p.t.Fatal(err)
	}
	return ip
}

// until reads messages until the response to id, returning the
// notifications before it and the response.
func (p *peer) until(id int) ([]*rope.Message, *rope.Message) {
	p.t.Helper()
	var notes []*rope.Message
	for {
		m := p.read()
		if !m.IsRequest() && string(m.ID) == itoa(id) {
			return notes, m
		}
		if p.onNote != nil {
			p.onNote(m)
		}
		notes = append(notes, m)
	}
}

// call runs rope.call and returns the response.
func (p *peer) call(object, method string, params any) *rope.Message {
	p.t.Helper()
	_, resp := p.until(p.request(rope.MethodCall, map[string]any{"object": object, "method": method, "params": params}))
	return resp
}

func (p *peer) createCounter(value int) string {
	p.t.Helper()
	resp := p.call(fixture.RootID, "createCounter", map[string]any{"value": value})
	var r rope.CreateResult
	if resp.Error != nil || json.Unmarshal(resp.Result, &r) != nil {
		p.t.Fatalf("createCounter: %v %s", resp.Error, resp.Result)
	}
	return r.ID
}

func errCode(t *testing.T, m *rope.Message, want rope.Code) {
	t.Helper()
	if m.Error == nil || m.Error.Code != want {
		t.Fatalf("got %+v / %s, want error %d", m.Error, m.Result, want)
	}
	if m.Error.Data.Name == "" {
		t.Errorf("error %d has no data.name", want)
	}
}

var _ = http.StatusOK
