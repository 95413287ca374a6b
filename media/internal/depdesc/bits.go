package depdesc

// bitReader reads big-endian bit fields (the spec's f(n)) from b. A read
// past the end sets short and returns 0; callers check short once.
type bitReader struct {
	b     []byte
	pos   int // in bits
	short bool
}

// bits reads n ≤ 32 bits.
func (r *bitReader) bits(n int) uint32 {
	if r.pos+n > len(r.b)*8 {
		r.short = true
		r.pos = len(r.b) * 8
		return 0
	}
	var v uint32
	for n > 0 {
		i, off := r.pos>>3, r.pos&7
		take := min(8-off, n)
		v = v<<take | uint32(r.b[i]>>(8-off-take))&(1<<take-1)
		r.pos += take
		n -= take
	}
	return v
}

func (r *bitReader) bit() bool { return r.bits(1) == 1 }

// ns reads a non-symmetric unsigned value in [0, n) (the spec's ns(n)).
func (r *bitReader) ns(n uint32) uint32 {
	w := 0
	for x := n; x != 0; x >>= 1 {
		w++
	}
	m := uint32(1)<<w - n
	v := r.bits(w - 1)
	if v < m {
		return v
	}
	return v<<1 - m + r.bits(1)
}

// bitWriter writes big-endian bit fields into b (zeroing it as it goes).
// A write past the end sets full.
type bitWriter struct {
	b    []byte
	pos  int
	full bool
}

// put writes the n ≤ 32 low bits of v.
func (w *bitWriter) put(n int, v uint32) {
	if w.pos+n > len(w.b)*8 {
		w.full = true
		return
	}
	for n > 0 {
		i, off := w.pos>>3, w.pos&7
		if off == 0 {
			w.b[i] = 0
		}
		take := min(8-off, n)
		chunk := byte(v>>(n-take)) & (1<<take - 1)
		w.b[i] |= chunk << (8 - off - take)
		w.pos += take
		n -= take
	}
}

func (w *bitWriter) putBit(v bool) {
	if v {
		w.put(1, 1)
	} else {
		w.put(1, 0)
	}
}

// putNS writes v in [0, n) as the spec's write_ns(n, v).
func (w *bitWriter) putNS(n, v uint32) {
	if n == 1 {
		return
	}
	width := 0
	for x := n; x != 0; x >>= 1 {
		width++
	}
	m := uint32(1)<<width - n
	if v < m {
		w.put(width-1, v)
	} else {
		w.put(width, v+m)
	}
}

// copyBits copies the bits [from, to) of src.
func (w *bitWriter) copyBits(src []byte, from, to int) {
	r := bitReader{b: src, pos: from}
	for n := to - from; n > 0; {
		take := min(n, 32)
		w.put(take, r.bits(take))
		n -= take
	}
}

// bytes returns the written bytes, the last one zero-padded.
func (w *bitWriter) bytes() int { return (w.pos + 7) >> 3 }
