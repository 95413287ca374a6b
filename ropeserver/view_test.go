package ropeserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeserver"
	"github.com/ropehq/rope/ropeserver/fixture"
)

// grants is a test Authorize: the token names the grant; no token is full
// access, an unknown token is refused.
type grants struct {
	mu sync.Mutex
	m  map[string]*ropeserver.Grant
}

func (g *grants) set(token string, gr *ropeserver.Grant) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m == nil {
		g.m = map[string]*ropeserver.Grant{}
	}
	g.m[token] = gr
}

func (g *grants) authorize(_ *http.Request, token string) (*ropeserver.Grant, error) {
	if token == "" {
		return nil, nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if gr, ok := g.m[token]; ok {
		return gr, nil
	}
	return nil, errors.New("unknown token")
}

func startViews(t *testing.T, g *grants) string {
	_, base := startViewServer(t, g)
	return base
}

func startViewServer(t *testing.T, g *grants) (*ropeserver.Server, string) {
	t.Helper()
	return startServer(t, &ropeserver.Options{Authorize: g.authorize})
}

func withToken(base, token string) string {
	return base + "?" + url.Values{rope.QueryToken: {token}}.Encode()
}

// mirror applies what a connection receives, as a client would, and
// checks the seq: strictly increasing, contiguous unless the view says.
type mirror struct {
	t       *testing.T
	epoch   string
	seq     uint64
	view    bool
	objects map[string]rope.ObjectState
	seen    []uint64 // every seq applied, in order
	log     []string // every notification applied: seq and method
	order   []string // the ids of the rope.created and rope.closed applied
}

func newMirror(t *testing.T, in rope.InitParams) *mirror {
	m := &mirror{t: t, objects: map[string]rope.ObjectState{}}
	m.init(in)
	return m
}

func (m *mirror) init(in rope.InitParams) {
	m.t.Helper()
	m.epoch, m.view = in.Epoch, in.View
	if in.Resumed {
		if in.Seq != m.seq {
			m.t.Fatalf("resumed at %d, asked for %d", in.Seq, m.seq)
		}
		return
	}
	m.seq = in.Seq
	clear(m.objects)
	for _, o := range in.Objects {
		m.objects[o.ID] = o
	}
}

func (m *mirror) apply(msg *rope.Message) {
	m.t.Helper()
	var sq rope.SeqOnly
	if err := json.Unmarshal(msg.Params, &sq); err != nil {
		m.t.Fatal(err)
	}
	if sq.Seq <= m.seq || !m.view && sq.Seq != m.seq+1 {
		m.t.Fatalf("%s seq %d after %d (view %v)", msg.Method, sq.Seq, m.seq, m.view)
	}
	m.seq = sq.Seq
	m.seen = append(m.seen, sq.Seq)
	m.log = append(m.log, fmt.Sprint(sq.Seq, " ", msg.Method))
	switch msg.Method {
	case rope.MethodCreated:
		var p rope.CreatedParams
		_ = json.Unmarshal(msg.Params, &p)
		if _, ok := m.objects[p.Object.ID]; ok {
			m.t.Fatalf("rope.created for %s, in the mirror", p.Object.ID)
		}
		m.objects[p.Object.ID] = p.Object
		m.order = append(m.order, p.Object.ID)
	case rope.MethodUpdated:
		var p rope.UpdatedParams
		_ = json.Unmarshal(msg.Params, &p)
		o, ok := m.objects[p.ID]
		if !ok {
			m.t.Fatalf("rope.updated for %s, not in the mirror", p.ID)
		}
		props := map[string]json.RawMessage{}
		for k, v := range o.Props {
			props[k] = v
		}
		for k, v := range p.Props {
			props[k] = v
		}
		o.Props = props
		if p.AppData != nil {
			o.AppData = p.AppData
		}
		m.objects[p.ID] = o
	case rope.MethodClosed:
		var p rope.ClosedParams
		_ = json.Unmarshal(msg.Params, &p)
		if _, ok := m.objects[p.ID]; !ok {
			m.t.Fatalf("rope.closed for %s, not in the mirror", p.ID)
		}
		delete(m.objects, p.ID)
		m.order = append(m.order, p.ID)
	case rope.MethodEvent:
		var p rope.EventParams
		_ = json.Unmarshal(msg.Params, &p)
		if _, ok := m.objects[p.ID]; !ok {
			m.t.Fatalf("rope.event for %s, not in the mirror", p.ID)
		}
	}
}

// follow makes m apply every notification p's calls pass over.
func (m *mirror) follow(p *peer) *mirror {
	p.onNote = func(n *rope.Message) {
		if n.IsRequest() && n.ID == nil && n.Method != rope.MethodInit {
			m.apply(n)
		}
	}
	return m
}

// sync applies everything p was sent before now (a rope.ping round trip).
func (m *mirror) sync(p *peer) {
	m.t.Helper()
	p.until(p.request(rope.MethodPing, nil))
}

func (m *mirror) ids() []string {
	out := make([]string, 0, len(m.objects))
	for id := range m.objects {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

func dialInit(t *testing.T, u string) (*peer, rope.InitParams) {
	t.Helper()
	p := dialPeer(t, u, nil)
	return p, p.init()
}

// A connection whose grant has a root sees that subtree only: rope.init
// holds it, changes elsewhere never reach it (it sees the global seq with
// gaps), and objects elsewhere answer as unknown ones.
func TestViewSeesItsSubtreeOnly(t *testing.T) {
	g := &grants{}
	base := startViews(t, g)
	op, opInit := dialInit(t, base)
	if opInit.View {
		t.Fatal("a connection without a grant has a view")
	}
	a, b := op.createCounter(1), op.createCounter(2)
	a1, b1 := op.createChild(a, "a1"), op.createChild(b, "b1")
	g.set("ta", &ropeserver.Grant{Subject: "ta", Roots: []string{a}})

	v, in := dialInit(t, withToken(base, "ta"))
	if !in.View || in.Epoch == opInit.Epoch {
		t.Fatalf("view %v, epoch %q (operator's %q): want a view and its own epoch", in.View, in.Epoch, opInit.Epoch)
	}
	m := newMirror(t, in).follow(v)
	if got, want := m.ids(), sorted(a, a1); !slices.Equal(got, want) {
		t.Fatalf("rope.init holds %v, want %v", got, want)
	}
	if p := m.objects[a].Parent; p == nil || *p != fixture.RootID {
		t.Errorf("the root's parent is %v, want %q (named, though not in the view)", p, fixture.RootID)
	}

	op.call(b, "increment", nil)
	op.call(a, "increment", map[string]any{"by": 5})
	op.call(b1, "close", nil)
	op.call(a1, "close", nil)
	m.sync(v)
	if got := m.ids(); !slices.Equal(got, []string{a}) {
		t.Fatalf("after the changes the view holds %v, want [%s]", got, a)
	}
	if string(m.objects[a].Props["value"]) != "6" {
		t.Errorf("value %s, want 6", m.objects[a].Props["value"])
	}
	if len(m.seen) != 3 { // a's update and event, a1's close
		t.Errorf("the view got seqs %v, want 3 notifications", m.seen)
	}

	for _, target := range []string{b, fixture.RootID, b1, "no-such"} {
		errCode(t, v.call(target, "increment", nil), rope.CodeObjectNotFound)
		_, resp := v.until(v.request(rope.MethodSetAppData, map[string]any{"object": target, "appData": map[string]any{}}))
		errCode(t, resp, rope.CodeObjectNotFound)
	}
}

func sorted(ids ...string) []string { slices.Sort(ids); return ids }

// HideOthers hides the objects of a type another subject owns, with their
// descendants; an object a call owns moves into its caller's view
// (rope.created) before the call's response, while a connection without a
// grant sees the move as an empty rope.updated and no gap.
func TestViewHideOthers(t *testing.T) {
	g := &grants{}
	srv, base := startViewServer(t, g)
	hide := map[string]ropeserver.Hide{fixture.TypeCounter: ropeserver.HideOthers}
	g.set("alice", &ropeserver.Grant{Subject: "alice", Hide: hide})
	g.set("bob", &ropeserver.Grant{Subject: "bob", Hide: hide})
	op, opInit := dialInit(t, base)
	om := newMirror(t, opInit).follow(op)
	alice, ain := dialInit(t, withToken(base, "alice"))
	am := newMirror(t, ain).follow(alice)
	bob, bin := dialInit(t, withToken(base, "bob"))
	bm := newMirror(t, bin).follow(bob)

	notes, resp := alice.until(alice.request(rope.MethodCall, map[string]any{"object": fixture.RootID, "method": "createCounter"}))
	var ca rope.CreateResult
	if resp.Error != nil || json.Unmarshal(resp.Result, &ca) != nil {
		t.Fatalf("createCounter: %+v", resp.Error)
	}
	if _, ok := am.objects[ca.ID]; !ok || len(notes) != 1 || notes[0].Method != rope.MethodCreated {
		t.Fatalf("alice got %v before the response, want her counter's rope.created", methods(notes))
	}
	cb := bob.createCounter(7)
	cb1 := bob.createChild(cb, "b1")
	opc := op.createCounter(0) // owned by no subject: hidden from both

	am.sync(alice)
	bm.sync(bob)
	om.sync(op)
	if got, want := am.ids(), sorted(fixture.RootID, ca.ID); !slices.Equal(got, want) {
		t.Errorf("alice sees %v, want %v", got, want)
	}
	if got, want := bm.ids(), sorted(fixture.RootID, cb, cb1); !slices.Equal(got, want) {
		t.Errorf("bob sees %v, want %v", got, want)
	}
	if got, want := om.ids(), sorted(fixture.RootID, ca.ID, cb, cb1, opc); !slices.Equal(got, want) {
		t.Errorf("the operator sees %v, want %v", got, want)
	}
	if o, ok := srv.Object(cb); !ok || o.Owner() != "bob" {
		t.Errorf("bob's counter: owner %q, want bob", o.Owner())
	}
	// A new connection's rope.init holds the same.
	_, ain2 := dialInit(t, withToken(base, "alice"))
	if got, want := newMirror(t, ain2).ids(), sorted(fixture.RootID, ca.ID); !slices.Equal(got, want) {
		t.Errorf("alice's rope.init holds %v, want %v", got, want)
	}
	errCode(t, alice.call(cb1, "ping", nil), rope.CodeObjectNotFound)
}

// Calls outside the grant answer -32004 naming the type and method; "Own"
// methods run only on the caller's own objects.
func TestViewCallsOutsideGrantRefused(t *testing.T) {
	g := &grants{}
	base := startViews(t, g)
	calls := map[string]ropeserver.Methods{
		fixture.TypeFixture: {Any: []string{"createCounter"}},
		fixture.TypeCounter: {Any: []string{"increment"}, Own: []string{"close"}},
	}
	g.set("alice", &ropeserver.Grant{Subject: "alice", Calls: calls})
	g.set("bob", &ropeserver.Grant{Subject: "bob", Calls: calls})
	alice, _ := dialInit(t, withToken(base, "alice"))
	bob, _ := dialInit(t, withToken(base, "bob"))
	ca, cb := alice.createCounter(0), bob.createCounter(0)

	refused := func(resp *rope.Message, typ, method string) {
		t.Helper()
		errCode(t, resp, rope.CodeUnauthorized)
		if d := resp.Error.Data; d.Type != typ || d.Method != method {
			t.Errorf("refusal data %+v, want type %s method %s", d, typ, method)
		}
	}
	refused(alice.call(fixture.RootID, "echo", 1), fixture.TypeFixture, "echo")
	refused(alice.call(ca, "createChild", map[string]any{"name": "x"}), fixture.TypeCounter, "createChild")
	refused(alice.call(cb, "close", nil), fixture.TypeCounter, "close")
	_, resp := alice.until(alice.request(rope.MethodSetAppData, map[string]any{"object": ca, "appData": map[string]any{"x": 1}}))
	refused(resp, fixture.TypeCounter, ropeserver.MethodSetAppData)
	if r := alice.call(cb, "increment", nil); r.Error != nil {
		t.Errorf("increment on bob's counter: %+v", r.Error)
	}
	if r := alice.call(ca, "close", nil); r.Error != nil {
		t.Errorf("close on her own counter: %+v", r.Error)
	}
	if _, resp := alice.until(alice.request(rope.MethodPing, nil)); resp.Error != nil {
		t.Errorf("rope.ping: %+v", resp.Error)
	}
}

// A subject's quota per type refuses the creating call past it with
// -32005 before anything is created, over all its connections; closing
// one of its objects frees a place.
func TestViewQuota(t *testing.T) {
	g := &grants{}
	base := startViews(t, g)
	g.set("alice", &ropeserver.Grant{Subject: "alice", Quotas: map[string]int{fixture.TypeCounter: 2}})
	op, opInit := dialInit(t, base)
	om := newMirror(t, opInit).follow(op)
	a1, _ := dialInit(t, withToken(base, "alice"))
	a2, _ := dialInit(t, withToken(base, "alice"))
	first := a1.createCounter(0)
	a2.createCounter(0)
	om.sync(op)
	before := len(om.objects)
	for _, p := range []*peer{a1, a2} {
		resp := p.call(fixture.RootID, "createCounter", nil)
		errCode(t, resp, rope.CodeOverloaded)
		if resp.Error.Data.Type != fixture.TypeCounter {
			t.Errorf("quota error data %+v, want the type", resp.Error.Data)
		}
	}
	om.sync(op)
	if len(om.objects) != before {
		t.Fatalf("refused calls created objects: %d, want %d", len(om.objects), before)
	}
	a1.call(first, "close", nil)
	a2.createCounter(0)
}

// At its grant's expiry a connection is closed with 4003; a grant already
// expired is refused at the handshake.
func TestViewGrantExpires(t *testing.T) {
	g := &grants{}
	base := startViews(t, g)
	g.set("short", &ropeserver.Grant{Subject: "s", Expires: time.Now().Add(200 * time.Millisecond)})
	g.set("gone", &ropeserver.Grant{Subject: "s", Expires: time.Now().Add(-time.Second)})
	p, _ := dialInit(t, withToken(base, "short"))
	for {
		_, err := p.tryRead(10 * time.Second)
		if err == nil {
			continue
		}
		if code := websocket.CloseStatus(err); code != rope.CloseGrantExpired {
			t.Fatalf("connection ended with %v (status %d), want %d", err, code, rope.CloseGrantExpired)
		}
		break
	}
	if code, _ := handshake(t, withToken(base, "gone"), nil); code != http.StatusUnauthorized {
		t.Errorf("an expired grant: HTTP %d, want 401", code)
	}
	if code, _ := handshake(t, withToken(base, "nobody"), nil); code != http.StatusUnauthorized {
		t.Errorf("an unknown token: HTTP %d, want 401", code)
	}
}

// A view resumes within the window losing and duplicating nothing, under
// churn inside and outside it (objects moving into it as they are owned),
// cut mid-stream: its mirror ends equal to a full mirror restricted to
// the view.
func TestViewResumeUnderChurn(t *testing.T) {
	g := &grants{}
	_, base := startTakeServer(t, g)
	op, opInit := dialInit(t, base)
	om := newMirror(t, opInit).follow(op)
	a, b := op.createCounter(0), op.createCounter(0)
	g.set("alice", &ropeserver.Grant{Subject: "alice", Roots: []string{a},
		Hide: map[string]ropeserver.Hide{fixture.TypeChild: ropeserver.HideOthers}})
	g.set("bob", &ropeserver.Grant{Subject: "bob"})

	v, vin := dialInit(t, withToken(base, "alice"))
	vm := newMirror(t, vin)
	live, lin := dialInit(t, withToken(base, "alice")) // never cut
	lm := newMirror(t, lin).follow(live)
	actor, _ := dialInit(t, withToken(base, "alice")) // creates alice's children
	bob, _ := dialInit(t, withToken(base, "bob"))

	var mine sync.Map // children alice owns
	churn := func(round int) {
		actor.call(a, "increment", nil)
		op.call(b, "increment", nil)
		id := actor.createChild(a, fmt.Sprint("mine", round))
		mine.Store(id, true)
		other := bob.createChild(a, fmt.Sprint("bob", round))
		op.createChild(b, fmt.Sprint("b", round))
		switch round % 4 {
		case 0:
			actor.call(id, "close", nil)
			bob.call(other, "close", nil)
		case 1: // moves into alice's view
			actor.take(other)
			mine.Store(other, true)
		case 2: // moves out of it
			bob.take(id)
			mine.Delete(id)
		}
	}
	const rounds = 60
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range rounds {
			churn(i)
		}
	}()
	// Read part of the stream, then cut the connection without a close.
	for range 40 {
		m, err := v.tryRead(10 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		vm.apply(m)
	}
	v.ws.CloseNow()
	<-done
	v2, in2 := dialInit(t, withToken(base, "alice")+"&"+url.Values{
		rope.QueryEpoch: {vm.epoch}, rope.QuerySeq: {strconv.FormatUint(vm.seq, 10)}}.Encode())
	if !in2.Resumed {
		t.Fatalf("did not resume from %d", vm.seq)
	}
	vm.init(in2)
	vm.follow(v2).sync(v2)
	lm.sync(live)
	om.sync(op)
	if !slices.Equal(vm.log, lm.log) {
		t.Errorf("the resumed view got\n%v\nthe live view\n%v", vm.log, lm.log)
	}

	want := map[string]rope.ObjectState{}
	for id, o := range om.objects {
		_, isMine := mine.Load(id)
		if id == a || o.Parent != nil && *o.Parent == a && isMine {
			want[id] = o
		}
	}
	if len(vm.objects) != len(want) {
		t.Fatalf("the view holds %d objects, want %d", len(vm.objects), len(want))
	}
	for id, o := range want {
		got, ok := vm.objects[id]
		if !ok {
			t.Fatalf("the view lacks %s", id)
		}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(o)
		if string(gj) != string(wj) {
			t.Errorf("%s: view %s, full %s", id, gj, wj)
		}
	}
}

// When a call takes an object with descendants from another subject, the
// subtree leaves the old owner's view children first and enters the new
// owner's parents first; a connection without a grant gets one empty
// rope.updated per notification, without gaps.
func TestViewSubtreeMoves(t *testing.T) {
	g := &grants{}
	srv, base := startTakeServer(t, g)
	hide := map[string]ropeserver.Hide{fixture.TypeCounter: ropeserver.HideOthers}
	g.set("alice", &ropeserver.Grant{Subject: "alice", Hide: hide})
	g.set("bob", &ropeserver.Grant{Subject: "bob", Hide: hide})
	op, opInit := dialInit(t, base)
	om := newMirror(t, opInit).follow(op)
	alice, ain := dialInit(t, withToken(base, "alice"))
	am := newMirror(t, ain).follow(alice)
	bob, bin := dialInit(t, withToken(base, "bob"))
	bm := newMirror(t, bin).follow(bob)
	c := alice.createCounter(0)
	k1 := alice.createChild(c, "k1")
	k2 := alice.createChild(c, "k2")
	bm.sync(bob)
	om.sync(op)
	if got, want := am.ids(), sorted(fixture.RootID, c, k1, k2); !slices.Equal(got, want) {
		t.Fatalf("alice sees %v, want %v", got, want)
	}
	if got := bm.ids(); !slices.Equal(got, []string{fixture.RootID}) {
		t.Fatalf("bob sees %v before taking the counter", got)
	}
	aLog, bLog, oLog := len(am.log), len(bm.log), len(om.log)

	_, resp := bob.until(bob.request("take", map[string]string{"id": c}))
	if resp.Error != nil {
		t.Fatalf("take: %+v", resp.Error)
	}
	am.sync(alice)
	om.sync(op)
	kinds := func(log []string) []string {
		out := make([]string, len(log))
		for i, l := range log {
			_, m, _ := strings.Cut(l, " ")
			out[i] = m
		}
		return out
	}
	if got, want := bm.ids(), sorted(fixture.RootID, c, k1, k2); !slices.Equal(got, want) {
		t.Fatalf("bob sees %v after taking, want %v", got, want)
	}
	if got := am.ids(); !slices.Equal(got, []string{fixture.RootID}) {
		t.Fatalf("alice sees %v after losing the counter", got)
	}
	if got, want := kinds(bm.log[bLog:]), []string{rope.MethodCreated, rope.MethodCreated, rope.MethodCreated}; !slices.Equal(got, want) {
		t.Errorf("bob got %v", bm.log[bLog:])
	}
	if got, want := kinds(am.log[aLog:]), []string{rope.MethodClosed, rope.MethodClosed, rope.MethodClosed}; !slices.Equal(got, want) {
		t.Errorf("alice got %v", am.log[aLog:])
	}
	if got := len(om.log) - oLog; got != 6 {
		t.Errorf("the operator got %d notifications for the move, want 6 empty updates: %v", got, om.log[oLog:])
	}
	// Bob got the counter before its children, alice lost the children first.
	bobOrder, aliceOrder := bm.order[len(bm.order)-3:], am.order[len(am.order)-3:]
	if !slices.Equal(bobOrder, []string{c, k1, k2}) || !slices.Equal(aliceOrder, []string{k2, k1, c}) {
		t.Errorf("bob got %v, alice lost %v; want %v and %v", bobOrder, aliceOrder, []string{c, k1, k2}, []string{k2, k1, c})
	}
	if o, _ := srv.Object(c); o.Owner() != "bob" {
		t.Errorf("owner %q, want bob", o.Owner())
	}
}

// startTakeServer serves views with the extra method take {"id"}, which
// owns the object for the caller (Call.Own): an owner change.
func startTakeServer(t *testing.T, g *grants) (*ropeserver.Server, string) {
	t.Helper()
	var srv *ropeserver.Server
	srv, base := startServer(t, &ropeserver.Options{Authorize: g.authorize, Methods: map[string]ropeserver.MethodFunc{
		"take": func(_ context.Context, call *ropeserver.Call) (any, error) {
			var p struct {
				ID string `json:"id"`
			}
			if err := call.Bind(&p); err != nil {
				return nil, err
			}
			o, ok := srv.Object(p.ID)
			if !ok {
				return nil, rope.NewError(rope.CodeObjectNotFound, "no %s", p.ID)
			}
			return nil, call.Own(o)
		},
	}})
	return srv, base
}

func (p *peer) take(id string) {
	p.t.Helper()
	if _, resp := p.until(p.request("take", map[string]string{"id": id})); resp.Error != nil {
		p.t.Fatalf("take %s: %+v", id, resp.Error)
	}
}

// With Authorize, a client presenting two different tokens is refused (which
// grant would apply?); the same token twice, or none, passes.
func TestAuthorizeTokens(t *testing.T) {
	g := &grants{}
	base := startViews(t, g)
	g.set("a", &ropeserver.Grant{Subject: "a"})
	g.set("b", &ropeserver.Grant{Subject: "b"})
	header := func(token string) *websocket.DialOptions {
		return &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}}
	}
	for _, c := range []struct {
		url  string
		opts *websocket.DialOptions
		want int
	}{
		{withToken(base, "a"), header("b"), http.StatusUnauthorized},
		{withToken(base, "a"), header("a"), http.StatusSwitchingProtocols},
		{base, nil, http.StatusSwitchingProtocols},
		{base, header("c"), http.StatusUnauthorized},
	} {
		if code, _ := handshake(t, c.url, c.opts); code != c.want {
			t.Errorf("%s with %v: HTTP %d, want %d", c.url, c.opts, code, c.want)
		}
	}
}
