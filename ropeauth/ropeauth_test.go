package ropeauth_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/ropehq/rope/ropeauth"
	"github.com/ropehq/rope/ropeserver"
)

var secret = []byte("0123456789abcdef0123456789abcdef") // 32 bytes

// keys are generated once: RSA takes a while.
var keys = sync.OnceValue(func() (k struct {
	ed  ed25519.PrivateKey
	ec  *ecdsa.PrivateKey
	rsa *rsa.PrivateKey
}) {
	_, k.ed, _ = ed25519.GenerateKey(rand.Reader)
	k.ec, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k.rsa, _ = rsa.GenerateKey(rand.Reader, 2048)
	return k
})

func mustSigner(s *ropeauth.Signer, err error) *ropeauth.Signer {
	if err != nil {
		panic(err)
	}
	return s
}

func mustVerifier(t testing.TB, opts ropeauth.VerifierOptions) *ropeauth.Verifier {
	t.Helper()
	v, err := ropeauth.NewVerifier(opts)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func sign(t testing.TB, s *ropeauth.Signer, c *ropeauth.Claims) string {
	t.Helper()
	tok, err := s.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestRoundTrip mints a participant token with each algorithm and checks
// that the verifier holding the matching key returns its grant.
func TestRoundTrip(t *testing.T) {
	k := keys()
	cases := []struct {
		name   string
		signer func() (*ropeauth.Signer, error)
		opts   ropeauth.VerifierOptions
		alg    string
	}{
		{"HS256", func() (*ropeauth.Signer, error) { return ropeauth.NewHMACSigner(secret) },
			ropeauth.VerifierOptions{Secrets: [][]byte{secret}}, "HS256"},
		{"EdDSA", func() (*ropeauth.Signer, error) { return ropeauth.NewSigner(k.ed) },
			ropeauth.VerifierOptions{PublicKeys: []crypto.PublicKey{k.ed.Public()}}, "EdDSA"},
		{"ES256", func() (*ropeauth.Signer, error) { return ropeauth.NewSigner(k.ec) },
			ropeauth.VerifierOptions{PublicKeys: []crypto.PublicKey{k.ec.Public()}}, "ES256"},
		{"RS256", func() (*ropeauth.Signer, error) { return ropeauth.NewSigner(k.rsa) },
			ropeauth.VerifierOptions{PublicKeys: []crypto.PublicKey{k.rsa.Public()}}, "RS256"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mustSigner(tc.signer())
			if s.Algorithm() != tc.alg {
				t.Fatalf("algorithm %s, want %s", s.Algorithm(), tc.alg)
			}
			c := ropeauth.Participant("router-1", "alice", time.Hour)
			tok := sign(t, s, c)
			v := mustVerifier(t, tc.opts)
			got, err := v.Verify(tok)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.Rope, got.Rope); diff != "" {
				t.Fatalf("rope claim changed (-minted +verified):\n%s", diff)
			}
			g := got.Grant(v.Leeway())
			if g.Subject != "alice" || len(g.Roots) != 1 || g.Roots[0] != "router-1" {
				t.Fatalf("grant %+v", g)
			}
			if want := c.ExpiresAt.Add(ropeauth.DefaultLeeway); !g.Expires.Equal(want) {
				t.Fatalf("expires %v, want exp + leeway %v", g.Expires, want)
			}
			if g.Hide["WebRtcTransport"] != ropeserver.HideOthersShallow || g.Quotas["WebRtcTransport"] != ropeauth.ParticipantTransports {
				t.Fatalf("grant hide %v quotas %v", g.Hide, g.Quotas)
			}
		})
	}
}

// TestVerifierHoldsSeveralKeys: one verifier takes tokens of each of its
// keys (rotation, or HMAC and public keys together) and pins each
// algorithm to its key type.
func TestVerifierHoldsSeveralKeys(t *testing.T) {
	k := keys()
	other := []byte("another secret of at least 32 bytes!")
	v := mustVerifier(t, ropeauth.VerifierOptions{Secrets: [][]byte{secret, other},
		PublicKeys: []crypto.PublicKey{k.ed.Public(), k.ec.Public()}})
	for _, s := range []*ropeauth.Signer{
		mustSigner(ropeauth.NewHMACSigner(secret)), mustSigner(ropeauth.NewHMACSigner(other)),
		mustSigner(ropeauth.NewSigner(k.ed)), mustSigner(ropeauth.NewSigner(k.ec)),
	} {
		if _, err := v.Verify(sign(t, s, ropeauth.Participant("r", "bob", time.Minute))); err != nil {
			t.Fatalf("%s: %v", s.Algorithm(), err)
		}
	}
	// RS256 holds no key here.
	_, err := v.Verify(sign(t, mustSigner(ropeauth.NewSigner(k.rsa)), ropeauth.Participant("r", "bob", time.Minute)))
	if !errors.Is(err, ropeauth.ErrAlgorithm) {
		t.Fatalf("RS256 without an RSA key: %v, want ErrAlgorithm", err)
	}
}

// raw builds a compact JWS from any header and claims, signed by sig.
func raw(header, claims any, sig func(input string) []byte) string {
	enc := func(v any) string {
		b, ok := v.([]byte)
		if !ok {
			b, _ = json.Marshal(v)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := enc(header) + "." + enc(claims)
	var s []byte
	if sig != nil {
		s = sig(input)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(s)
}

func hs256(key []byte) func(string) []byte {
	return func(in string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(in))
		return m.Sum(nil)
	}
}

func participantClaims(exp time.Time) map[string]any {
	return map[string]any{"sub": "mallory", "exp": exp.Unix(), "iat": time.Now().Unix(),
		"rope": map[string]any{"roots": []string{"r"}}}
}

// TestRefused lists the tokens a verifier must refuse, each with the
// error it names.
func TestRefused(t *testing.T) {
	k := keys()
	pubPEM, err := ropeauth.MarshalPublicKeyPEM(k.ed.Public())
	if err != nil {
		t.Fatal(err)
	}
	rsaPEM, _ := ropeauth.MarshalPublicKeyPEM(k.rsa.Public())
	hmacV := mustVerifier(t, ropeauth.VerifierOptions{Secrets: [][]byte{secret}})
	edV := mustVerifier(t, ropeauth.VerifierOptions{PublicKeys: []crypto.PublicKey{k.ed.Public()}})
	rsaV := mustVerifier(t, ropeauth.VerifierOptions{PublicKeys: []crypto.PublicKey{k.rsa.Public()}})
	audV := mustVerifier(t, ropeauth.VerifierOptions{Secrets: [][]byte{secret}, Audience: "rope-prod"})
	hs := mustSigner(ropeauth.NewHMACSigner(secret))
	ed := mustSigner(ropeauth.NewSigner(k.ed))
	future := time.Now().Add(time.Hour)
	good := participantClaims(future)
	with := func(f func(map[string]any)) map[string]any {
		b, _ := json.Marshal(good)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		f(m)
		return m
	}
	hsHeader := map[string]any{"alg": "HS256", "typ": "JWT"}

	cases := []struct {
		name  string
		v     *ropeauth.Verifier
		token string
		want  error
	}{
		{"empty", hmacV, "", ropeauth.ErrNoToken},
		{"garbage", hmacV, "not a token", ropeauth.ErrMalformed},
		{"two segments", hmacV, "eyJhbGciOiJIUzI1NiJ9.e30", ropeauth.ErrMalformed},
		{"too long", hmacV, strings.Repeat("a", ropeauth.MaxTokenBytes+1), ropeauth.ErrMalformed},
		{"claims not JSON", hmacV, raw(hsHeader, []byte("{"), hs256(secret)), ropeauth.ErrMalformed},
		{"alg none", hmacV, raw(map[string]any{"alg": "none"}, good, nil), ropeauth.ErrAlgorithm},
		{"alg none, ed verifier", edV, raw(map[string]any{"alg": "none"}, good, nil), ropeauth.ErrAlgorithm},
		{"alg unknown", hmacV, raw(map[string]any{"alg": "HS1024"}, good, hs256(secret)), ropeauth.ErrAlgorithm},
		// The classic confusion: HMAC keyed with the server's public key.
		{"HS256 keyed with the Ed25519 public key", edV, raw(hsHeader, good, hs256(pubPEM)), ropeauth.ErrAlgorithm},
		{"HS256 keyed with the RSA public key", rsaV, raw(hsHeader, good, hs256(rsaPEM)), ropeauth.ErrAlgorithm},
		{"EdDSA token, HMAC verifier", hmacV, sign(t, ed, ropeauth.Participant("r", "a", time.Hour)), ropeauth.ErrAlgorithm},
		{"HS256 token, Ed25519 verifier", edV, sign(t, hs, ropeauth.Participant("r", "a", time.Hour)), ropeauth.ErrAlgorithm},
		{"crit header", hmacV, raw(map[string]any{"alg": "HS256", "crit": []string{"exp"}}, good, hs256(secret)), ropeauth.ErrAlgorithm},
		{"wrong secret", hmacV, raw(hsHeader, good, hs256([]byte("a different secret of 32 bytes..."))), ropeauth.ErrSignature},
		{"claims changed after signing", hmacV, tamper(sign(t, hs, ropeauth.Participant("r", "a", time.Hour))), ropeauth.ErrSignature},
		{"signature cut", hmacV, cut(sign(t, hs, ropeauth.Participant("r", "a", time.Hour))), ropeauth.ErrSignature},
		{"EdDSA by another key", edV, sign(t, mustSigner(ropeauth.NewSigner(otherEd())), ropeauth.Participant("r", "a", time.Hour)), ropeauth.ErrSignature},
		{"expired", hmacV, raw(hsHeader, participantClaims(time.Now().Add(-time.Hour)), hs256(secret)), ropeauth.ErrExpired},
		{"not before in the future", hmacV, raw(hsHeader, with(func(m map[string]any) { m["nbf"] = future.Unix() }), hs256(secret)), ropeauth.ErrNotYetValid},
		{"issued in the future", hmacV, raw(hsHeader, with(func(m map[string]any) { m["iat"] = future.Unix() }), hs256(secret)), ropeauth.ErrNotYetValid},
		{"participant without sub", hmacV, raw(hsHeader, with(func(m map[string]any) { delete(m, "sub") }), hs256(secret)), ropeauth.ErrClaims},
		{"participant without exp", hmacV, raw(hsHeader, with(func(m map[string]any) { delete(m, "exp") }), hs256(secret)), ropeauth.ErrClaims},
		{"exp not a number", hmacV, raw(hsHeader, with(func(m map[string]any) { m["exp"] = "soon" }), hs256(secret)), ropeauth.ErrMalformed},
		{"wrong audience", audV, raw(hsHeader, with(func(m map[string]any) { m["aud"] = "rope-test" }), hs256(secret)), ropeauth.ErrClaims},
		{"no audience", audV, raw(hsHeader, good, hs256(secret)), ropeauth.ErrClaims},
		{"no rope claim", hmacV, raw(hsHeader, with(func(m map[string]any) { delete(m, "rope") }), hs256(secret)), ropeauth.ErrGrant},
		{"rope claim null", hmacV, raw(hsHeader, with(func(m map[string]any) { m["rope"] = nil }), hs256(secret)), ropeauth.ErrGrant},
		{"unknown rope member", hmacV, raw(hsHeader, with(func(m map[string]any) { m["rope"].(map[string]any)["admin"] = true }), hs256(secret)), ropeauth.ErrGrant},
		{"unknown calls member", hmacV, raw(hsHeader, with(func(m map[string]any) {
			m["rope"].(map[string]any)["calls"] = map[string]any{"Router": map[string]any{"every": []string{"*"}}}
		}), hs256(secret)), ropeauth.ErrGrant},
		{"operator with roots", hmacV, raw(hsHeader, with(func(m map[string]any) {
			m["rope"] = map[string]any{"operator": true, "roots": []string{"r"}}
		}), hs256(secret)), ropeauth.ErrGrant},
		{"bad hide value", hmacV, raw(hsHeader, with(func(m map[string]any) {
			m["rope"].(map[string]any)["hide"] = map[string]any{"Producer": "some"}
		}), hs256(secret)), ropeauth.ErrGrant},
		{"negative quota", hmacV, raw(hsHeader, with(func(m map[string]any) {
			m["rope"].(map[string]any)["quotas"] = map[string]any{"Producer": -1}
		}), hs256(secret)), ropeauth.ErrGrant},
		{"empty root id", hmacV, raw(hsHeader, with(func(m map[string]any) {
			m["rope"].(map[string]any)["roots"] = []string{""}
		}), hs256(secret)), ropeauth.ErrGrant},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.v.Verify(tc.token)
			t.Log(err)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify: claims %+v, err %v; want %v", c, err, tc.want)
			}
			if c != nil {
				t.Fatal("claims returned with an error")
			}
			// The Authorizer refuses it too, with the same error.
			if _, err := (&ropeauth.Authorizer{Verifier: tc.v}).Authorize(httptest.NewRequest("GET", "/", nil), tc.token); !errors.Is(err, tc.want) {
				t.Fatalf("Authorize: %v, want %v", err, tc.want)
			}
		})
	}
}

func otherEd() ed25519.PrivateKey {
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	return k
}

// tamper rewrites the claims segment ("sub" becomes "root") keeping the
// signature.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	m["sub"] = "root"
	b, _ = json.Marshal(m)
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

func cut(tok string) string { return tok[:strings.LastIndexByte(tok, '.')+1] }

// TestLeeway: a token past "exp" by less than the leeway still passes,
// with a grant expiring at exp + leeway; a verifier with no leeway
// refuses it.
func TestLeeway(t *testing.T) {
	s := mustSigner(ropeauth.NewHMACSigner(secret))
	c := ropeauth.Participant("r", "carol", time.Minute)
	now := c.ExpiresAt.Add(10 * time.Second)
	clock := func() time.Time { return now }
	tok := sign(t, s, c)
	v := mustVerifier(t, ropeauth.VerifierOptions{Secrets: [][]byte{secret}, Now: clock})
	g, err := v.Authorize(httptest.NewRequest("GET", "/", nil), tok)
	if err != nil {
		t.Fatal(err)
	}
	if want := c.ExpiresAt.Add(ropeauth.DefaultLeeway); !g.Expires.Equal(want) {
		t.Fatalf("expires %v, want %v", g.Expires, want)
	}
	strict := mustVerifier(t, ropeauth.VerifierOptions{Secrets: [][]byte{secret}, Now: clock, Leeway: -1})
	if _, err := strict.Verify(tok); !errors.Is(err, ropeauth.ErrExpired) {
		t.Fatalf("no leeway: %v, want ErrExpired", err)
	}
	if strict.Leeway() != 0 {
		t.Fatalf("leeway %v, want 0", strict.Leeway())
	}
}

// TestAuthorizer: the shared operator token and an operator JWT give full
// access (a nil grant); a participant JWT its grant; nothing, or a wrong
// token, is refused.
func TestAuthorizer(t *testing.T) {
	s := mustSigner(ropeauth.NewHMACSigner(secret))
	var refused []error
	a := &ropeauth.Authorizer{
		Verifier:      mustVerifier(t, ropeauth.VerifierOptions{Secrets: [][]byte{secret}}),
		OperatorToken: "shared-operator-token",
		OnRefuse:      func(_ *http.Request, err error) { refused = append(refused, err) },
	}
	r := httptest.NewRequest("GET", "/", nil)
	for _, tok := range []string{"shared-operator-token", sign(t, s, ropeauth.Operator("ops", 0)), sign(t, s, ropeauth.Operator("ops", time.Hour))} {
		g, err := a.Authorize(r, tok)
		if err != nil || g != nil {
			t.Fatalf("operator %.20s…: grant %+v, err %v; want full access", tok, g, err)
		}
	}
	g, err := a.Authorize(r, sign(t, s, ropeauth.Participant("room", "dave", time.Hour)))
	if err != nil || g == nil || g.Subject != "dave" {
		t.Fatalf("participant: grant %+v, err %v", g, err)
	}
	if _, err := a.Authorize(r, ""); !errors.Is(err, ropeauth.ErrNoToken) {
		t.Fatalf("no token: %v", err)
	}
	if _, err := a.Authorize(r, "shared-operator-tokeN"); err == nil {
		t.Fatal("a near miss of the operator token passed")
	}
	if len(refused) != 2 {
		t.Fatalf("OnRefuse told %d refusals, want 2: %v", len(refused), refused)
	}
	// Without a verifier only the operator token passes.
	if _, err := (&ropeauth.Authorizer{OperatorToken: "x"}).Authorize(r, sign(t, s, ropeauth.Operator("ops", 0))); err == nil {
		t.Fatal("a JWT passed an authorizer without a verifier")
	}
}

// TestParticipantCallsNeedNaming: a participant claim without "calls"
// allows no method (not every one, as a nil ropeserver.Grant.Calls).
func TestParticipantCallsNeedNaming(t *testing.T) {
	c := &ropeauth.Claims{Rope: &ropeauth.Rope{Roots: []string{"r"}}}
	c.Subject = "s"
	c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(time.Hour))
	g := c.Grant(0)
	if g.Calls == nil || len(g.Calls) != 0 {
		t.Fatalf("calls %#v, want empty and not nil", g.Calls)
	}
}

// TestSignRefusesInvalidClaims: no token is minted that verification
// would refuse for its claims.
func TestSignRefusesInvalidClaims(t *testing.T) {
	s := mustSigner(ropeauth.NewHMACSigner(secret))
	for name, c := range map[string]*ropeauth.Claims{
		"no sub":  ropeauth.Participant("r", "", time.Hour),
		"no exp":  ropeauth.Participant("r", "a", 0),
		"no rope": {},
	} {
		if tok, err := s.Sign(c); err == nil {
			t.Errorf("%s: minted %s", name, tok)
		}
	}
}

// TestKeys: keys too weak or of other kinds are refused; PEM round trips.
func TestKeys(t *testing.T) {
	k := keys()
	if _, err := ropeauth.NewHMACSigner(secret[:31]); !errors.Is(err, ropeauth.ErrKey) {
		t.Fatalf("31-byte secret: %v", err)
	}
	if _, err := ropeauth.NewVerifier(ropeauth.VerifierOptions{Secrets: [][]byte{secret[:31]}}); !errors.Is(err, ropeauth.ErrKey) {
		t.Fatalf("31-byte secret: %v", err)
	}
	if _, err := ropeauth.NewVerifier(ropeauth.VerifierOptions{}); !errors.Is(err, ropeauth.ErrKey) {
		t.Fatalf("no key: %v", err)
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ropeauth.NewSigner(small); !errors.Is(err, ropeauth.ErrKey) {
		t.Fatalf("RSA 1024: %v", err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := ropeauth.NewVerifier(ropeauth.VerifierOptions{PublicKeys: []crypto.PublicKey{p384.Public()}}); !errors.Is(err, ropeauth.ErrKey) {
		t.Fatalf("P-384: %v", err)
	}
	for _, priv := range []crypto.Signer{k.ed, k.ec, k.rsa} {
		privPEM, err := ropeauth.MarshalPrivateKeyPEM(priv)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ropeauth.ParsePrivateKeyPEM(privPEM)
		if err != nil {
			t.Fatal(err)
		}
		pubPEM, _ := ropeauth.MarshalPublicKeyPEM(priv.Public())
		pubs, err := ropeauth.ParsePublicKeyPEM(pubPEM)
		if err != nil || len(pubs) != 1 {
			t.Fatalf("public PEM: %v %v", pubs, err)
		}
		tok := sign(t, mustSigner(ropeauth.NewSigner(back)), ropeauth.Participant("r", "e", time.Hour))
		if _, err := mustVerifier(t, ropeauth.VerifierOptions{PublicKeys: pubs}).Verify(tok); err != nil {
			t.Fatalf("%T through PEM: %v", priv, err)
		}
	}
	if _, err := ropeauth.ParsePublicKeyPEM([]byte("no pem here")); !errors.Is(err, ropeauth.ErrKey) {
		t.Fatalf("no PEM: %v", err)
	}
	privPEM, _ := ropeauth.MarshalPrivateKeyPEM(k.ed)
	if _, err := ropeauth.ParsePublicKeyPEM(privPEM); !errors.Is(err, ropeauth.ErrKey) {
		t.Fatalf("a private key as public: %v", err)
	}
}
