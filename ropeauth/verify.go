package ropeauth

import (
	"crypto"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultLeeway is the clock skew a Verifier allows on "exp", "nbf" and
// "iat" unless VerifierOptions.Leeway says otherwise.
const DefaultLeeway = 30 * time.Second

// MaxTokenBytes bounds a token's length; a longer one is refused before
// it is decoded.
const MaxTokenBytes = 16 << 10

// VerifierOptions configure a Verifier. At least one key is required.
type VerifierOptions struct {
	// Secrets are HMAC secrets (HS256), each at least MinSecretBytes long.
	// Several let a deployment rotate them.
	Secrets [][]byte
	// PublicKeys verify EdDSA (ed25519.PublicKey), ES256 (*ecdsa.PublicKey
	// on P-256) and RS256 (*rsa.PublicKey, at least MinRSABits) tokens.
	PublicKeys []crypto.PublicKey
	// Audience, when set, must be among a token's "aud". Default: "aud"
	// is not checked.
	Audience string
	// Leeway is the clock skew allowed on "exp", "nbf" and "iat". Default
	// (0) DefaultLeeway; negative: none.
	Leeway time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Verifier checks tokens against its keys and options. It is safe for
// concurrent use.
type Verifier struct {
	// keys are the verification keys by the one algorithm each verifies.
	keys   map[string][]jwt.VerificationKey
	parser *jwt.Parser
	leeway time.Duration
	now    func() time.Time
}

// NewVerifier builds a Verifier; a key unfit for its algorithm is an error
// (ErrKey), as is none at all.
func NewVerifier(opts VerifierOptions) (*Verifier, error) {
	v := &Verifier{keys: map[string][]jwt.VerificationKey{}, leeway: opts.Leeway}
	for _, s := range opts.Secrets {
		if len(s) < MinSecretBytes {
			return nil, fmt.Errorf("%w: an HMAC secret needs at least %d bytes, got %d", ErrKey, MinSecretBytes, len(s))
		}
		alg := jwt.SigningMethodHS256.Alg()
		v.keys[alg] = append(v.keys[alg], slices.Clone(s))
	}
	for _, k := range opts.PublicKeys {
		alg, err := algOf(k)
		if err != nil {
			return nil, err
		}
		v.keys[alg] = append(v.keys[alg], k)
	}
	if len(v.keys) == 0 {
		return nil, fmt.Errorf("%w: a verifier needs a secret or a public key", ErrKey)
	}
	switch {
	case v.leeway == 0:
		v.leeway = DefaultLeeway
	case v.leeway < 0:
		v.leeway = 0
	}
	popts := []jwt.ParserOption{jwt.WithLeeway(v.leeway), jwt.WithIssuedAt(), jwt.WithStrictDecoding()}
	if opts.Audience != "" {
		popts = append(popts, jwt.WithAudience(opts.Audience))
	}
	v.now = time.Now
	if opts.Now != nil {
		v.now = opts.Now
		popts = append(popts, jwt.WithTimeFunc(opts.Now))
	}
	v.parser = jwt.NewParser(popts...)
	return v, nil
}

// Leeway is the clock skew the verifier allows.
func (v *Verifier) Leeway() time.Duration { return v.leeway }

// Verify checks a token's algorithm, signature and claims and returns the
// claims. Its errors wrap one of ErrMalformed, ErrAlgorithm, ErrSignature,
// ErrExpired, ErrNotYetValid, ErrClaims, ErrGrant or ErrNoToken.
func (v *Verifier) Verify(token string) (*Claims, error) {
	if token == "" {
		return nil, ErrNoToken
	}
	if len(token) > MaxTokenBytes {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, MaxTokenBytes)
	}
	c := new(Claims)
	_, err := v.parser.ParseWithClaims(token, c, v.keyFor)
	if err != nil {
		return nil, classify(err)
	}
	return c, nil
}

// keyFor returns the keys of the token's algorithm: this pins the
// algorithm to the key type, so that no token is checked with a key of
// another kind ("none", or HS256 with a public key as the secret).
func (v *Verifier) keyFor(t *jwt.Token) (any, error) {
	if _, ok := t.Header["crit"]; ok {
		return nil, own("%w: \"crit\" header not understood", ErrAlgorithm)
	}
	keys := v.keys[t.Method.Alg()]
	if len(keys) == 0 {
		return nil, own("%w: %q (this server takes %s)", ErrAlgorithm, t.Method.Alg(), v.algorithms())
	}
	return jwt.VerificationKeySet{Keys: keys}, nil
}

// classify maps the jwt library's errors onto the package's sentinels,
// keeping its text as detail.
func classify(err error) error {
	var o ownError
	if errors.As(err, &o) {
		return o
	}
	var sentinel error
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		sentinel = ErrMalformed
	case errors.Is(err, jwt.ErrTokenUnverifiable): // an algorithm jwt does not know
		sentinel = ErrAlgorithm
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		sentinel = ErrSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		sentinel = ErrExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		sentinel = ErrNotYetValid
	default:
		sentinel = ErrClaims
	}
	return fmt.Errorf("%w: %w", sentinel, err)
}

// algorithms lists the algorithms the verifier holds keys for.
func (v *Verifier) algorithms() string {
	algs := make([]string, 0, len(v.keys))
	for alg := range v.keys {
		algs = append(algs, alg)
	}
	slices.Sort(algs)
	return strings.Join(algs, ", ")
}
