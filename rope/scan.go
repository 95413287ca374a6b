package rope

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds the nesting of arrays and objects; a deeper value is not
// accepted (spec §13.5.1). The scanner recurses, so this also bounds the
// stack a message can make the reader grow (about 200 KiB).
const maxDepth = 512

// scanner validates JSON text (RFC 8259) in one pass and notes the first
// object that repeats a member name. It does not allocate unless a member
// name is written with escapes or an object has many members.
type scanner struct {
	data  []byte
	pos   int
	depth int
	// high is the OR of every string byte: bit 7 set means the strings
	// hold non-ASCII bytes, so the text needs a UTF-8 check.
	high byte
	// dup is the first member name found twice in one object.
	dup    string
	hasDup bool
}

// plain marks the bytes a JSON string holds as they are: not a quote, not
// a backslash, not a control character.
var plain = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= 0x20 && c != '"' && c != '\\'
	}
	return t
}()

// wholeValue scans data as exactly one JSON value with optional whitespace
// around it and reports whether it is valid JSON.
func (s *scanner) wholeValue() bool {
	s.ws()
	if !s.value() {
		return false
	}
	s.ws()
	return s.pos == len(s.data) && s.utf8OK()
}

// utf8OK reports whether the strings scanned are valid UTF-8. Bytes above
// 0x7f can only be inside strings of valid JSON, so only then is the whole
// text checked.
func (s *scanner) utf8OK() bool { return s.high < utf8.RuneSelf || utf8.Valid(s.data) }

func (s *scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) peek() byte {
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

// value scans one value starting at pos; false means a syntax error.
func (s *scanner) value() bool {
	switch c := s.peek(); {
	case c == '{':
		return s.object()
	case c == '[':
		return s.array()
	case c == '"':
		_, ok := s.str()
		return ok
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	}
	return false
}

func (s *scanner) literal(lit string) bool {
	if len(s.data)-s.pos < len(lit) || string(s.data[s.pos:s.pos+len(lit)]) != lit {
		return false
	}
	s.pos += len(lit)
	return true
}

// str scans a string starting at its opening quote and reports whether it
// holds escapes.
func (s *scanner) str() (escaped, ok bool) {
	d := s.data
	i := s.pos + 1
	high := byte(0)
	for {
		for i < len(d) && plain[d[i]] {
			high |= d[i]
			i++
		}
		if i >= len(d) {
			return false, false
		}
		switch d[i] {
		case '"':
			s.pos = i + 1
			s.high |= high
			return escaped, true
		case '\\':
			escaped = true
			if i+1 >= len(d) {
				return false, false
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) || !isHex4(d[i+2:i+6]) {
					return false, false
				}
				i += 6
			default:
				return false, false
			}
		default: // a control character
			return false, false
		}
	}
}

func isHex4(b []byte) bool {
	for _, c := range b[:4] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (s *scanner) number() bool {
	d, i := s.data, s.pos
	if d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i++; i < len(d) && isDigit(d[i]); i++ {
		}
	default:
		return false
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || !isDigit(d[i]) {
			return false
		}
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || !isDigit(d[i]) {
			return false
		}
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	}
	s.pos = i
	return true
}

func (s *scanner) enter() bool {
	s.depth++
	return s.depth <= maxDepth
}

func (s *scanner) array() bool {
	s.pos++ // [
	if !s.enter() {
		return false
	}
	s.ws()
	if s.peek() == ']' {
		s.pos++
		s.depth--
		return true
	}
	for {
		s.ws()
		if !s.value() {
			return false
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			s.depth--
			return true
		default:
			return false
		}
	}
}

func (s *scanner) object() bool {
	s.pos++ // {
	if !s.enter() {
		return false
	}
	var names nameSet
	s.ws()
	if s.peek() == '}' {
		s.pos++
		s.depth--
		return true
	}
	for {
		name, ok := s.memberName()
		if !ok {
			return false
		}
		s.noteName(&names, name)
		if !s.value() {
			return false
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			s.depth--
			return true
		default:
			return false
		}
	}
}

// memberName scans `"name" :` and the whitespace around it, leaving pos at
// the value. name is the name as the JSON text means it (escapes decoded).
func (s *scanner) memberName() (name []byte, ok bool) {
	s.ws()
	if s.peek() != '"' {
		return nil, false
	}
	start := s.pos
	escaped, ok := s.str()
	if !ok {
		return nil, false
	}
	name = s.data[start+1 : s.pos-1]
	if escaped {
		name = unescape(name)
	}
	s.ws()
	if s.peek() != ':' {
		return nil, false
	}
	s.pos++
	s.ws()
	return name, true
}

func (s *scanner) noteName(names *nameSet, name []byte) {
	if names.add(name) && !s.hasDup {
		s.hasDup, s.dup = true, string(name)
	}
}

// nameSet holds the member names of one object. The first few are compared
// in place; past them a map takes over.
type nameSet struct {
	small [12][]byte
	n     int
	big   map[string]struct{}
}

// add adds name and reports whether it was there already.
func (ns *nameSet) add(name []byte) bool {
	if ns.big == nil {
		for _, have := range ns.small[:ns.n] {
			if bytes.Equal(have, name) {
				return true
			}
		}
		if ns.n < len(ns.small) {
			ns.small[ns.n] = name
			ns.n++
			return false
		}
		ns.big = make(map[string]struct{}, 2*len(ns.small))
		for _, have := range ns.small {
			ns.big[string(have)] = struct{}{}
		}
	}
	if _, ok := ns.big[string(name)]; ok {
		return true
	}
	ns.big[string(name)] = struct{}{}
	return false
}

// unescape decodes the content of a valid JSON string that holds escapes.
// A lone surrogate becomes U+FFFD, as in encoding/json.
func unescape(raw []byte) []byte {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		switch raw[i+1] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hex4(raw[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					if r2 := utf16.DecodeRune(r, hex4(raw[i+2:])); r2 != utf8.RuneError {
						out = utf8.AppendRune(out, r2)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
			continue
		default: // " \ /
			out = append(out, raw[i+1])
		}
		i += 2
	}
	return out
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// stringValue returns the text of the JSON string raw (with its quotes).
func stringValue(raw []byte) string {
	content := raw[1 : len(raw)-1]
	if bytes.IndexByte(content, '\\') >= 0 {
		return string(unescape(content))
	}
	return string(content)
}
