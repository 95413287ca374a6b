package ropeauth

import (
	"errors"
	"fmt"
)

// Errors of Verify (each wrapped with the detail) and of the key and
// signer constructors.
var (
	// ErrMalformed: the token is not a well-formed JWT (segments, base64,
	// JSON), or is longer than MaxTokenBytes.
	ErrMalformed = errors.New("ropeauth: malformed token")
	// ErrAlgorithm: the header names an algorithm this verifier holds no
	// key for ("none" included), or carries "crit".
	ErrAlgorithm = errors.New("ropeauth: algorithm not accepted")
	// ErrSignature: no key of the verifier verifies the signature.
	ErrSignature = errors.New("ropeauth: signature invalid")
	// ErrExpired: "exp" is past (beyond the leeway).
	ErrExpired = errors.New("ropeauth: token expired")
	// ErrNotYetValid: "nbf" or "iat" is in the future (beyond the leeway).
	ErrNotYetValid = errors.New("ropeauth: token not valid yet")
	// ErrClaims: a registered claim is missing or wrong (no "exp" on a
	// participant token, another audience, ...).
	ErrClaims = errors.New("ropeauth: invalid claims")
	// ErrGrant: the "rope" claim is missing or does not describe a grant
	// (an unknown member, a bad "hide" value, a negative quota, ...).
	ErrGrant = errors.New("ropeauth: invalid rope claim")
	// ErrNoToken: a connection presented no token.
	ErrNoToken = errors.New("ropeauth: no token presented")
	// ErrKey: a key unfit for signing or verifying (an HMAC secret under 32
	// bytes, RSA under 2048 bits, an ECDSA curve other than P-256, a type
	// the package does not know, a PEM block it cannot read).
	ErrKey = errors.New("ropeauth: unusable key")
)

// ownError marks an error of this package that jwt wrapped (from a claims
// decoder, Validate or the key function), so that Verify returns it
// without jwt's words around it.
type ownError struct{ error }

func (e ownError) Unwrap() error { return e.error }

func own(format string, args ...any) error { return ownError{fmt.Errorf(format, args...)} }
