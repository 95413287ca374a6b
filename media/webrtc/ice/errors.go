package ice

import "errors"

// Sentinel errors returned by [Server.Process]. All of them mean the packet
// was dropped; none of them is fatal to the server.
var (
	// ErrNotSTUN means the packet does not decode as a STUN message.
	ErrNotSTUN = errors.New("ice: not a STUN message")
	// ErrNotBinding means the STUN method is not Binding.
	ErrNotBinding = errors.New("ice: STUN method is not Binding")
	// ErrNoFingerprint means a request lacks a valid FINGERPRINT.
	ErrNoFingerprint = errors.New("ice: missing or bad FINGERPRINT")
	// ErrMissingAttributes means a request lacks USERNAME, MESSAGE-INTEGRITY
	// or PRIORITY.
	ErrMissingAttributes = errors.New("ice: missing USERNAME, MESSAGE-INTEGRITY or PRIORITY")
	// ErrUnauthorized means the USERNAME does not start with the local
	// ufrag or the MESSAGE-INTEGRITY does not verify with the local password.
	ErrUnauthorized = errors.New("ice: wrong ufrag or MESSAGE-INTEGRITY")
	// ErrClosed means the server was closed.
	ErrClosed = errors.New("ice: server closed")
)
