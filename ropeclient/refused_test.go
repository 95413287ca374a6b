package ropeclient_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ropehq/rope/internal/cuttest"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/ropeclient"
	"github.com/ropehq/rope/ropeserver"
	"github.com/ropehq/rope/ropeserver/fixture"
)

// TestGrantExpiredStopsReconnecting: a connection whose grant expires is
// closed with 4003 (spec §18.9); the client does not reconnect with the
// same token (which the server would refuse with 401), enters CLOSED,
// emits close, reports ErrGrantExpired to OnError and from Err, and fails
// calls with it (spec §12.3.5).
func TestGrantExpiredStopsReconnecting(t *testing.T) {
	var handshakes atomic.Int32
	var mu sync.Mutex
	expires := map[string]time.Time{} // by token: the grant holds from the first handshake
	authorize := func(_ *http.Request, token string) (*ropeserver.Grant, error) {
		handshakes.Add(1)
		mu.Lock()
		defer mu.Unlock()
		if _, ok := expires[token]; !ok {
			expires[token] = time.Now().Add(300 * time.Millisecond)
		}
		return &ropeserver.Grant{Subject: token, Expires: expires[token]}, nil
	}
	_, url := startServer(t, &ropeserver.Options{Authorize: authorize})
	c := ropeclient.New(url, &ropeclient.Options{Token: "short", Logger: quiet, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	var errs []error
	var closes atomic.Int32
	c.OnError(func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() })
	c.OnClose(func() { closes.Add(1) })
	if err := c.Open(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	wait.Until(t, "the client to close after the grant expired", func() bool { return closes.Load() > 0 })
	if s := c.ReadyState(); s != ropeclient.Closed {
		t.Fatalf("state %v after the close event, want CLOSED", s)
	}
	if err := c.Err(); !errors.Is(err, ropeclient.ErrGrantExpired) {
		t.Fatalf("Err() = %v, want ErrGrantExpired", err)
	}
	mu.Lock()
	got := append([]error(nil), errs...)
	mu.Unlock()
	if len(got) != 1 || !errors.Is(got[0], ropeclient.ErrGrantExpired) {
		t.Fatalf("OnError got %v, want one ErrGrantExpired", got)
	}
	if err := c.Call(ctxT(t), fixture.RootID, "echo", nil, nil); !errors.Is(err, ropeclient.ErrGrantExpired) {
		t.Fatalf("a call after the expiry: %v, want ErrGrantExpired", err)
	}
	if n := handshakes.Load(); n != 1 {
		t.Fatalf("%d handshakes, want 1: the client reconnected with the expired token", n)
	}
	c.Close()
	if n := closes.Load(); n != 1 {
		t.Fatalf("%d close events, want 1", n)
	}
}

// TestForbiddenStopsReconnecting: a handshake refused with 403 (spec §4.3)
// ends the client with ErrForbidden, without a second attempt, as 401
// does with ErrUnauthorized.
func TestForbiddenStopsReconnecting(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   error
	}{{http.StatusForbidden, ropeclient.ErrForbidden}, {http.StatusUnauthorized, ropeclient.ErrUnauthorized}} {
		var hits atomic.Int32
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			hits.Add(1)
			http.Error(w, "no", tc.status)
		}))
		url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/"
		_, err := ropeclient.Dial(ctxT(t), url, &ropeclient.Options{Logger: quiet, MinBackoff: time.Millisecond})
		hs.Close()
		if !errors.Is(err, tc.want) {
			t.Errorf("HTTP %d: %v, want %v", tc.status, err, tc.want)
		}
		if n := hits.Load(); n != 1 {
			t.Errorf("HTTP %d: %d handshakes, want 1", tc.status, n)
		}
	}
}

// TestRefusedReconnectCloses: a client that was connected and whose
// reconnection is refused with 401 (its token was revoked while it was
// away) stops, enters CLOSED and emits close once (spec §12.3.5).
func TestRefusedReconnectCloses(t *testing.T) {
	var refuse atomic.Bool
	_, url := startServer(t, &ropeserver.Options{Authorize: func(_ *http.Request, token string) (*ropeserver.Grant, error) {
		if refuse.Load() {
			return nil, errors.New("revoked")
		}
		return nil, nil
	}})
	var cut cuttest.Cutter
	c := dial(t, url, &ropeclient.Options{Token: "tok", HTTPClient: cut.Client(), MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	var closes atomic.Int32
	c.OnClose(func() { closes.Add(1) })
	refuse.Store(true)
	cut.Cut()
	wait.Until(t, "the client to close after the refusal", func() bool { return closes.Load() > 0 })
	if err := c.Err(); !errors.Is(err, ropeclient.ErrUnauthorized) || c.ReadyState() != ropeclient.Closed {
		t.Fatalf("Err() = %v, state %v; want ErrUnauthorized, CLOSED", err, c.ReadyState())
	}
	// A new client of the same URL and token must not share the dead
	// connection: it dials (and is refused) anew.
	refuse.Store(false)
	dial(t, url, &ropeclient.Options{Token: "tok"})
}
