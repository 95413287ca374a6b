// Package dtlstransport holds the DTLS side of a mediasoup-style
// WebRtcTransport on top of pion/dtls: the local certificate and its
// fingerprints, mediasoup's role rules, remote fingerprint verification, a
// net.PacketConn that carries DTLS records over whichever ICE tuple is
// selected, and SRTP key export (RFC 5764).
package dtlstransport
