package rtppkt

import "encoding/binary"

// ExtMap maps header extension ids (1..255) to new ids; 0 drops the
// element.
type ExtMap [256]uint8

// MapExtensions rewrites the ids of the RFC 8285 header extension
// elements of packet b (header h, from Parse) in place through m. Dropped
// elements are removed by moving the following elements forward and
// filling the end of the block with padding (zero) bytes, so the packet
// keeps its length. Unknown profiles are left alone. It reports false if
// the block is malformed (it is then left partly rewritten).
func MapExtensions(b []byte, h Header, m *ExtMap) bool {
	if b[0]&0x10 == 0 {
		return true
	}
	start := MinHeaderLen + 4*int(b[0]&0x0f)
	profile := binary.BigEndian.Uint16(b[start:])
	block := b[start+4 : h.HeaderLen]
	switch {
	case profile == 0xbede:
		return mapElements(block, m, false)
	case profile&0xfff0 == 0x1000:
		return mapElements(block, m, true)
	}
	return true
}

// mapElements compacts the kept elements of block to its front, renamed.
func mapElements(block []byte, m *ExtMap, twoByte bool) bool {
	w := 0
	for r := 0; r < len(block); {
		id := block[r]
		if id == 0 { // padding
			r++
			continue
		}
		var hdr, size int
		if twoByte {
			if r+1 >= len(block) {
				return false
			}
			hdr, size = 2, int(block[r+1])
		} else {
			if id>>4 == 15 { // reserved: stop processing
				break
			}
			hdr, size = 1, int(id&0x0f)+1
			id >>= 4
		}
		if r+hdr+size > len(block) {
			return false
		}
		if nid := m[id]; nid != 0 && (twoByte || nid < 15) {
			n := copy(block[w:], block[r:r+hdr+size])
			if twoByte {
				block[w] = nid
			} else {
				block[w] = nid<<4 | block[w]&0x0f
			}
			w += n
		}
		r += hdr + size
	}
	clear(block[w:])
	return true
}

// Extension returns the value of header extension element id in packet b
// (header h from Parse), without allocating.
func Extension(b []byte, h Header, id uint8) ([]byte, bool) {
	if b[0]&0x10 == 0 || id == 0 {
		return nil, false
	}
	start := MinHeaderLen + 4*int(b[0]&0x0f)
	profile := binary.BigEndian.Uint16(b[start:])
	block := b[start+4 : h.HeaderLen]
	twoByte := profile&0xfff0 == 0x1000
	if profile != 0xbede && !twoByte {
		return nil, false
	}
	for r := 0; r < len(block); {
		eid := block[r]
		if eid == 0 {
			r++
			continue
		}
		var hdr, size int
		if twoByte {
			if r+1 >= len(block) {
				return nil, false
			}
			hdr, size = 2, int(block[r+1])
		} else {
			if eid>>4 == 15 {
				return nil, false
			}
			hdr, size, eid = 1, int(eid&0x0f)+1, eid>>4
		}
		if r+hdr+size > len(block) {
			return nil, false
		}
		if eid == id {
			return block[r+hdr : r+hdr+size], true
		}
		r += hdr + size
	}
	return nil, false
}
