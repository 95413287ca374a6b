package dtlstransport

import (
	"crypto/sha1" //nolint:gosec // sha-1 fingerprints are part of RFC 4572.
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
)

// Fingerprint is a certificate fingerprint in mediasoup's
// dtlsParameters.fingerprints shape: algorithm "sha-256", value upper-case
// hex bytes separated by colons.
type Fingerprint struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"value"`
}

// Algorithms lists the hash algorithms of the local fingerprints, in
// mediasoup's order.
var Algorithms = []string{"sha-1", "sha-224", "sha-256", "sha-384", "sha-512"}

func newHash(algorithm string) (hash.Hash, error) {
	switch strings.ToLower(algorithm) {
	case "sha-1":
		return sha1.New(), nil //nolint:gosec // RFC 4572.
	case "sha-224":
		return sha256.New224(), nil
	case "sha-256":
		return sha256.New(), nil
	case "sha-384":
		return sha512.New384(), nil
	case "sha-512":
		return sha512.New(), nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnsupportedAlgorithm, algorithm)
}

// FingerprintOf hashes a DER certificate with algorithm.
func FingerprintOf(der []byte, algorithm string) (Fingerprint, error) {
	h, err := newHash(algorithm)
	if err != nil {
		return Fingerprint{}, err
	}
	h.Write(der)
	sum := h.Sum(nil)
	var b strings.Builder
	for i, c := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strings.ToUpper(hex.EncodeToString([]byte{c})))
	}
	return Fingerprint{Algorithm: strings.ToLower(algorithm), Value: b.String()}, nil
}

// Verify checks that der hashes to fp (the value is compared without
// regard to case).
func Verify(der []byte, fp Fingerprint) error {
	got, err := FingerprintOf(der, fp.Algorithm)
	if err != nil {
		return err
	}
	want := strings.ToUpper(strings.TrimSpace(fp.Value))
	if subtle.ConstantTimeCompare([]byte(got.Value), []byte(want)) != 1 {
		return fmt.Errorf("%w: %s %s", ErrFingerprintMismatch, fp.Algorithm, fp.Value)
	}
	return nil
}
