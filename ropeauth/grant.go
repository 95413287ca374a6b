package ropeauth

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/ropehq/rope/ropeserver"
)

// Grant is the ropeserver.Grant the claims describe: nil for an operator
// token (full access). Its Expires is "exp" plus leeway (see the package
// comment), zero without "exp". A participant claim without "calls"
// allows no method (unlike a nil ropeserver.Grant.Calls, which allows
// every one).
func (c *Claims) Grant(leeway time.Duration) *ropeserver.Grant {
	if c.Rope == nil || c.Rope.Operator {
		return nil
	}
	g := &ropeserver.Grant{
		Subject: c.Subject,
		Roots:   slices.Clone(c.Rope.Roots),
		Hide:    map[string]ropeserver.Hide{},
		Calls:   map[string]ropeserver.Methods{},
		Quotas:  map[string]int{},
	}
	for typ, h := range c.Rope.Hide {
		g.Hide[typ] = hideOf(h)
	}
	for typ, m := range c.Rope.Calls {
		g.Calls[typ] = ropeserver.Methods{Any: slices.Clone(m.Any), Own: slices.Clone(m.Own)}
	}
	for typ, n := range c.Rope.Quotas {
		g.Quotas[typ] = n
	}
	if c.ExpiresAt != nil {
		g.Expires = c.ExpiresAt.Add(max(leeway, 0))
	}
	return g
}

func hideOf(h string) ropeserver.Hide {
	switch h {
	case HideOthers:
		return ropeserver.HideOthers
	case HideAll:
		return ropeserver.HideAll
	case HideOthersShallow:
		return ropeserver.HideOthersShallow
	}
	return ropeserver.HideAll // not reached: Validate admits only those two
}

// Authorizer decides a ROPE server's handshakes from the token each
// client presents: its Authorize is a ropeserver.Options.Authorize.
type Authorizer struct {
	// Verifier checks signed tokens. Nil: only OperatorToken is accepted.
	Verifier *Verifier
	// OperatorToken, when set, is a shared token (not a JWT) that gives
	// full access, as ropeserver.Options.Token does; it is compared in
	// constant time.
	OperatorToken string
	// OnRefuse, when set, is told why a token was refused (for a log);
	// the client only gets 401.
	OnRefuse func(r *http.Request, err error)
}

// Authorize returns the grant of the presented token: nil (full access)
// for the operator token or an operator JWT, the claims' grant for a
// participant JWT, or an error (401) for no token or an invalid one.
func (a *Authorizer) Authorize(r *http.Request, token string) (*ropeserver.Grant, error) {
	g, err := a.grant(token)
	if err != nil && a.OnRefuse != nil {
		a.OnRefuse(r, err)
	}
	return g, err
}

func (a *Authorizer) grant(token string) (*ropeserver.Grant, error) {
	if token == "" {
		return nil, ErrNoToken
	}
	if a.OperatorToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(a.OperatorToken)) == 1 {
		return nil, nil
	}
	if a.Verifier == nil {
		return nil, errors.New("ropeauth: wrong token")
	}
	c, err := a.Verifier.Verify(token)
	if err != nil {
		return nil, err
	}
	g := c.Grant(a.Verifier.leeway)
	if g != nil && !g.Expires.IsZero() && !g.Expires.After(a.Verifier.now()) {
		return nil, fmt.Errorf("%w: at %s", ErrExpired, g.Expires.Format(time.RFC3339))
	}
	return g, nil
}

// Authorize is an Authorizer with v alone: for ropeserver.Options.Authorize.
func (v *Verifier) Authorize(r *http.Request, token string) (*ropeserver.Grant, error) {
	return (&Authorizer{Verifier: v}).Authorize(r, token)
}
