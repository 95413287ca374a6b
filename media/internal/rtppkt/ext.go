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

// CopyWithExtension copies packet src (headerLen from Parse) into dst
// with header extension element id set to val: an element id already
// there is replaced, others are kept in order, zero padding between
// elements is dropped. A packet without extensions gets a one-byte
// (0xbede) block; a one-byte block turns into a two-byte one (RFC 8285
// 4.3) when id or val does not fit the one-byte form. It returns the
// length written, or 0 if src's extension block is malformed or of
// another profile, id is 0, val is longer than 255 bytes, or dst is
// shorter than len(src)+len(val)+9 (the most the packet can grow). It
// does not allocate.
func CopyWithExtension(dst, src []byte, headerLen int, id uint8, val []byte) int {
	return CopyWithExtensions(dst, src, headerLen, id, val, 0, nil)
}

// CopyWithExtensions is CopyWithExtension setting two elements, id to
// val and id2 to val2 (id2 0: only the first); dst must then have room
// for len(src)+len(val)+len(val2)+11 bytes.
func CopyWithExtensions(dst, src []byte, headerLen int, id uint8, val []byte, id2 uint8, val2 []byte) int {
	els := [2]Element{{id, val}, {id2, val2}}
	if id2 == 0 {
		return CopyWithElements(dst, src, headerLen, els[:1])
	}
	return CopyWithElements(dst, src, headerLen, els[:])
}

// Element is one header extension element to set.
type Element struct {
	ID  uint8
	Val []byte
}

// CopyWithElements is CopyWithExtension setting every element of els
// (distinct non-zero ids; written in that order after the elements of
// src it keeps); dst must have room for len(src)+9 bytes plus the
// values and 2 bytes an element. It does not allocate or retain els.
func CopyWithElements(dst, src []byte, headerLen int, els []Element) int {
	grow := 7
	twoByte := false
	for i, e := range els {
		if e.ID == 0 || len(e.Val) > 255 {
			return 0
		}
		for _, f := range els[:i] {
			if f.ID == e.ID {
				return 0
			}
		}
		grow += len(e.Val) + 2
		twoByte = twoByte || !oneByteFits(e.ID, e.Val)
	}
	if len(els) == 0 || len(dst) < len(src)+grow {
		return 0
	}
	fixed := MinHeaderLen + 4*int(src[0]&0x0f)
	var block []byte
	twoByteIn := false
	if src[0]&0x10 != 0 {
		profile := binary.BigEndian.Uint16(src[fixed:])
		switch {
		case profile == 0xbede:
		case profile&0xfff0 == 0x1000:
			twoByteIn = true
		default:
			return 0
		}
		block = src[fixed+4 : headerLen]
	}
	twoByte = twoByte || twoByteIn
	copy(dst, src[:fixed])
	dst[0] |= 0x10
	out := dst[fixed+4:]
	w := 0
	for r := 0; r < len(block); {
		eid := block[r]
		if eid == 0 { // padding
			r++
			continue
		}
		var hdr, size int
		if twoByteIn {
			if r+1 >= len(block) {
				return 0
			}
			hdr, size = 2, int(block[r+1])
		} else {
			if eid>>4 == 15 { // reserved: stop processing
				break
			}
			hdr, size, eid = 1, int(eid&0x0f)+1, eid>>4
		}
		if r+hdr+size > len(block) {
			return 0
		}
		if eid != 0 && !setsID(els, eid) { // id 0 is reserved (padding)
			w += putElement(out[w:], eid, block[r+hdr:r+hdr+size], twoByte)
		}
		r += hdr + size
	}
	for _, e := range els {
		w += putElement(out[w:], e.ID, e.Val, twoByte)
	}
	blockLen := (w + 3) &^ 3
	clear(out[w:blockLen])
	if twoByte {
		binary.BigEndian.PutUint16(dst[fixed:], 0x1000)
	} else {
		binary.BigEndian.PutUint16(dst[fixed:], 0xbede)
	}
	binary.BigEndian.PutUint16(dst[fixed+2:], uint16(blockLen/4))
	n := fixed + 4 + blockLen
	return n + copy(dst[n:], src[headerLen:])
}

// setsID reports whether els sets element id.
func setsID(els []Element, id uint8) bool {
	for _, e := range els {
		if e.ID == id {
			return true
		}
	}
	return false
}

// oneByteFits reports whether element id with val fits the one-byte form.
func oneByteFits(id uint8, val []byte) bool {
	return id <= 14 && len(val) > 0 && len(val) <= 16
}

// putElement writes one extension element and returns its size.
func putElement(b []byte, id uint8, data []byte, twoByte bool) int {
	if twoByte {
		b[0], b[1] = id, byte(len(data))
		return 2 + copy(b[2:], data)
	}
	b[0] = id<<4 | byte(len(data)-1)
	return 1 + copy(b[1:], data)
}
