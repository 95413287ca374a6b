// Package demux classifies datagrams that share one ICE 5-tuple into STUN,
// DTLS, RTP and RTCP by their first bytes, following RFC 7983 (section 7)
// and RFC 5761 (section 4) for telling RTCP from RTP.
//
// It holds no state and never allocates: it is called once per packet.
package demux

// Kind is the protocol a datagram belongs to.
type Kind uint8

// The kinds a datagram can be classified as.
const (
	// Unknown is anything RFC 7983 does not assign to a protocol we speak
	// (ZRTP, TURN channels, QUIC) or a packet too short to be valid.
	Unknown Kind = iota
	// STUN messages: first byte 0..3.
	STUN
	// DTLS records: first byte 20..63.
	DTLS
	// RTP packets: first byte 128..191 and a payload type outside 64..95.
	RTP
	// RTCP packets: first byte 128..191 and a packet type 192..223.
	RTCP
)

var kindNames = [...]string{"unknown", "stun", "dtls", "rtp", "rtcp"}

// String returns the lower-case protocol name.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Minimum sizes below which a datagram cannot be of a kind.
const (
	minSTUN = 20 // STUN header
	minDTLS = 13 // DTLS record header
	minRTP  = 12 // RTP fixed header
	minRTCP = 4  // RTCP common header
)

// Classify returns the protocol of b.
func Classify(b []byte) Kind {
	if len(b) == 0 {
		return Unknown
	}
	switch first := b[0]; {
	case first <= 3:
		if len(b) >= minSTUN {
			return STUN
		}
	case first >= 20 && first <= 63:
		if len(b) >= minDTLS {
			return DTLS
		}
	case first >= 128 && first <= 191:
		return classifyRTP(b)
	}
	return Unknown
}

// classifyRTP tells RTCP from RTP with RFC 5761: RTCP packet types 192..223
// map onto the RTP marker bit plus payload types 64..95, which RTP avoids.
func classifyRTP(b []byte) Kind {
	if len(b) < minRTCP {
		return Unknown
	}
	if pt := b[1]; pt >= 192 && pt <= 223 {
		return RTCP
	}
	if len(b) < minRTP {
		return Unknown
	}
	return RTP
}
