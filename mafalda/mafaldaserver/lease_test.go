package mafaldaserver_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/mafalda/mafaldaserver"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeclient"
	"github.com/ropehq/rope/ropeserver"
)

// TestMafaldaRouterLeased: a MafaldaRouter created by a client closes,
// with the Mafalda's router itself, once the client is gone past the lease
// it asked for (spec/rope-v1.md §17, mafalda-v1 §3.1.3).
func TestMafaldaRouterLeased(t *testing.T) {
	m := mafalda.New(engine.New(nil), nil)
	rs := ropeserver.New(&ropeserver.Options{Logger: quiet})
	srv, err := mafaldaserver.Register(rs, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(rs)
	defer func() {
		srv.Close(context.Background())
		m.Close(context.Background())
		rs.Close()
		hs.Close()
	}()
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/"
	a, err := ropeclient.Dial(ctxT(t), url, &ropeclient.Options{Logger: quiet, Dedicated: true, Lease: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var res rope.CreateResult
	err = a.Call(ctxT(t), mafaldaserver.RootID, "createMafaldaRouter", map[string]any{"maxWorkers": 0,
		"routerOptions": media.RouterOptions{MediaCodecs: codecs}}, &res)
	if err != nil {
		t.Fatal(err)
	}
	o, ok := rs.Object(res.ID)
	if !ok {
		t.Fatal("no MafaldaRouter object")
	}
	mr := o.Value().(mafalda.Router)
	a.Close()
	wait.Until(t, "the MafaldaRouter closes", func() bool { return o.Closed() && mr.Closed() })
}
