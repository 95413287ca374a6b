package ropeserver_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeserver"
	"github.com/ropehq/rope/ropeserver/fixture"
)

func TestInitialPayload(t *testing.T) {
	_, url := startServer(t, &ropeserver.Options{Payload: func(*http.Request) any { return map[string]string{"hello": "world"} }})
	p := dialPeer(t, url, &websocket.DialOptions{Subprotocols: []string{rope.Subprotocol}})
	if got := p.ws.Subprotocol(); got != rope.Subprotocol {
		t.Errorf("subprotocol %q, want %q", got, rope.Subprotocol)
	}
	ip := p.init()
	if ip.Protocol != rope.Protocol || ip.Resumed || ip.Epoch == "" || ip.MaxMessageSize < rope.MinMaxMessageSize {
		t.Errorf("init %+v", ip)
	}
	if len(ip.Objects) != 1 || ip.Objects[0].ID != fixture.RootID || ip.Objects[0].Type != fixture.TypeFixture {
		t.Errorf("objects %+v", ip.Objects)
	}
	if len(ip.Types) != 3 || ip.Types[1].Name != fixture.TypeCounter || strings.Join(ip.Types[1].Methods, ",") != "close,createChild,increment" {
		t.Errorf("types %+v", ip.Types)
	}
	if string(ip.Payload) != `{"hello":"world"}` {
		t.Errorf("payload %s", ip.Payload)
	}
}

func TestNoSubprotocolIsServed(t *testing.T) {
	_, url := startServer(t, nil)
	p := dialPeer(t, url, nil)
	if p.ws.Subprotocol() != "" {
		t.Errorf("subprotocol %q", p.ws.Subprotocol())
	}
	p.init()
}

func TestForeignSubprotocolRefused(t *testing.T) {
	_, url := startServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"chat"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("err %v resp %v, want HTTP 400", err, resp)
	}
}

func TestOrderingRuleStateBeforeResponse(t *testing.T) {
	_, url := startServer(t, nil)
	p := dialPeer(t, url, nil)
	p.init()
	id := p.request(rope.MethodCall, map[string]any{"object": fixture.RootID, "method": "createCounter", "params": map[string]any{"value": 5}})
	notes, resp := p.until(id)
	var r rope.CreateResult
	if err := json.Unmarshal(resp.Result, &r); err != nil || r.ID == "" {
		t.Fatalf("result %s", resp.Result)
	}
	if len(notes) != 1 || notes[0].Method != rope.MethodCreated {
		t.Fatalf("before the response: %v", methods(notes))
	}
	var c rope.CreatedParams
	json.Unmarshal(notes[0].Params, &c)
	if c.Object.ID != r.ID || string(c.Object.Props["value"]) != "5" || *c.Object.Parent != fixture.RootID {
		t.Errorf("created %+v", c)
	}
	notes, _ = p.until(p.request(rope.MethodCall, map[string]any{"object": r.ID, "method": "increment", "params": map[string]any{"by": 2, "times": 3}}))
	if got := strings.Join(methods(notes), ","); got != "rope.updated,rope.event,rope.updated,rope.event,rope.updated,rope.event" {
		t.Errorf("notifications before the response: %s", got)
	}
	checkContiguous(t, c.Seq, notes)
}

func methods(ms []*rope.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Method)
	}
	return out
}

func checkContiguous(t *testing.T, after uint64, notes []*rope.Message) {
	t.Helper()
	for _, n := range notes {
		var s rope.SeqOnly
		json.Unmarshal(n.Params, &s)
		if s.Seq != after+1 {
			t.Fatalf("seq %d after %d", s.Seq, after)
		}
		after = s.Seq
	}
}

func TestTwoClientsSeeOneState(t *testing.T) {
	_, url := startServer(t, nil)
	a, b := dialPeer(t, url, nil), dialPeer(t, url, nil)
	a.init()
	b.init()
	id := a.createCounter(0)
	child := a.call(id, "createChild", map[string]any{"name": "kid"})
	var cr rope.CreateResult
	json.Unmarshal(child.Result, &cr)
	if resp := a.call(id, "close", nil); resp.Error != nil {
		t.Fatal(resp.Error)
	}
	// B sees, in order: counter created, child created, child closed, counter closed.
	var got []string
	for len(got) < 4 {
		m := b.read()
		var p struct {
			ID     string           `json:"id"`
			Object rope.ObjectState `json:"object"`
		}
		json.Unmarshal(m.Params, &p)
		got = append(got, m.Method+":"+p.ID+p.Object.ID)
	}
	want := []string{"rope.created:" + id, "rope.created:" + cr.ID, "rope.closed:" + cr.ID, "rope.closed:" + id}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("B saw %v\nwant %v", got, want)
	}
	// The closed counter is gone for everybody.
	errCode(t, b.call(id, "increment", nil), rope.CodeObjectNotFound)
}

func TestBadInputGetsErrorsAndConnectionGoesOn(t *testing.T) {
	_, url := startServer(t, nil)
	p := dialPeer(t, url, nil)
	p.init()
	counter := p.createCounter(0)
	cases := []struct {
		name string
		send string
		id   string
		code rope.Code
	}{
		{"invalid JSON", `{"jsonrpc":"2.0","id":1,`, "null", rope.CodeParseError},
		{"batch", `[{"jsonrpc":"2.0","id":1,"method":"rope.ping"}]`, "null", rope.CodeInvalidRequest},
		{"no jsonrpc member", `{"id":41,"method":"rope.ping"}`, "41", rope.CodeInvalidRequest},
		{"fractional id", `{"jsonrpc":"2.0","id":1.5,"method":"rope.ping"}`, "null", rope.CodeInvalidRequest},
		{"unknown method", `{"jsonrpc":"2.0","id":"u","method":"nope"}`, `"u"`, rope.CodeMethodNotFound},
		{"reserved unknown method", `{"jsonrpc":"2.0","id":2,"method":"rope.nope"}`, "2", rope.CodeMethodNotFound},
		{"call without object", `{"jsonrpc":"2.0","id":3,"method":"rope.call","params":{"method":"x"}}`, "3", rope.CodeInvalidParams},
		{"call with wrong types", `{"jsonrpc":"2.0","id":4,"method":"rope.call","params":{"object":5,"method":"x"}}`, "4", rope.CodeInvalidParams},
		{"call params an array", `{"jsonrpc":"2.0","id":5,"method":"rope.call","params":[1]}`, "5", rope.CodeInvalidParams},
		{"unknown object", `{"jsonrpc":"2.0","id":6,"method":"rope.call","params":{"object":"ghost","method":"close"}}`, "6", rope.CodeObjectNotFound},
		{"unknown method on type", `{"jsonrpc":"2.0","id":7,"method":"rope.call","params":{"object":"` + counter + `","method":"explode"}}`, "7", rope.CodeUnknownMethod},
		{"wrong method params", `{"jsonrpc":"2.0","id":8,"method":"rope.call","params":{"object":"` + counter + `","method":"increment","params":{"by":"x"}}}`, "8", rope.CodeInvalidParams},
		{"negative id echoed", `{"jsonrpc":"2.0","id":-1,"method":"nope"}`, "-1", rope.CodeMethodNotFound},
		{"setAppData not an object", `{"jsonrpc":"2.0","id":9,"method":"rope.setAppData","params":{"object":"fixture","appData":[1]}}`, "9", rope.CodeInvalidParams},
		{"fail state", `{"jsonrpc":"2.0","id":10,"method":"rope.call","params":{"object":"fixture","method":"fail","params":{"kind":"state"}}}`, "10", rope.CodeInvalidState},
		{"fail app", `{"jsonrpc":"2.0","id":11,"method":"rope.call","params":{"object":"fixture","method":"fail","params":{"kind":"app"}}}`, "11", rope.CodeApplicationError},
	}
	for _, c := range cases {
		p.sendRaw(c.send)
		m := p.read()
		if string(m.ID) != c.id {
			t.Errorf("%s: id %s, want %s", c.name, m.ID, c.id)
		}
		if m.Error == nil || m.Error.Code != c.code || m.Error.Data.Name != c.code.Name() && c.code != rope.CodeApplicationError {
			t.Errorf("%s: got %+v, want code %d", c.name, m.Error, c.code)
		}
	}
	// A binary frame is refused too.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p.ws.Write(ctx, websocket.MessageBinary, []byte(`{"jsonrpc":"2.0","id":1,"method":"rope.ping"}`))
	errCode(t, p.read(), rope.CodeInvalidRequest)
	// A null id is a request, answered with a null id.
	p.sendRaw(`{"jsonrpc":"2.0","id":null,"method":"rope.ping"}`)
	if m := p.read(); string(m.ID) != "null" || m.Error != nil {
		t.Errorf("null id: %+v", m)
	}
	// And the connection still works.
	if resp := p.call(counter, "increment", nil); resp.Error != nil {
		t.Fatal(resp.Error)
	}
}

func TestInternalErrorsStayOnTheServer(t *testing.T) {
	for _, full := range []bool{false, true} {
		_, url := startServer(t, &ropeserver.Options{SendFullErrors: full})
		p := dialPeer(t, url, nil)
		p.init()
		m := p.call(fixture.RootID, "fail", map[string]string{"kind": "internal"})
		errCode(t, m, rope.CodeInternalError)
		raw, _ := json.Marshal(m.Error)
		if leaked := strings.Contains(string(raw), fixture.Secret); leaked != full {
			t.Errorf("sendFullErrors=%v: error %s", full, raw)
		}
		if m.Error.Data.ErrorID == "" {
			t.Errorf("no errorId: %s", raw)
		}
	}
}

func TestOversizedFrameClosesOnlyThatConnection(t *testing.T) {
	_, url := startServer(t, &ropeserver.Options{MaxMessageSize: rope.MinMaxMessageSize})
	big, other := dialPeer(t, url, nil), dialPeer(t, url, nil)
	big.init()
	other.init()
	// The minimum every server accepts passes.
	pad := strings.Repeat("x", rope.MinMaxMessageSize-100)
	big.request("rope.ping", map[string]string{"pad": pad})
	if m := big.read(); m.Error != nil {
		t.Fatalf("64 KiB message refused: %v", m.Error)
	}
	// The server closes as soon as it reads the frame header, so the write
	// may fail, and a reset may overtake the close frame; what matters is
	// that the connection ends, with 1009 when a status arrives.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = big.ws.Write(ctx, websocket.MessageText, rope.AppendRequest(nil, rope.ID("9"), "rope.ping", []byte(`{"pad":"`+pad+pad+`"}`)))
	_, err := big.tryRead(5 * time.Second)
	if err == nil || websocket.CloseStatus(err) != -1 && websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Fatalf("oversized: %v, want close 1009", err)
	}
	if resp := other.call(fixture.RootID, "echo", []int{1}); string(resp.Result) != "[1]" {
		t.Fatalf("other connection: %+v", resp)
	}
	dialPeer(t, url, nil).init()
}

func TestAuthentication(t *testing.T) {
	_, url := startServer(t, &ropeserver.Options{Token: "s3cret"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, u := range []string{url, url + "?access_token=wrong"} {
		_, resp, err := websocket.Dial(ctx, u, nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %v, want HTTP 401", u, err)
		}
	}
	dialPeer(t, url+"?access_token=s3cret", nil).init()
	dialPeer(t, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer s3cret"}}}).init()
}

func TestFloodGetsOverloaded(t *testing.T) {
	_, url := startServer(t, &ropeserver.Options{MaxInFlight: 4})
	p := dialPeer(t, url, nil)
	p.init()
	for range 10 {
		p.request(rope.MethodCall, map[string]any{"object": fixture.RootID, "method": "sleep", "params": map[string]int{"ms": 300}})
	}
	overloaded, ok := 0, 0
	for range 10 {
		m := p.read()
		switch {
		case m.Error != nil && m.Error.Code == rope.CodeOverloaded:
			overloaded++
		case m.Error == nil:
			ok++
		}
	}
	if overloaded != 6 || ok != 4 {
		t.Errorf("overloaded %d ok %d, want 6 and 4", overloaded, ok)
	}
}

func TestResumeReplaysOrSnapshots(t *testing.T) {
	srv, url := startServer(t, &ropeserver.Options{ReplayWindow: 100})
	p := dialPeer(t, url, nil)
	ip := p.init()
	counter := p.createCounter(0)
	last := srv.Seq()
	p.ws.CloseNow()

	other := dialPeer(t, url, nil)
	other.init()
	other.call(counter, "increment", map[string]int{"times": 20}) // 40 notifications

	r := dialPeer(t, url+"?epoch="+ip.Epoch+"&seq="+itoa(int(last)), nil)
	rip := r.init()
	if !rip.Resumed || rip.Seq != last || rip.Objects != nil {
		t.Fatalf("resume init %+v", rip)
	}
	var replay []*rope.Message
	for range 40 {
		replay = append(replay, r.read())
	}
	checkContiguous(t, last, replay)

	// Past the window, or with another epoch: a snapshot.
	other.call(counter, "increment", map[string]int{"times": 60})
	for _, q := range []string{"?epoch=" + ip.Epoch + "&seq=" + itoa(int(last)), "?epoch=other&seq=1"} {
		s := dialPeer(t, url+q, nil).init()
		if s.Resumed || s.Seq != srv.Seq() || len(s.Objects) != 2 || string(s.Objects[1].Props["value"]) != "80" {
			t.Errorf("%s: %+v", q, s)
		}
	}
}

func TestCloseWaitsForConnections(t *testing.T) {
	srv, url := startServer(t, nil)
	var wg sync.WaitGroup
	for range 3 {
		p := dialPeer(t, url, nil)
		p.init()
		wg.Go(func() {
			_, err := p.tryRead(10 * time.Second)
			if websocket.CloseStatus(err) != websocket.StatusGoingAway {
				t.Errorf("got %v, want 1001", err)
			}
		})
	}
	srv.Close()
	wg.Wait()
}

// A client that stops reading is closed; it never stalls the others.
func TestSlowConsumerIsClosed(t *testing.T) {
	srv, url := startServer(t, &ropeserver.Options{SendQueueLimit: 1024, WriteTimeout: time.Second})
	slow := dialPeer(t, url, nil) // never reads after this
	slow.init()
	fast := dialPeer(t, url, nil)
	fast.init()
	counter := fast.createCounter(0)
	// Bursts of 200 notifications: the fast client keeps up, the slow one
	// falls behind until the server closes it.
	for range 200 {
		id := fast.request(rope.MethodCall, map[string]any{"object": counter, "method": "increment", "params": map[string]int{"times": 100}})
		notes, resp := fast.until(id)
		if resp.Error != nil || len(notes) != 200 {
			t.Fatalf("fast client got %d notifications and %+v", len(notes), resp.Error)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for srv.ConnCount() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the slow connection is still open (%d connections)", srv.ConnCount())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestOriginChecked(t *testing.T) {
	_, url := startServer(t, &ropeserver.Options{OriginPatterns: []string{"app.example"}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://evil.example"}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign origin: %v, want HTTP 403", err)
	}
	dialPeer(t, url, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://app.example"}}}).init()
	dialPeer(t, url, nil).init() // no Origin: not a browser
}

// A peer that answers no pings is closed by the keepalive.
func TestKeepaliveClosesSilentPeers(t *testing.T) {
	srv, url := startServer(t, &ropeserver.Options{PingInterval: 50 * time.Millisecond})
	p := dialPeer(t, url, nil) // reads nothing, so it never answers a ping
	_ = p
	deadline := time.Now().Add(10 * time.Second)
	for srv.ConnCount() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the silent connection is still open")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A peer that keeps reading answers the pings and stays through many of
// them: pings every 20 ms over 1.5 s, each with 1 s for its pong, so a peer
// whose pongs went unanswered would be dropped well before the end, while a
// slow machine still has time to answer.
func TestKeepaliveKeepsReadingPeers(t *testing.T) {
	srv, url := startServer(t, &ropeserver.Options{PingInterval: 20 * time.Millisecond, PongTimeout: time.Second})
	live := dialPeer(t, url, nil)
	live.init()
	ctx, cancel := context.WithCancel(context.Background())
	var reader sync.WaitGroup
	reader.Go(func() { live.ws.Read(ctx) })
	for range 30 {
		time.Sleep(50 * time.Millisecond)
		if srv.ConnCount() != 1 {
			t.Fatal("the reading peer was dropped by the keepalive")
		}
	}
	cancel()
	reader.Wait()
}

func TestPanickingMethodIsAnInternalError(t *testing.T) {
	_, url := startServer(t, &ropeserver.Options{Methods: map[string]ropeserver.MethodFunc{
		"app.boom": func(context.Context, *ropeserver.Call) (any, error) { panic("kaboom") },
	}})
	p := dialPeer(t, url, nil)
	p.init()
	_, resp := p.until(p.request("app.boom", nil))
	errCode(t, resp, rope.CodeInternalError)
	if strings.Contains(resp.Error.Message, "kaboom") {
		t.Errorf("panic text leaked: %s", resp.Error.Message)
	}
	if resp := p.call(fixture.RootID, "echo", []int{1}); resp.Error != nil {
		t.Fatal(resp.Error)
	}
}

func TestOnSetAppDataHook(t *testing.T) {
	srv, url := startServer(t, nil)
	var seen []string
	var mu sync.Mutex
	err := srv.RegisterType(ropeserver.Type{Name: "Guarded", OnSetAppData: func(_ context.Context, o *ropeserver.Object, appData json.RawMessage) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, string(appData))
		if strings.Contains(string(appData), "forbidden") {
			return rope.NewError(rope.CodeUnauthorized, "not that")
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	obj, err := srv.Create("Guarded", &ropeserver.ObjectOptions{ID: "g"})
	if err != nil {
		t.Fatal(err)
	}
	p := dialPeer(t, url, nil)
	p.init()
	if _, resp := p.until(p.request(rope.MethodSetAppData, map[string]any{"object": "g", "appData": map[string]int{"a": 1}})); resp.Error != nil {
		t.Fatal(resp.Error)
	}
	_, resp := p.until(p.request(rope.MethodSetAppData, map[string]any{"object": "g", "appData": map[string]bool{"forbidden": true}}))
	errCode(t, resp, rope.CodeUnauthorized)
	if string(obj.AppData()) != `{"a":1}` || len(seen) != 2 {
		t.Errorf("appData %s, hook saw %v", obj.AppData(), seen)
	}
}

// A hook that applies the change itself (as a Go value whose own change
// handler publishes it does) leaves exactly one rope.updated (§8.2.2).
func TestOnSetAppDataHookThatApplies(t *testing.T) {
	srv, url := startServer(t, nil)
	err := srv.RegisterType(ropeserver.Type{Name: "Applying", OnSetAppData: func(_ context.Context, o *ropeserver.Object, appData json.RawMessage) error {
		return o.SetAppData(appData)
	}})
	if err != nil {
		t.Fatal(err)
	}
	obj, err := srv.Create("Applying", &ropeserver.ObjectOptions{ID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	p := dialPeer(t, url, nil)
	p.init()
	before, resp := p.until(p.request(rope.MethodSetAppData, map[string]any{"object": "a", "appData": map[string]int{"n": 1}}))
	if resp.Error != nil {
		t.Fatal(resp.Error)
	}
	after, _ := p.until(p.request(rope.MethodPing, nil))
	updates := 0
	for _, m := range append(before, after...) {
		if m.Method == rope.MethodUpdated {
			updates++
		}
	}
	if updates != 1 || string(obj.AppData()) != `{"n":1}` {
		t.Errorf("%d rope.updated, appData %s; want 1 and {\"n\":1}", updates, obj.AppData())
	}
}
