package ropeserver

import (
	"errors"
	"testing"
	"time"

	"github.com/ropehq/rope/rope"
)

// A call checked after its grant expired answers -32004, even with every
// method allowed; a grant without Calls allows everything until then.
func TestGrantExpiredRefusesCalls(t *testing.T) {
	c := &Conn{grant: &Grant{Subject: "s", Expires: time.Now().Add(time.Hour)}}
	if err := c.allowed(nil, "anything"); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	c.grant.Expires = time.Now().Add(-time.Millisecond)
	err := c.allowed(nil, "anything")
	var re *rope.Error
	if !errors.As(err, &re) || re.Code != rope.CodeUnauthorized || re.Data.Method != "anything" {
		t.Fatalf("after expiry: %v, want -32004 naming the method", err)
	}
}

// Two grants that see alike share a view epoch, whatever the order of
// their roots or their calls; another subject or root does not.
func TestViewHashNamesWhatIsSeen(t *testing.T) {
	a := &Grant{Subject: "s", Roots: []string{"x", "y"}, Hide: map[string]Hide{"T": HideOthers, "U": HideNone}}
	b := &Grant{Subject: "s", Roots: []string{"y", "x", "x"}, Hide: map[string]Hide{"T": HideOthers},
		Calls: map[string]Methods{"T": {Any: []string{"*"}}}}
	if viewHash(a) != viewHash(b) {
		t.Error("grants that see alike hash differently")
	}
	for _, g := range []*Grant{
		{Subject: "t", Roots: a.Roots, Hide: a.Hide},
		{Subject: "s", Roots: []string{"x"}, Hide: a.Hide},
		{Subject: "s", Roots: a.Roots, Hide: map[string]Hide{"T": HideAll}},
	} {
		if viewHash(g) == viewHash(a) {
			t.Errorf("%+v hashes as %+v", g, a)
		}
	}
}
