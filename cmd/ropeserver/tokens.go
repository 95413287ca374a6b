package main

import (
	"crypto"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/ropehq/rope/ropeauth"
	"github.com/ropehq/rope/ropeserver"
)

// tokenConfig is the signed access tokens part of the configuration
// (package ropeauth): the keys that verify them and how.
type tokenConfig struct {
	secret        string
	secretFile    string
	publicKeyFile string
	audience      string
	leeway        time.Duration

	// Read by load from the flags.
	secrets    [][]byte
	publicKeys []crypto.PublicKey
}

func (t *tokenConfig) flags(fs *flag.FlagSet, getenv func(string) string) error {
	fs.StringVar(&t.secret, "token-secret", getenv("ROPE_TOKEN_SECRET"),
		"HMAC secret (at least 32 bytes) that verifies signed access tokens (HS256); see ropeauth (env ROPE_TOKEN_SECRET)")
	fs.StringVar(&t.secretFile, "token-secret-file", getenv("ROPE_TOKEN_SECRET_FILE"),
		"file holding -token-secret (a trailing newline is dropped) (env ROPE_TOKEN_SECRET_FILE)")
	fs.StringVar(&t.publicKeyFile, "token-public-key", getenv("ROPE_TOKEN_PUBLIC_KEY"),
		"PEM file of public keys (Ed25519, ECDSA P-256 or RSA) that verify signed access tokens (EdDSA, ES256, RS256) (env ROPE_TOKEN_PUBLIC_KEY)")
	fs.StringVar(&t.audience, "token-audience", getenv("ROPE_TOKEN_AUDIENCE"),
		"when set, signed tokens must carry it in \"aud\" (env ROPE_TOKEN_AUDIENCE)")
	leeway, err := time.ParseDuration(envOr(getenv, "ROPE_TOKEN_LEEWAY", ropeauth.DefaultLeeway.String()))
	if err != nil {
		return fmt.Errorf("ROPE_TOKEN_LEEWAY: %w", err)
	}
	fs.DurationVar(&t.leeway, "token-leeway", leeway,
		"clock skew allowed on a signed token's exp, nbf and iat; 0: none (env ROPE_TOKEN_LEEWAY)")
	return nil
}

// load reads the secret and the public keys the flags name, and checks
// them.
func (t *tokenConfig) load() error {
	if t.secret != "" && t.secretFile != "" {
		return errors.New("-token-secret and -token-secret-file: give one")
	}
	secret := t.secret
	if t.secretFile != "" {
		b, err := os.ReadFile(t.secretFile)
		if err != nil {
			return fmt.Errorf("-token-secret-file: %w", err)
		}
		secret = strings.TrimRight(string(b), "\r\n")
	}
	if secret != "" {
		if len(secret) < ropeauth.MinSecretBytes {
			return fmt.Errorf("-token-secret: %d bytes, want at least %d", len(secret), ropeauth.MinSecretBytes)
		}
		t.secrets = [][]byte{[]byte(secret)}
	}
	if t.publicKeyFile != "" {
		b, err := os.ReadFile(t.publicKeyFile)
		if err != nil {
			return fmt.Errorf("-token-public-key: %w", err)
		}
		if t.publicKeys, err = ropeauth.ParsePublicKeyPEM(b); err != nil {
			return fmt.Errorf("-token-public-key %s: %w", t.publicKeyFile, err)
		}
	}
	return nil
}

// signed says whether the server verifies signed access tokens.
func (t *tokenConfig) signed() bool { return len(t.secrets) > 0 || len(t.publicKeys) > 0 }

// serverAuth is how the server decides handshakes when it verifies
// signed tokens, and the tokens its own parts present: the demo's
// connection to this server, the participant tokens the demo mints, and
// the cluster endpoint's connections to the servers.
type serverAuth struct {
	authorizer *ropeauth.Authorizer
	// self is an operator token for this server's own connections, signed
	// with a secret made at start that never leaves the process.
	self string
	// minter signs the demo's participant tokens: -token-secret, else the
	// start-time secret (its tokens do not survive a restart).
	minter *ropeauth.Signer
	// members is what the cluster endpoint presents to the servers: -token,
	// else an operator token signed with -token-secret, else none.
	members string
	// aud is -token-audience.
	aud string
}

// newServerAuth builds the server's token checks, or returns nil when
// it verifies no signed token (only -token, or nothing, as before).
func newServerAuth(cfg config, log *slog.Logger) (*serverAuth, error) {
	t := cfg.tokens
	if !t.signed() {
		return nil, nil
	}
	own := make([]byte, ropeauth.MinSecretBytes)
	if _, err := rand.Read(own); err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	leeway := t.leeway
	if leeway == 0 {
		leeway = -1 // ropeauth: negative is none
	}
	v, err := ropeauth.NewVerifier(ropeauth.VerifierOptions{
		Secrets: append([][]byte{own}, t.secrets...), PublicKeys: t.publicKeys,
		Audience: t.audience, Leeway: leeway,
	})
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	a := &serverAuth{aud: t.audience, authorizer: &ropeauth.Authorizer{Verifier: v, OperatorToken: cfg.token,
		OnRefuse: func(r *http.Request, err error) {
			log.Info("ropeserver: token refused", "remote", r.RemoteAddr, "err", err)
		}}}
	ownSigner, err := ropeauth.NewHMACSigner(own)
	if err != nil {
		return nil, err
	}
	if a.self, err = ownSigner.Sign(a.audienced(ropeauth.Operator("ropeserver", 0))); err != nil {
		return nil, err
	}
	a.minter = ownSigner
	a.members = cfg.token
	if len(t.secrets) > 0 {
		if a.minter, err = ropeauth.NewHMACSigner(t.secrets[0]); err != nil {
			return nil, err
		}
		if a.members == "" {
			if a.members, err = a.minter.Sign(a.audienced(ropeauth.Operator("cluster-endpoint", 0))); err != nil {
				return nil, err
			}
		}
	}
	return a, nil
}

// audienced sets "aud" to -token-audience, when set, so that this
// server's own tokens pass its verifier.
func (a *serverAuth) audienced(c *ropeauth.Claims) *ropeauth.Claims {
	if a.aud != "" {
		c.Audience = []string{a.aud}
	}
	return c
}

// apply sets the server's handshake check.
func (a *serverAuth) apply(o *ropeserver.Options) {
	o.Token = ""
	o.Authorize = a.authorizer.Authorize
}
