package webrtc

import "errors"

// Sentinel errors.
var (
	// ErrClosed means the transport or server is closed.
	ErrClosed = errors.New("webrtc: closed")
	// ErrAlreadyConnected means Connect was called twice.
	ErrAlreadyConnected = errors.New("webrtc: connect() already called")
	// ErrNoFingerprint means the remote dtlsParameters carry no usable
	// fingerprint.
	ErrNoFingerprint = errors.New("webrtc: empty or unsupported dtlsParameters.fingerprints")
	// ErrNotConnected means SRTP keys are not there yet (DTLS not connected)
	// or no tuple is selected.
	ErrNotConnected = errors.New("webrtc: not connected")
	// ErrInvalidListenInfo means a listen info is unusable.
	ErrInvalidListenInfo = errors.New("webrtc: invalid listen info")
	// ErrNoSCTP means SCTP is disabled or not yet connected.
	ErrNoSCTP = errors.New("webrtc: no SCTP association")
)
