package ropeserver_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeserver"
	"github.com/ropehq/rope/ropeserver/fixture"
)

// TestOnCallLabelsAreBounded: OnCall hears of every answered request
// with "<Type>.<method>" for methods the object's type has, rope.call for
// calls that found no object or method (whatever they named), the
// JSON-RPC method for rope.ping, and "other" for unknown methods, each
// with the code answered.
func TestOnCallLabelsAreBounded(t *testing.T) {
	var mu sync.Mutex
	var got []ropeserver.CallInfo
	_, url := startServer(t, &ropeserver.Options{OnCall: func(ci ropeserver.CallInfo) {
		mu.Lock()
		got = append(got, ci)
		mu.Unlock()
	}})
	p := dialPeer(t, url, nil)
	p.init()
	id := p.createCounter(1)
	p.call(id, "increment", map[string]any{"by": 1})
	p.call("no-such-object-1", "x", nil)
	p.call(id, "no-such-method", nil)
	p.until(p.request(rope.MethodPing, map[string]any{}))
	p.until(p.request("made.up.method", map[string]any{}))
	want := []ropeserver.CallInfo{
		{Method: "Fixture.createCounter"}, {Method: "Counter.increment"},
		{Method: "rope.call", Code: int(rope.CodeObjectNotFound)}, {Method: "rope.call", Code: int(rope.CodeUnknownMethod)},
		{Method: "rope.ping"}, {Method: "other", Code: int(rope.CodeMethodNotFound)},
	}
	wait.Until(t, "every call observed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= len(want)
	})
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		t.Fatalf("observed %+v\nwant %+v", got, want)
	}
}

// TestStatsAndObjects: Stats counts connections, objects and the replay
// ring; Objects lists the live objects, parents first.
func TestStatsAndObjects(t *testing.T) {
	srv, url := startServer(t, nil)
	p := dialPeer(t, url, nil)
	p.init()
	id := p.createCounter(1)
	st := srv.Stats()
	if st.Conns != 1 || st.Objects < 2 || st.ReplayMessages < 1 || st.ReplayBytes <= 0 || st.StateBytes <= 0 || st.Seq == 0 {
		t.Fatalf("stats %+v", st)
	}
	objs := srv.Objects()
	i := slices.IndexFunc(objs, func(o *ropeserver.Object) bool { return o.ID() == id })
	j := slices.IndexFunc(objs, func(o *ropeserver.Object) bool { return o.ID() == fixture.RootID })
	if i < 0 || j < 0 || j > i {
		t.Fatalf("objects: counter at %d, fixture at %d", i, j)
	}

	p.ws.CloseNow()
	wait.Until(t, "no connection in the stats", func() bool { return srv.Stats().Conns == 0 })
}

// TestAuthorizeRequest follows the token as the handshake does, and
// returns the grant Options.Authorize gives.
func TestAuthorizeRequest(t *testing.T) {
	srv := ropeserver.New(&ropeserver.Options{Token: "s3cr3t", Logger: quiet})
	defer srv.Close()
	for target, ok := range map[string]bool{
		"/x": false, "/x?access_token=wrong": false, "/x?access_token=s3cr3t": true,
	} {
		if g, err := srv.AuthorizeRequest(httptest.NewRequest("GET", target, nil)); (err == nil) != ok || g != nil {
			t.Errorf("%s: %v %v, want ok %v and no grant", target, g, err, ok)
		}
	}
	r := httptest.NewRequest("GET", "/x", nil)
	r.Header.Set("Authorization", "Bearer s3cr3t")
	if _, err := srv.AuthorizeRequest(r); err != nil {
		t.Errorf("bearer: %v", err)
	}
	open := ropeserver.New(&ropeserver.Options{Logger: quiet})
	defer open.Close()
	if _, err := open.AuthorizeRequest(httptest.NewRequest("GET", "/x", nil)); err != nil {
		t.Errorf("no token required: %v", err)
	}
	viewer := &ropeserver.Grant{Subject: "v", Roots: []string{"x"}}
	scoped := ropeserver.New(&ropeserver.Options{Logger: quiet, Authorize: func(_ *http.Request, token string) (*ropeserver.Grant, error) {
		if token != "viewer" {
			return nil, errors.New("no")
		}
		return viewer, nil
	}})
	defer scoped.Close()
	if g, err := scoped.AuthorizeRequest(httptest.NewRequest("GET", "/x?access_token=viewer", nil)); err != nil || g != viewer {
		t.Errorf("scoped: %v %v, want the viewer's grant", g, err)
	}
	if _, err := scoped.AuthorizeRequest(httptest.NewRequest("GET", "/x?access_token=other", nil)); err == nil {
		t.Error("scoped: another token passed")
	}
}
