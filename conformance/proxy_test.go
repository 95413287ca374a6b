package conformance_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"
	"github.com/ropehq/rope/rope"
)

// filter rewrites one proxied connection's text messages.
type filter interface {
	// up maps a client-to-server text message to the one forwarded.
	up(msg []byte) []byte
	// down maps a server-to-client text message to the frames forwarded.
	down(msg []byte) [][]byte
}

// proxy is a WebSocket-level man in the middle between the suite and a
// server. It forwards frames and close codes as they are, except what its
// hooks change: it builds deliberately broken variants of a correct server
// without touching the server.
type proxy struct {
	upstream string
	// query, when set, edits the query of the upstream request.
	query func(url.Values)
	// closeOnResume closes a connection that asks to resume right after
	// the handshake.
	closeOnResume bool
	// newFilter, when set, makes each connection's filter.
	newFilter func() filter
	// refuseEmptySubprotocol refuses with 400 a handshake whose
	// Sec-WebSocket-Protocol headers are present but offer nothing.
	refuseEmptySubprotocol bool
}

// startProxy serves p on loopback and returns its ws:// URL.
func startProxy(t *testing.T, p *proxy) string {
	t.Helper()
	hs := httptest.NewServer(p)
	t.Cleanup(hs.Close)
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/"
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, ok := r.Header["Sec-Websocket-Protocol"]; ok && p.refuseEmptySubprotocol && len(offered(r)) == 0 {
		http.Error(w, "proxy: empty subprotocol list", http.StatusBadRequest)
		return
	}
	q := r.URL.Query()
	resume := q.Has(rope.QueryEpoch)
	if p.query != nil {
		p.query(q)
	}
	up, resp, err := websocket.Dial(ctx, p.upstream+"?"+q.Encode(), &websocket.DialOptions{
		HTTPHeader:   http.Header{"Authorization": r.Header.Values("Authorization")},
		Subprotocols: offered(r),
	})
	if err != nil {
		refuse(w, resp)
		return
	}
	defer up.CloseNow()
	var subs []string
	if s := up.Subprotocol(); s != "" {
		subs = []string{s}
	}
	down, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: subs})
	if err != nil {
		return
	}
	defer down.CloseNow()
	if resume && p.closeOnResume {
		down.Close(websocket.StatusInternalError, "proxy: no resume")
		return
	}
	up.SetReadLimit(rope.ClientReadLimit)
	down.SetReadLimit(rope.ClientReadLimit)
	var f filter = passThrough{}
	if p.newFilter != nil {
		f = p.newFilter()
	}
	var wg sync.WaitGroup
	wg.Go(func() { pumpUp(ctx, down, up, f) })
	pumpDown(ctx, up, down, f)
	wg.Wait()
}

func offered(r *http.Request) []string {
	var out []string
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for s := range strings.SplitSeq(h, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func refuse(w http.ResponseWriter, resp *http.Response) {
	if resp == nil {
		http.Error(w, "proxy: upstream unreachable", http.StatusBadGateway)
		return
	}
	for _, h := range []string{"WWW-Authenticate"} {
		if v := resp.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
}

// pumpUp forwards client frames to the server; a client close is relayed.
func pumpUp(ctx context.Context, from, to *websocket.Conn, f filter) {
	for {
		typ, data, err := from.Read(ctx)
		if err != nil {
			relayClose(to, err)
			return
		}
		if typ == websocket.MessageText {
			data = f.up(data)
		}
		if to.Write(ctx, typ, data) != nil {
			return // the server closed; pumpDown relays how
		}
	}
}

// pumpDown forwards server frames, through the filter, to the client.
func pumpDown(ctx context.Context, from, to *websocket.Conn, f filter) {
	for {
		typ, data, err := from.Read(ctx)
		if err != nil {
			relayClose(to, err)
			return
		}
		frames := [][]byte{data}
		if typ == websocket.MessageText {
			frames = f.down(data)
		}
		for _, fr := range frames {
			if to.Write(ctx, typ, fr) != nil {
				from.CloseNow()
				return
			}
		}
	}
}

// relayClose ends to the way the other side ended: with its close code, or
// abruptly when it sent none.
func relayClose(to *websocket.Conn, err error) {
	var ce websocket.CloseError
	if errors.As(err, &ce) && ce.Code != websocket.StatusNoStatusRcvd {
		_ = to.Close(ce.Code, ce.Reason)
		return
	}
	to.CloseNow()
}

type passThrough struct{}

func (passThrough) up(msg []byte) []byte     { return msg }
func (passThrough) down(msg []byte) [][]byte { return [][]byte{msg} }

// method returns a message's method and whether it is a response.
func method(msg []byte) (string, bool) {
	var m struct {
		Method string          `json:"method"`
		ID     json.RawMessage `json:"id"`
	}
	_ = json.Unmarshal(msg, &m)
	return m.Method, m.Method == "" && m.ID != nil
}

func isSequenced(method string) bool {
	switch method {
	case rope.MethodCreated, rope.MethodUpdated, rope.MethodClosed, rope.MethodEvent:
		return true
	}
	return false
}

// dropOneUpdated drops the first rope.updated of each connection.
type dropOneUpdated struct{ dropped bool }

func (d *dropOneUpdated) up(msg []byte) []byte { return msg }
func (d *dropOneUpdated) down(msg []byte) [][]byte {
	if m, _ := method(msg); m == rope.MethodUpdated && !d.dropped {
		d.dropped = true
		return nil
	}
	return [][]byte{msg}
}

// holdUntilResponse holds the sequenced notifications that arrive while the
// client has a request pending and sends them after the next response.
type holdUntilResponse struct {
	mu      sync.Mutex // up and down run in two goroutines
	pending int
	held    [][]byte
}

func (h *holdUntilResponse) up(msg []byte) []byte {
	var m struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(msg, &m) == nil && m.ID != nil {
		h.mu.Lock()
		h.pending++
		h.mu.Unlock()
	}
	return msg
}

func (h *holdUntilResponse) down(msg []byte) [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	m, isResp := method(msg)
	switch {
	case isSequenced(m) && h.pending > 0:
		h.held = append(h.held, msg)
		return nil
	case isResp:
		h.pending = max(h.pending-1, 0)
		out := append([][]byte{msg}, h.held...)
		h.held = nil
		return out
	}
	return [][]byte{msg}
}

// rewriteCode turns every error code from into to.
type rewriteCode struct{ from, to string }

func (r rewriteCode) up(msg []byte) []byte { return msg }
func (r rewriteCode) down(msg []byte) [][]byte {
	return [][]byte{[]byte(strings.ReplaceAll(string(msg), `"code":`+r.from, `"code":`+r.to))}
}

// stripResumed removes the resumed member from rope.init.
type stripResumed struct{}

func (stripResumed) up(msg []byte) []byte { return msg }
func (stripResumed) down(msg []byte) [][]byte {
	if m, _ := method(msg); m != rope.MethodInit {
		return [][]byte{msg}
	}
	var env map[string]json.RawMessage
	var params map[string]json.RawMessage
	if json.Unmarshal(msg, &env) != nil || json.Unmarshal(env["params"], &params) != nil {
		return [][]byte{msg}
	}
	delete(params, "resumed")
	env["params"], _ = json.Marshal(params)
	out, _ := json.Marshal(env)
	return [][]byte{out}
}

// stripErrorMethod removes data.method from error responses.
type stripErrorMethod struct{}

func (stripErrorMethod) up(msg []byte) []byte { return msg }
func (stripErrorMethod) down(msg []byte) [][]byte {
	var env map[string]any
	if json.Unmarshal(msg, &env) != nil {
		return [][]byte{msg}
	}
	e, _ := env["error"].(map[string]any)
	d, _ := e["data"].(map[string]any)
	if d == nil {
		return [][]byte{msg}
	}
	delete(d, "method")
	out, _ := json.Marshal(env)
	return [][]byte{out}
}

// replaceUp rewrites client messages: each pair of strings, old then new.
type replaceUp []string

func (r replaceUp) up(msg []byte) []byte {
	return []byte(strings.NewReplacer(r...).Replace(string(msg)))
}
func (r replaceUp) down(msg []byte) [][]byte { return [][]byte{msg} }

// replaceDown rewrites server messages: each pair of strings, old then new.
type replaceDown []string

func (r replaceDown) up(msg []byte) []byte { return msg }
func (r replaceDown) down(msg []byte) [][]byte {
	return [][]byte{[]byte(strings.NewReplacer(r...).Replace(string(msg)))}
}

// foldNames gives the server the member names it would take if it matched
// them case-insensitively, as encoding/json does.
type foldNames struct{}

var folded = strings.NewReplacer(`"Method":`, `"method":`, `"JSONRPC":`, `"jsonrpc":`, `"PARAMS":`, `"params":`,
	`"Params":`, `"params":`, `"Object":`, `"object":`, `"AppData":`, `"appData":`, `"MS":`, `"ms":`,
	`"ID":`, `"id":`, `"Value":`, `"value":`)

func (foldNames) up(msg []byte) []byte     { return []byte(folded.Replace(string(msg))) }
func (foldNames) down(msg []byte) [][]byte { return [][]byte{msg} }

// lastNameWins gives the server what it would read if it kept the last of
// repeated member names, as encoding/json does.
type lastNameWins struct{}

func (lastNameWins) up(msg []byte) []byte {
	dec := json.NewDecoder(strings.NewReader(string(msg)))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return msg
	}
	out, err := json.Marshal(v)
	if err != nil {
		return msg
	}
	return out
}
func (lastNameWins) down(msg []byte) [][]byte { return [][]byte{msg} }

// widenWindow announces in rope.init a replay window one larger than the
// server keeps.
type widenWindow struct{}

func (widenWindow) up(msg []byte) []byte { return msg }
func (widenWindow) down(msg []byte) [][]byte {
	if m, _ := method(msg); m != rope.MethodInit {
		return [][]byte{msg}
	}
	var env map[string]json.RawMessage
	var params map[string]json.RawMessage
	var w int
	if json.Unmarshal(msg, &env) != nil || json.Unmarshal(env["params"], &params) != nil || json.Unmarshal(params["replayWindow"], &w) != nil {
		return [][]byte{msg}
	}
	params["replayWindow"], _ = json.Marshal(w + 1)
	env["params"], _ = json.Marshal(params)
	out, _ := json.Marshal(env)
	return [][]byte{out}
}
