package dtlstransport

import "errors"

// Sentinel errors.
var (
	// ErrFingerprintMismatch means the peer's certificate does not hash to
	// the fingerprint given in connect().
	ErrFingerprintMismatch = errors.New("dtlstransport: remote certificate fingerprint mismatch")
	// ErrUnsupportedAlgorithm means a fingerprint names an unknown hash.
	ErrUnsupportedAlgorithm = errors.New("dtlstransport: unsupported fingerprint algorithm")
	// ErrNoCertificate means the peer sent no certificate.
	ErrNoCertificate = errors.New("dtlstransport: peer sent no certificate")
	// ErrInvalidRole means a role is not auto, client or server.
	ErrInvalidRole = errors.New("dtlstransport: invalid DTLS role")
	// ErrNoSRTPProfile means the handshake negotiated no SRTP profile.
	ErrNoSRTPProfile = errors.New("dtlstransport: no SRTP protection profile negotiated")
)
