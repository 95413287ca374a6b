package depdesc

// MaxSize bounds a descriptor's length: a two-byte header extension
// element holds at most 255 bytes.
const MaxSize = 255

// Marshal writes d into dst and returns its length: the mandatory
// fields, and the extended ones when d has a structure (s, written in
// full), a bitmask or custom fields. Custom DTIs, frame diffs and chain
// diffs are d's; s gives their counts (DecodeTargets, Chains).
func Marshal(dst []byte, d *Descriptor, s *Structure) (int, error) {
	w := bitWriter{b: dst}
	w.putBit(d.StartOfFrame)
	w.putBit(d.EndOfFrame)
	w.put(6, uint32(d.TemplateID))
	w.put(16, uint32(d.FrameNumber))
	if d.HasStructure || d.HasActiveDecodeTargets || d.CustomDTIs || d.CustomFrameDiffs || d.CustomChains {
		if s == nil {
			return 0, ErrNoStructure
		}
		for _, f := range [5]bool{d.HasStructure, d.HasActiveDecodeTargets, d.CustomDTIs, d.CustomFrameDiffs, d.CustomChains} {
			w.putBit(f)
		}
		if d.HasStructure {
			writeStructure(&w, s)
		}
		if d.HasActiveDecodeTargets {
			w.put(s.DecodeTargets, d.ActiveDecodeTargets)
		}
		writeCustom(&w, d, s)
	}
	n := w.bytes()
	if w.full || n > MaxSize {
		return 0, ErrShort
	}
	return n, nil
}

// writeStructure writes template_dependency_structure.
func writeStructure(w *bitWriter, s *Structure) {
	w.put(6, uint32(s.TemplateIDOffset))
	w.put(5, uint32(s.DecodeTargets-1))
	for i := range s.NumTemplates {
		next := uint32(3)
		if i+1 < s.NumTemplates {
			t, u := &s.Templates[i], &s.Templates[i+1]
			switch {
			case u.SpatialID == t.SpatialID && u.TemporalID == t.TemporalID:
				next = 0
			case u.SpatialID == t.SpatialID:
				next = 1
			default:
				next = 2
			}
		}
		w.put(2, next)
	}
	for i := range s.NumTemplates {
		for dt := range s.DecodeTargets {
			w.put(2, uint32(s.Templates[i].DTI(dt)))
		}
	}
	for i := range s.NumTemplates {
		t := &s.Templates[i]
		for _, fd := range t.FrameDiffs[:t.NumFrameDiffs] {
			w.putBit(true)
			w.put(4, uint32(fd-1))
		}
		w.putBit(false)
	}
	w.putNS(uint32(s.DecodeTargets)+1, uint32(s.Chains))
	if s.Chains > 0 {
		for dt := range s.DecodeTargets {
			w.putNS(uint32(s.Chains), uint32(s.ProtectedBy[dt]))
		}
		for i := range s.NumTemplates {
			for c := range s.Chains {
				w.put(4, uint32(s.Templates[i].ChainDiffs[c]))
			}
		}
	}
	w.putBit(s.HasResolutions)
	if s.HasResolutions {
		for sid := 0; sid <= int(s.MaxSpatialID); sid++ {
			w.put(16, uint32(s.Resolutions[sid].Width-1))
			w.put(16, uint32(s.Resolutions[sid].Height-1))
		}
	}
}

// writeCustom writes the frame dependency definition's custom fields.
func writeCustom(w *bitWriter, d *Descriptor, s *Structure) {
	if d.CustomDTIs {
		for dt := range s.DecodeTargets {
			w.put(2, uint32(d.DTI(dt)))
		}
	}
	if d.CustomFrameDiffs {
		for _, fd := range d.FrameDiffs[:d.NumFrameDiffs] {
			size := 1
			for uint32(fd-1)>>(4*size) != 0 {
				size++
			}
			w.put(2, uint32(size))
			w.put(4*size, uint32(fd-1))
		}
		w.put(2, 0)
	}
	if d.CustomChains {
		for c := range s.Chains {
			w.put(8, uint32(d.ChainDiffs[c]))
		}
	}
}

// SetActiveDecodeTargets writes into dst descriptor src (parsed into d)
// with its active decode targets bitmask set to mask (decodeTargets bits,
// those of the stream's structure), and returns the new length: what an
// SFU forwards when it drops decode targets (or restores them all). The
// rest of src is kept bit for bit; a 3-byte descriptor grows the
// extended fields.
func SetActiveDecodeTargets(dst, src []byte, d *Descriptor, decodeTargets int, mask uint32) (int, error) {
	if decodeTargets < 1 || decodeTargets > MaxDecodeTargets {
		return 0, ErrLimits
	}
	w := bitWriter{b: dst}
	w.copyBits(src, 0, 24)
	if !d.extended {
		w.put(5, 0b01000)
		w.put(decodeTargets, mask)
	} else {
		w.copyBits(src, 24, 25)
		w.putBit(true)
		w.copyBits(src, 26, d.structEnd)
		w.put(decodeTargets, mask)
		w.copyBits(src, d.maskEnd, d.fdEnd)
	}
	if w.full {
		return 0, ErrShort
	}
	return w.bytes(), nil
}
