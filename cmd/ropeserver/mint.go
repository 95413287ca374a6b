package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ropehq/rope/ropeauth"
)

const mintUsage = `Usage: ropeserver mint-token [flags]

Prints a signed access token (package ropeauth) for testing: a media-room
participant's (-router or -mafalda-router) or an operator's (-operator).
It signs with -token-secret (HS256) or -private-key (EdDSA, ES256 or RS256
by the key's type); the server verifies with the same -token-secret or the
matching -token-public-key.

`

// mintToken is "ropeserver mint-token": it prints one token on stdout and
// returns the exit code (0, or 2 for bad flags).
func mintToken(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ropeserver mint-token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), mintUsage)
		fs.PrintDefaults()
	}
	router := fs.String("router", "", "participant of the room on this Router id")
	mafaldaRouter := fs.String("mafalda-router", "", "participant of the room on this MafaldaRouter id")
	operator := fs.Bool("operator", false, "an operator token: full access")
	subject := fs.String("subject", "cli", "the token's subject (\"sub\"): owner of what its calls create")
	ttl := fs.Duration("ttl", time.Hour, "how long the token is valid; 0 with -operator: no expiry")
	audience := fs.String("audience", getenv("ROPE_TOKEN_AUDIENCE"), "\"aud\", when the server checks one (env ROPE_TOKEN_AUDIENCE)")
	var keys tokenConfig
	fs.StringVar(&keys.secret, "token-secret", getenv("ROPE_TOKEN_SECRET"), "HMAC secret to sign with (env ROPE_TOKEN_SECRET)")
	fs.StringVar(&keys.secretFile, "token-secret-file", getenv("ROPE_TOKEN_SECRET_FILE"), "file holding the HMAC secret (env ROPE_TOKEN_SECRET_FILE)")
	privateKey := fs.String("private-key", getenv("ROPE_TOKEN_PRIVATE_KEY"), "PEM private key to sign with (env ROPE_TOKEN_PRIVATE_KEY)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	tok, err := mint(&keys, *privateKey, *router, *mafaldaRouter, *operator, *subject, *ttl, *audience)
	if err != nil {
		fmt.Fprintln(stderr, "ropeserver mint-token:", err)
		return 2
	}
	fmt.Fprintln(stdout, tok)
	return 0
}

func mint(keys *tokenConfig, privateKey, router, mafaldaRouter string, operator bool, subject string,
	ttl time.Duration, audience string) (string, error) {
	var c *ropeauth.Claims
	switch {
	case btoi(router != "")+btoi(mafaldaRouter != "")+btoi(operator) != 1:
		return "", errors.New("give one of -router, -mafalda-router and -operator")
	case operator:
		c = ropeauth.Operator(subject, ttl)
	case ttl <= 0:
		return "", errors.New("-ttl: a participant token needs a positive ttl")
	case router != "":
		c = ropeauth.Participant(router, subject, ttl)
	default:
		c = ropeauth.MafaldaParticipant(mafaldaRouter, subject, ttl)
	}
	if audience != "" {
		c.Audience = []string{audience}
	}
	s, err := signerFor(keys, privateKey)
	if err != nil {
		return "", err
	}
	return s.Sign(c)
}

// signerFor is the signer of -token-secret(-file) or -private-key.
func signerFor(keys *tokenConfig, privateKey string) (*ropeauth.Signer, error) {
	if err := keys.load(); err != nil {
		return nil, err
	}
	switch {
	case len(keys.secrets) > 0 && privateKey != "":
		return nil, errors.New("-token-secret and -private-key: give one")
	case len(keys.secrets) > 0:
		return ropeauth.NewHMACSigner(keys.secrets[0])
	case privateKey != "":
		b, err := os.ReadFile(privateKey)
		if err != nil {
			return nil, fmt.Errorf("-private-key: %w", err)
		}
		k, err := ropeauth.ParsePrivateKeyPEM(b)
		if err != nil {
			return nil, fmt.Errorf("-private-key %s: %w", privateKey, err)
		}
		return ropeauth.NewSigner(k)
	default:
		return nil, errors.New("no key: set -token-secret, -token-secret-file or -private-key")
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// isMintCommand says whether args start with the mint-token subcommand.
func isMintCommand(args []string) bool {
	return len(args) > 0 && args[0] == "mint-token"
}
