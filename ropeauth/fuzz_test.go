package ropeauth_test

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ropehq/rope/ropeauth"
)

// FuzzVerify feeds the parse path any string: it must never panic, and
// whatever it accepts must carry a genuine signature (re-signing the
// first two segments gives the same bytes) and a valid rope claim.
// `go test -fuzz FuzzVerify ./ropeauth/` runs it open-ended.
func FuzzVerify(f *testing.F) {
	s := mustSigner(ropeauth.NewHMACSigner(secret))
	ed := mustSigner(ropeauth.NewSigner(keys().ed))
	for _, c := range []*ropeauth.Claims{
		ropeauth.Participant("router", "alice", time.Hour),
		ropeauth.MafaldaParticipant("mr", "bob", time.Hour),
		ropeauth.Operator("ops", 0),
	} {
		for _, sg := range []*ropeauth.Signer{s, ed} {
			tok, err := sg.Sign(c)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(tok)
		}
	}
	f.Add(raw(map[string]any{"alg": "none"}, participantClaims(time.Now().Add(time.Hour)), nil))
	f.Add(raw(map[string]any{"alg": "HS256"}, []byte(`{"rope":{"roots":[""]},"exp":1e30}`), hs256(secret)))
	f.Add("..")
	f.Add("a.b.c.d")
	v := mustVerifier(f, ropeauth.VerifierOptions{Secrets: [][]byte{secret}, PublicKeys: []crypto.PublicKey{keys().ed.Public()}})
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := v.Verify(tok)
		if err != nil {
			if c != nil {
				t.Fatal("claims with an error")
			}
			return
		}
		if c.Rope == nil || c.Validate() != nil {
			t.Fatalf("accepted claims that do not validate: %+v", c)
		}
		parts := strings.Split(tok, ".")
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		if err != nil {
			t.Fatalf("accepted a signature that does not decode: %v", err)
		}
		if len(sig) == 32 && !bytes.Equal(sig, hs256(secret)(parts[0]+"."+parts[1])) {
			t.Fatalf("accepted an HS256 token whose signature is not the secret's: %q", tok)
		}
		_ = c.Grant(v.Leeway())
	})
}

// FuzzRopeClaim decodes any "rope" claim: it must never panic; a claim
// that decodes and validates converts to a grant, and encodes back to the
// same claim.
func FuzzRopeClaim(f *testing.F) {
	for _, c := range []*ropeauth.Claims{
		ropeauth.Participant("router", "alice", time.Hour), ropeauth.Operator("ops", 0),
	} {
		b, _ := json.Marshal(c.Rope)
		f.Add(b)
	}
	f.Add([]byte(`{"hide":{"X":"all"},"calls":{"X":{"any":["*"]}},"quotas":{"X":0}}`))
	f.Add([]byte(`{"roots":[],"calls":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r ropeauth.Rope
		if json.Unmarshal(b, &r) != nil {
			return
		}
		c := &ropeauth.Claims{Rope: &r}
		c.ExpiresAt = ropeauth.Participant("x", "y", time.Hour).ExpiresAt
		if c.Validate() != nil {
			return
		}
		_ = c.Grant(0)
		again, err := json.Marshal(&r)
		if err != nil {
			t.Fatal(err)
		}
		var back ropeauth.Rope
		if err := json.Unmarshal(again, &back); err != nil {
			t.Fatalf("re-encoded claim %s does not decode: %v", again, err)
		}
		if diff := cmp.Diff(normal(r), normal(back)); diff != "" {
			t.Fatalf("round trip changed the claim:\n%s", diff)
		}
	})
}

// normal drops the difference between empty and absent, which JSON's
// omitempty does not keep.
func normal(r ropeauth.Rope) ropeauth.Rope {
	if len(r.Roots) == 0 {
		r.Roots = nil
	}
	if len(r.Hide) == 0 {
		r.Hide = nil
	}
	if len(r.Quotas) == 0 {
		r.Quotas = nil
	}
	if len(r.Calls) == 0 {
		r.Calls = nil
	}
	for k, m := range r.Calls {
		if len(m.Any) == 0 {
			m.Any = nil
		}
		if len(m.Own) == 0 {
			m.Own = nil
		}
		r.Calls[k] = m
	}
	return r
}
