package webrtc

import "github.com/ropehq/rope/media/webrtc/srtpsession"

// SetSRTPForTest installs an SRTP session as if DTLS had exported it, for
// benchmarks that measure the media path without a handshake.
func (t *Transport) SetSRTPForTest(s *srtpsession.Session) { t.srtp.Store(s) }
