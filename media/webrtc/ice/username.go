package ice

import (
	"bytes"
	"encoding/binary"
)

const (
	stunHeaderSize   = 20
	stunMagicCookie  = 0x2112A442
	attrUsername     = 0x0006
	stunMethodMask   = 0x3EEF
	stunBindingValue = 0x0001
)

// LocalUfrag returns the local part of the USERNAME attribute of a STUN
// message ("<local>:<remote>"), without decoding the rest of the message or
// allocating. A WebRtcServer uses it to route the first packet of a tuple
// to its transport. It returns nil when b is not a STUN message with a
// well-formed USERNAME.
func LocalUfrag(b []byte) []byte {
	if len(b) < stunHeaderSize || b[0]&0xC0 != 0 {
		return nil
	}
	if binary.BigEndian.Uint32(b[4:8]) != stunMagicCookie {
		return nil
	}
	length := int(binary.BigEndian.Uint16(b[2:4]))
	if length%4 != 0 || stunHeaderSize+length > len(b) {
		return nil
	}
	attrs := b[stunHeaderSize : stunHeaderSize+length]
	for len(attrs) >= 4 {
		typ := binary.BigEndian.Uint16(attrs[0:2])
		n := int(binary.BigEndian.Uint16(attrs[2:4]))
		if 4+n > len(attrs) {
			return nil
		}
		if typ == attrUsername {
			user := attrs[4 : 4+n]
			i := bytes.IndexByte(user, ':')
			if i <= 0 {
				return nil
			}
			return user[:i]
		}
		padded := (n + 3) &^ 3
		if 4+padded > len(attrs) {
			return nil
		}
		attrs = attrs[4+padded:]
	}
	return nil
}
