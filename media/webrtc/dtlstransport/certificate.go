package dtlstransport

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"
)

// Certificate is a local DTLS certificate with its fingerprints.
type Certificate struct {
	TLS          tls.Certificate
	Fingerprints []Fingerprint
}

// certificateValidity is how long a generated certificate is valid.
const certificateValidity = 365 * 24 * time.Hour

// GenerateCertificate makes a self-signed ECDSA P-256 certificate, as
// mediasoup's worker does at start-up, and computes its fingerprints.
func GenerateCertificate() (*Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("dtlstransport: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("dtlstransport: serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "rope"},
		NotBefore:    now.Add(-24 * time.Hour),
		NotAfter:     now.Add(certificateValidity),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("dtlstransport: create certificate: %w", err)
	}
	return NewCertificate(tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key})
}

// NewCertificate wraps an existing certificate (its leaf first).
func NewCertificate(cert tls.Certificate) (*Certificate, error) {
	if len(cert.Certificate) == 0 {
		return nil, ErrNoCertificate
	}
	c := &Certificate{TLS: cert}
	for _, alg := range Algorithms {
		fp, err := FingerprintOf(cert.Certificate[0], alg)
		if err != nil {
			return nil, err
		}
		c.Fingerprints = append(c.Fingerprints, fp)
	}
	return c, nil
}
