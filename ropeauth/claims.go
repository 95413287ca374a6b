package ropeauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Bounds of a "rope" claim; a claim past them is refused (ErrGrant).
const (
	// MaxRoots is the most ids in "roots".
	MaxRoots = 64
	// MaxTypes is the most types named in each of "hide", "calls" and
	// "quotas".
	MaxTypes = 64
	// MaxMethods is the most method names in one "any" or "own" list.
	MaxMethods = 64
	// MaxNameBytes bounds an id, a type name, a method name and "sub".
	MaxNameBytes = 256
)

// Values of a "hide" entry (ropeserver.HideOthers, HideAll and
// HideOthersShallow).
const (
	HideOthers        = "others"
	HideAll           = "all"
	HideOthersShallow = "othersShallow"
)

// AllMethods in a Methods list stands for every method of the type.
const AllMethods = "*"

// Claims are a token's claims: the registered ones (sub, exp, nbf, iat,
// aud, ...) and the "rope" claim.
type Claims struct {
	jwt.RegisteredClaims
	// Rope is what the holder may see and call. Verify refuses a token
	// without it.
	Rope *Rope `json:"rope,omitempty"`
}

// Rope is the "rope" claim (see the package comment for its JSON).
type Rope struct {
	// Operator gives full access; the other fields must then be empty.
	Operator bool `json:"operator,omitempty"`
	// Roots are the ids whose subtrees are visible; empty: every object.
	Roots []string `json:"roots,omitempty"`
	// Hide maps a type name to HideOthers, HideAll or HideOthersShallow.
	Hide map[string]string `json:"hide,omitempty"`
	// Calls maps a type name to the methods allowed on its objects; a type
	// absent allows none, and so does a nil Calls.
	Calls map[string]Methods `json:"calls,omitempty"`
	// Quotas maps a type name to the most live objects of that type the
	// subject may own.
	Quotas map[string]int `json:"quotas,omitempty"`
}

// Methods are the methods allowed on the objects of one type.
type Methods struct {
	// Any are allowed on every visible object of the type.
	Any []string `json:"any,omitempty"`
	// Own are allowed on the objects the subject owns.
	Own []string `json:"own,omitempty"`
}

// UnmarshalJSON decodes the claim strictly: an unknown member is an
// error, so that a claim a newer minter adds is never silently dropped.
func (r *Rope) UnmarshalJSON(b []byte) error {
	type plain Rope
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p plain
	if err := dec.Decode(&p); err != nil {
		var o ownError
		if errors.As(err, &o) {
			return o
		}
		return own("%w: %w", ErrGrant, err)
	}
	*r = Rope(p)
	return nil
}

// UnmarshalJSON decodes a "calls" entry strictly, as Rope's.
func (m *Methods) UnmarshalJSON(b []byte) error {
	type plain Methods
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p plain
	if err := dec.Decode(&p); err != nil {
		var o ownError
		if errors.As(err, &o) {
			return o
		}
		return own("%w: %w", ErrGrant, err)
	}
	*m = Methods(p)
	return nil
}

// Validate checks the "rope" claim and the claims it needs (jwt calls it
// after the registered claims' checks): it must be present, an operator
// claim must hold nothing else, a participant token must carry "exp" and a
// non-empty "sub", and the claim must keep within its bounds.
func (c *Claims) Validate() error {
	if c.Rope == nil {
		return own("%w: no \"rope\" claim", ErrGrant)
	}
	if len(c.Subject) > MaxNameBytes {
		return own("%w: \"sub\" longer than %d bytes", ErrClaims, MaxNameBytes)
	}
	if c.Rope.Operator {
		if !c.Rope.empty() {
			return own("%w: an operator claim holds nothing but \"operator\"", ErrGrant)
		}
		return nil
	}
	if c.ExpiresAt == nil {
		return own("%w: a participant token needs \"exp\"", ErrClaims)
	}
	if c.Subject == "" {
		// The objects of full-access connections have the owner "": an
		// empty subject would own them all.
		return own("%w: a participant token needs \"sub\"", ErrClaims)
	}
	return c.Rope.check()
}

func (r *Rope) empty() bool {
	return len(r.Roots) == 0 && len(r.Hide) == 0 && len(r.Calls) == 0 && len(r.Quotas) == 0
}

// check keeps the claim within its bounds and its values among the known.
func (r *Rope) check() error {
	if len(r.Roots) > MaxRoots {
		return own("%w: more than %d roots", ErrGrant, MaxRoots)
	}
	for _, id := range r.Roots {
		if err := checkName("root id", id); err != nil {
			return err
		}
	}
	if len(r.Hide) > MaxTypes || len(r.Calls) > MaxTypes || len(r.Quotas) > MaxTypes {
		return own("%w: more than %d types in \"hide\", \"calls\" or \"quotas\"", ErrGrant, MaxTypes)
	}
	for typ, h := range r.Hide {
		if err := checkName("type", typ); err != nil {
			return err
		}
		if h != HideOthers && h != HideAll && h != HideOthersShallow {
			return own("%w: hide %q: %q is not %q, %q or %q", ErrGrant, typ, h, HideOthers, HideAll, HideOthersShallow)
		}
	}
	for typ, m := range r.Calls {
		if err := checkName("type", typ); err != nil {
			return err
		}
		if err := checkMethods(typ, m.Any); err != nil {
			return err
		}
		if err := checkMethods(typ, m.Own); err != nil {
			return err
		}
	}
	for typ, n := range r.Quotas {
		if err := checkName("type", typ); err != nil {
			return err
		}
		if n < 0 {
			return own("%w: quota %q: %d is negative", ErrGrant, typ, n)
		}
	}
	return nil
}

func checkMethods(typ string, names []string) error {
	if len(names) > MaxMethods {
		return own("%w: calls %q: more than %d methods", ErrGrant, typ, MaxMethods)
	}
	for _, n := range names {
		if err := checkName("method", n); err != nil {
			return err
		}
	}
	return nil
}

func checkName(what, s string) error {
	if s == "" || len(s) > MaxNameBytes {
		return own("%w: %s %q: empty or longer than %d bytes", ErrGrant, what, s, MaxNameBytes)
	}
	return nil
}

// Operator returns the claims of an operator token for subject, valid for
// ttl from now (ttl <= 0: no "exp").
func Operator(subject string, ttl time.Duration) *Claims {
	c := &Claims{Rope: &Rope{Operator: true}}
	c.Subject = subject
	stamp(c, time.Now(), ttl)
	return c
}

// stamp sets "iat" to now and, for a positive ttl, "exp" to now + ttl.
func stamp(c *Claims, now time.Time, ttl time.Duration) {
	now = now.Truncate(time.Second)
	c.IssuedAt = jwt.NewNumericDate(now)
	if ttl > 0 {
		c.ExpiresAt = jwt.NewNumericDate(now.Add(ttl))
	}
}
