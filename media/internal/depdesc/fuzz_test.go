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
			before, beforeActive := p.Structure(), p.active
			var saved Structure
			if before != nil {
				saved = *before
			}
			if err := p.Parse(b, &d); err != nil {
				if s := p.Structure(); (s == nil) != (before == nil) || s != nil && *s != saved || p.active != beforeActive {
					t.Fatalf("refused %x (%v) changed the stream state", b, err)
				}
				continue
			}
			s := p.Structure()
			m, err := Marshal(mb[:], &d, s)
			if err != nil {
				t.Fatalf("marshal %+v: %v", d, err)
			}
			if err := re.Parse(mb[:m], &got); err != nil {
				t.Fatalf("parse of marshalled %x (from %x): %v", mb[:m], b, err)
			}
			sameFrame(t, &got, &d)
			if d.HasStructure && !sameStructureBits(re.Structure(), s) {
				t.Fatalf("structure of %x changed through marshal", b)
			}
			mask := uint32(len(in)) & s.AllDecodeTargets()
			w, err := SetActiveDecodeTargets(wb[:], b, &d, s.DecodeTargets, mask)
			if err != nil {
				t.Fatalf("set mask on %x: %v", b, err)
			}
			if err := rw.Parse(wb[:w], &got); err != nil {
				t.Fatalf("parse of rewritten %x (from %x): %v", wb[:w], b, err)
			}
			if got.ActiveDecodeTargets != mask {
				t.Fatalf("rewritten mask %b, want %b", got.ActiveDecodeTargets, mask)
			}
			got.ActiveDecodeTargets, got.HasActiveDecodeTargets = d.ActiveDecodeTargets, d.HasActiveDecodeTargets
			sameFrame(t, &got, &d)
		}
	})
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

// sameStructureBits compares the parts of two structures a descriptor
// can set.
func sameStructureBits(a, b *Structure) bool {
	x, y := used(*a), used(*b)
	return x == y
}

// used zeroes what a structure holds beyond its counts.
func used(s Structure) Structure {
	for i := range s.Templates {
		t := &s.Templates[i]
		if i >= s.NumTemplates {
			*t = Template{}
			continue
		}
		clear(t.FrameDiffs[t.NumFrameDiffs:])
		clear(t.ChainDiffs[s.Chains:])
	}
	clear(s.ProtectedBy[s.DecodeTargets:])
	clear(s.TargetSpatialID[s.DecodeTargets:])
	clear(s.TargetTemporalID[s.DecodeTargets:])
	if !s.HasResolutions {
		clear(s.Resolutions[:])
	} else {
		clear(s.Resolutions[s.MaxSpatialID+1:])
	}
	return s
}
