// Package rtppkt reads and rewrites RTP headers in place, without
// allocating, for the forwarding hot path.
//
// The functions take the raw packet bytes. Callers validate a packet once
// with Parse (or IsRTP) and then use the accessors, which assume a valid
// fixed header (12 bytes).
package rtppkt

import "encoding/binary"

// MinHeaderLen is the size of the fixed RTP header.
const MinHeaderLen = 12

// MaxPacketLen is the largest RTP or RTCP packet the media path handles.
const MaxPacketLen = 1500

// IsRTCP reports whether b looks like an RTCP packet multiplexed with RTP
// (RFC 5761 section 4: packet types 192-223 in the second byte).
func IsRTCP(b []byte) bool {
	return len(b) >= 4 && b[0]>>6 == 2 && b[1] >= 192 && b[1] <= 223
}

// IsRTP reports whether b looks like an RTP packet (version 2, not RTCP,
// at least a fixed header).
func IsRTP(b []byte) bool {
	return len(b) >= MinHeaderLen && b[0]>>6 == 2 && !(b[1] >= 192 && b[1] <= 223)
}

// Header is the parsed view of an RTP packet's fixed fields.
type Header struct {
	Marker         bool
	PayloadType    uint8
	SequenceNumber uint16
	Timestamp      uint32
	SSRC           uint32
	// HeaderLen is the length of the header including CSRCs and extensions.
	HeaderLen int
	// PaddingLen is the number of padding bytes at the end (0 if none).
	PaddingLen int
}

// Parse validates b as an RTP packet and returns its header. ok is false if
// b is not a well-formed RTP packet.
func Parse(b []byte) (h Header, ok bool) {
	if !IsRTP(b) {
		return h, false
	}
	cc := int(b[0] & 0x0f)
	n := MinHeaderLen + 4*cc
	if len(b) < n {
		return h, false
	}
	if b[0]&0x10 != 0 { // extension
		if len(b) < n+4 {
			return h, false
		}
		n += 4 + 4*int(binary.BigEndian.Uint16(b[n+2:]))
		if len(b) < n {
			return h, false
		}
	}
	if b[0]&0x20 != 0 { // padding
		p := int(b[len(b)-1])
		if p == 0 || n+p > len(b) {
			return h, false
		}
		h.PaddingLen = p
	}
	h.Marker = b[1]&0x80 != 0
	h.PayloadType = b[1] & 0x7f
	h.SequenceNumber = binary.BigEndian.Uint16(b[2:])
	h.Timestamp = binary.BigEndian.Uint32(b[4:])
	h.SSRC = binary.BigEndian.Uint32(b[8:])
	h.HeaderLen = n
	return h, true
}

// SSRC returns the packet's SSRC.
func SSRC(b []byte) uint32 { return binary.BigEndian.Uint32(b[8:]) }

// SetSSRC rewrites the packet's SSRC.
func SetSSRC(b []byte, v uint32) { binary.BigEndian.PutUint32(b[8:], v) }

// SequenceNumber returns the packet's sequence number.
func SequenceNumber(b []byte) uint16 { return binary.BigEndian.Uint16(b[2:]) }

// SetSequenceNumber rewrites the packet's sequence number.
func SetSequenceNumber(b []byte, v uint16) { binary.BigEndian.PutUint16(b[2:], v) }

// Timestamp returns the packet's RTP timestamp.
func Timestamp(b []byte) uint32 { return binary.BigEndian.Uint32(b[4:]) }

// SetTimestamp rewrites the packet's RTP timestamp.
func SetTimestamp(b []byte, v uint32) { binary.BigEndian.PutUint32(b[4:], v) }

// PayloadType returns the packet's payload type.
func PayloadType(b []byte) uint8 { return b[1] & 0x7f }

// SetPayloadType rewrites the payload type, keeping the marker bit.
func SetPayloadType(b []byte, pt uint8) { b[1] = b[1]&0x80 | pt&0x7f }

// SeqLess reports whether a precedes b in RTP sequence number order
// (RFC 3550 wrap-around arithmetic).
func SeqLess(a, b uint16) bool { return a != b && b-a < 0x8000 }
