package ropeauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// Key sizes the package accepts.
const (
	MinSecretBytes = 32
	MinRSABits     = 2048
)

// Signer mints tokens with one key; the key decides the algorithm.
type Signer struct {
	method jwt.SigningMethod
	key    any
}

// NewHMACSigner signs with HS256 and secret, at least MinSecretBytes long.
func NewHMACSigner(secret []byte) (*Signer, error) {
	if len(secret) < MinSecretBytes {
		return nil, fmt.Errorf("%w: an HMAC secret needs at least %d bytes, got %d", ErrKey, MinSecretBytes, len(secret))
	}
	return &Signer{method: jwt.SigningMethodHS256, key: append([]byte(nil), secret...)}, nil
}

// NewSigner signs with a private key: ed25519.PrivateKey (EdDSA),
// *ecdsa.PrivateKey on P-256 (ES256) or *rsa.PrivateKey of at least
// MinRSABits (RS256).
func NewSigner(key crypto.Signer) (*Signer, error) {
	alg, err := algOf(key.Public())
	if err != nil {
		return nil, err
	}
	return &Signer{method: jwt.GetSigningMethod(alg), key: key}, nil
}

// Algorithm is the "alg" the signer's tokens carry.
func (s *Signer) Algorithm() string { return s.method.Alg() }

// Sign returns the signed, compact token of c, which must pass
// Claims.Validate: no token is minted that a Verifier would refuse for
// its claims alone.
func (s *Signer) Sign(c *Claims) (string, error) {
	if err := c.Validate(); err != nil {
		return "", fmt.Errorf("ropeauth: sign: %w", err)
	}
	tok, err := jwt.NewWithClaims(s.method, c).SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("ropeauth: sign: %w", err)
	}
	return tok, nil
}

// algOf is the one algorithm a public key verifies.
func algOf(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "", fmt.Errorf("%w: ed25519 key of %d bytes", ErrKey, len(k))
		}
		return jwt.SigningMethodEdDSA.Alg(), nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return "", fmt.Errorf("%w: ECDSA on %s, want P-256 (ES256)", ErrKey, k.Curve.Params().Name)
		}
		return jwt.SigningMethodES256.Alg(), nil
	case *rsa.PublicKey:
		if k.N.BitLen() < MinRSABits {
			return "", fmt.Errorf("%w: RSA key of %d bits, want at least %d", ErrKey, k.N.BitLen(), MinRSABits)
		}
		return jwt.SigningMethodRS256.Alg(), nil
	default:
		return "", fmt.Errorf("%w: %T is not an Ed25519, ECDSA P-256 or RSA key", ErrKey, pub)
	}
}

// ParsePublicKeyPEM reads the public keys in PEM data: "PUBLIC KEY"
// blocks (PKIX) and "CERTIFICATE" blocks (the certificate's key). Other
// blocks are an error, as is data with no key.
func ParsePublicKeyPEM(data []byte) ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		k, err := publicKeyOf(b)
		if err != nil {
			return nil, err
		}
		if _, err := algOf(k); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no PEM public key found", ErrKey)
	}
	return keys, nil
}

func publicKeyOf(b *pem.Block) (crypto.PublicKey, error) {
	switch b.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrKey, err)
		}
		return k, nil
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrKey, err)
		}
		return c.PublicKey, nil
	default:
		return nil, fmt.Errorf("%w: PEM block %q: want PUBLIC KEY or CERTIFICATE", ErrKey, b.Type)
	}
}

// ParsePrivateKeyPEM reads the first private key in PEM data: "PRIVATE
// KEY" (PKCS #8), "EC PRIVATE KEY" or "RSA PRIVATE KEY".
func ParsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("%w: no PEM block found", ErrKey)
	}
	var k any
	var err error
	switch b.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	default:
		return nil, fmt.Errorf("%w: PEM block %q: want a private key", ErrKey, b.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: %T cannot sign", ErrKey, k)
	}
	if _, err := algOf(s.Public()); err != nil {
		return nil, err
	}
	return s, nil
}

// MarshalPublicKeyPEM encodes a public key as a "PUBLIC KEY" PEM block,
// the form ParsePublicKeyPEM and the server's -token-public-key read.
func MarshalPublicKeyPEM(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// MarshalPrivateKeyPEM encodes a private key as a "PRIVATE KEY" (PKCS #8)
// PEM block, the form ParsePrivateKeyPEM reads.
func MarshalPrivateKeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
