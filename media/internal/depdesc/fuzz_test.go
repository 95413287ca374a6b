package depdesc

import (
	"testing"
)

// FuzzParse feeds one stream's descriptors (each prefixed by its length
// byte) to a Parser. Every descriptor it accepts must come back the same
// when marshalled and parsed by a second parser, and when rewritten with
// a bitmask and parsed by a third; a refused one must leave the stream
// state as it was.
func FuzzParse(f *testing.F) {
	var buf [MaxSize]byte
	l3, _ := Marshal(buf[:], &Descriptor{TemplateID: 10, HasStructure: true}, specL3T3())
	frame := func(bs ...[]byte) []byte {
		var out []byte
		for _, b := range bs {
			out = append(out, byte(len(b)))
			out = append(out, b...)
		}
		return out
	}
	f.Add(frame(specL1T3Key, specL1T3Delta, []byte{0xc1, 0, 3}, []byte{0xc0, 0, 5, 0b01000000}))
	f.Add(frame(buf[:l3], []byte{0x8f, 0, 2, 0b00111010, 0x12, 0x34, 0x56, 0x78, 0x9a}))
	f.Add(frame(specL1T3Delta))
	f.Fuzz(func(t *testing.T, in []byte) {
		var p, re, rw Parser
		var d, got Descriptor
		var mb, wb [MaxSize]byte
		for len(in) > 0 {
			n := min(int(in[0]), len(in)-1)
			b := in[1 : 1+n]
			in = in[1+n:]
			before := p
			if err := p.Parse(b, &d); err != nil {
				if !sameState(&p, &before) {
					t.Fatalf("refused %x (%v) changed the stream state", b, err)
				}
				continue
			}
			// Marshalled, the descriptor says the same to a parser in the
			// same state, and leaves it in the same state.
			s := p.FrameStructure()
			m, err := Marshal(mb[:], &d, s)
			if err != nil {
				t.Fatalf("marshal %+v: %v", d, err)
			}
			re = before
			if err := re.Parse(mb[:m], &got); err != nil {
				t.Fatalf("parse of marshalled %x (from %x): %v", mb[:m], b, err)
			}
			sameFrame(t, &got, &d)
			if !sameState(&re, &p) {
				t.Fatalf("state after marshalled %x differs from after %x", mb[:m], b)
			}
			// Rewritten with a bitmask, the same frame with that bitmask
			// (unless the frame is late: the stream's stays).
			mask := uint32(len(in)) & s.AllDecodeTargets()
			w, err := SetActiveDecodeTargets(wb[:], b, &d, s.DecodeTargets, mask)
			if err != nil {
				t.Fatalf("set mask on %x: %v", b, err)
			}
			rw = before
			if err := rw.Parse(wb[:w], &got); err != nil {
				t.Fatalf("parse of rewritten %x (from %x): %v", wb[:w], b, err)
			}
			late := before.have && older(d.FrameNumber, before.changedAt)
			if want := mask; !late && got.ActiveDecodeTargets != want || late && got.ActiveDecodeTargets != before.active {
				t.Fatalf("rewritten %x (from %x, late %v): mask %b, want %b", wb[:w], b, late, got.ActiveDecodeTargets, mask)
			}
			got.ActiveDecodeTargets, got.HasActiveDecodeTargets = d.ActiveDecodeTargets, d.HasActiveDecodeTargets
			sameFrame(t, &got, &d)
		}
	})
}

// sameState compares two parsers' stream state.
func sameState(a, b *Parser) bool {
	if a.have != b.have || a.active != b.active || a.changedAt != b.changedAt {
		return false
	}
	return !a.have || *a.Structure() == *b.Structure()
}

// sameFrame compares what two descriptors say of their frame.
func sameFrame(t *testing.T, got, want *Descriptor) {
	t.Helper()
	g, w := *got, *want
	g.extended, g.structEnd, g.maskEnd, g.fdEnd = false, 0, 0, 0
	w.extended, w.structEnd, w.maskEnd, w.fdEnd = false, 0, 0, 0
	if g != w {
		t.Fatalf("frame differs:\n got %+v\nwant %+v", g, w)
	}
}
