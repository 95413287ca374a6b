package ropeserver_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeclient"
	"github.com/ropehq/rope/ropeserver"
	"github.com/ropehq/rope/ropeserver/fixture"
)

// TestHideOthersShallow: HideOthersShallow hides another subject's
// objects of a type, not what is under them (a media participant sees
// others' producers, not their transports); HideOthers hides both. Alice
// makes a Counter and a Child under it; a Bob with the shallow grant sees
// the Child and not the Counter, in rope.init and live; a Bob with the
// deep grant sees neither.
func TestHideOthersShallow(t *testing.T) {
	grants := map[string]*ropeserver.Grant{
		"alice":   {Subject: "alice"},
		"shallow": {Subject: "bob", Hide: map[string]ropeserver.Hide{fixture.TypeCounter: ropeserver.HideOthersShallow}},
		"deep":    {Subject: "bob", Hide: map[string]ropeserver.Hide{fixture.TypeCounter: ropeserver.HideOthers}},
	}
	_, url := startServer(t, &ropeserver.Options{Authorize: func(_ *http.Request, tok string) (*ropeserver.Grant, error) {
		if g, ok := grants[tok]; ok {
			return g, nil
		}
		return nil, errors.New("unknown token")
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dial := func(tok string) *ropeclient.Client {
		c, err := ropeclient.Dial(ctx, url, &ropeclient.Options{Token: tok, Logger: quiet, NoReconnect: true, Dedicated: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	create := func(c *ropeclient.Client, obj, method string, params any) string {
		var res rope.CreateResult
		if err := c.Call(ctx, obj, method, params, &res); err != nil {
			t.Fatalf("%s.%s: %v", obj, method, err)
		}
		return res.ID
	}
	alice := dial("alice")
	counter := create(alice, fixture.RootID, "createCounter", map[string]any{})
	child := create(alice, counter, "createChild", map[string]any{"name": "one"})
	shallow, deep := dial("shallow"), dial("deep")
	has := func(c *ropeclient.Client, id string) bool { _, ok := c.Object(id); return ok }
	if !has(shallow, child) || has(shallow, counter) {
		t.Fatalf("shallow view in rope.init: child %v, counter %v; want the child alone", has(shallow, child), has(shallow, counter))
	}
	if has(deep, child) || has(deep, counter) {
		t.Fatal("the deep view holds alice's counter or its child")
	}
	// Live: a second child reaches the shallow view; a change to the
	// root, which both see, marks that the deep view has had its chance.
	second := create(alice, counter, "createChild", map[string]any{"name": "two"})
	wait.Until(t, "the second child in the shallow view", func() bool { return has(shallow, second) })
	root, _ := alice.Object(fixture.RootID)
	if err := root.SetAppData(ctx, map[string]any{"marker": 1}); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, "the marker in the deep view", func() bool {
		o, ok := deep.Object(fixture.RootID)
		return ok && string(o.AppData()) == `{"marker":1}`
	})
	if has(deep, second) || has(shallow, counter) {
		t.Fatal("a hidden object reached a view")
	}
}
