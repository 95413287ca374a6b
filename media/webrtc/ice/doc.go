// Package ice implements the ICE-lite server side of a mediasoup-style
// WebRtcTransport (RFC 8445 section 2.5, lite implementation).
//
// The server never sends connectivity checks. It answers STUN Binding
// requests whose USERNAME is "<local ufrag>:<remote ufrag>" and whose
// MESSAGE-INTEGRITY verifies with the local password, learns the peer's
// transport tuples from them, and lets the controlling peer pick one with
// USE-CANDIDATE (or a newer NOMINATION value with renomination). States
// follow mediasoup: new, connected, completed, disconnected, closed.
//
// The package does no I/O: [Server.Process] takes a datagram and a tuple and
// returns the response to send and what changed. The caller owns sockets,
// timers and callbacks.
package ice
