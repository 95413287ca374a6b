package ropeserver

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The address a connection arrived on passes as Host: what clients use to
// reach a server listening on a LAN address or on every interface. The
// tests send only to loopback, so this rule is checked on requests carrying
// the local address net/http gives them.
func TestHostAllowedByLocalAddress(t *testing.T) {
	s := New(&Options{AllowedHosts: []string{"[bad"}})
	for _, c := range []struct {
		local net.IP
		host  string
		want  bool
	}{
		{net.ParseIP("192.0.2.10"), "192.0.2.10:8444", true},
		{net.ParseIP("192.0.2.10"), "192.0.2.10", true},
		{net.ParseIP("192.0.2.10"), "192.0.2.11:8444", false},
		{net.ParseIP("2001:db8::10"), "[2001:db8::10]:8444", true},
		{net.ParseIP("2001:db8::10"), "[2001:DB8::10]", true},
		{net.ParseIP("2001:db8::10"), "[2001:db8::11]:8444", false},
		{net.ParseIP("192.0.2.10"), "[::ffff:192.0.2.10]:8444", true},
		{net.ParseIP("192.0.2.10"), "lan-name:8444", false},
		{net.ParseIP("192.0.2.10"), "", false},
		{net.ParseIP("192.0.2.10"), "[bad", false}, // a bad pattern matches nothing
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Host = c.host
		r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: c.local, Port: 8444}))
		if got := s.hostAllowed(r); got != c.want {
			t.Errorf("local %s, Host %q: allowed %v, want %v", c.local, c.host, got, c.want)
		}
	}
}
