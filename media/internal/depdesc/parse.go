package depdesc

// Parse parses the descriptor b (the extension's value) into d. A
// structure or bitmask it brings becomes the stream's once the whole
// descriptor parsed, unless its frame is older than the one that last
// changed them (a retransmission of an earlier key frame). On error the
// stream's state is unchanged and d is undefined.
func (p *Parser) Parse(b []byte, d *Descriptor) error {
	if len(b) < 3 {
		return ErrShort
	}
	r := bitReader{b: b}
	*d = Descriptor{
		StartOfFrame: r.bit(), EndOfFrame: r.bit(),
		TemplateID: uint8(r.bits(6)), FrameNumber: uint16(r.bits(16)),
	}
	s := p.Structure()
	active := p.active
	if len(b) > 3 {
		d.extended = true
		d.HasStructure, d.HasActiveDecodeTargets = r.bit(), r.bit()
		d.CustomDTIs, d.CustomFrameDiffs, d.CustomChains = r.bit(), r.bit(), r.bit()
		if d.HasStructure {
			s = &p.s[1-p.cur]
			if err := readStructure(&r, s); err != nil {
				return err
			}
			active = s.AllDecodeTargets()
		}
		d.structEnd = r.pos
		if d.HasActiveDecodeTargets {
			if s == nil {
				return ErrNoStructure
			}
			active = r.bits(s.DecodeTargets)
		}
		d.maskEnd = r.pos
	}
	if s == nil {
		return ErrNoStructure
	}
	if err := readFrameDefinition(&r, s, d); err != nil {
		return err
	}
	d.fdEnd = r.pos
	if r.short {
		return ErrShort
	}
	p.frameSlot = p.cur
	if d.HasStructure {
		p.frameSlot = 1 - p.cur
	}
	if p.have && older(d.FrameNumber, p.changedAt) {
		// A late packet: its own structure parsed it, the stream's stays.
		d.ActiveDecodeTargets = p.active
		return nil
	}
	if d.HasStructure {
		p.cur, p.have = 1-p.cur, true
	}
	if d.HasStructure || d.HasActiveDecodeTargets {
		p.changedAt = d.FrameNumber
	}
	p.active = active
	d.ActiveDecodeTargets = active
	return nil
}

// readStructure reads template_dependency_structure into s.
func readStructure(r *bitReader, s *Structure) error {
	*s = Structure{}
	s.TemplateIDOffset = uint8(r.bits(6))
	s.DecodeTargets = int(r.bits(5)) + 1
	if err := readTemplateLayers(r, s); err != nil {
		return err
	}
	for i := range s.NumTemplates {
		t := &s.Templates[i]
		t.dtis = 0
		for dt := range s.DecodeTargets {
			t.dtis |= uint64(r.bits(2)) << (2 * uint(dt))
		}
	}
	for i := range s.NumTemplates {
		t := &s.Templates[i]
		t.NumFrameDiffs = 0
		for r.bit() {
			if t.NumFrameDiffs == MaxFrameDiffs {
				return ErrLimits
			}
			t.FrameDiffs[t.NumFrameDiffs] = uint8(r.bits(4)) + 1
			t.NumFrameDiffs++
		}
	}
	readTemplateChains(r, s)
	decodeTargetLayers(s)
	s.HasResolutions = r.bit()
	if s.HasResolutions {
		for sid := 0; sid <= int(s.MaxSpatialID); sid++ {
			s.Resolutions[sid] = Resolution{Width: int(r.bits(16)) + 1, Height: int(r.bits(16)) + 1}
		}
	}
	if r.short {
		return ErrShort
	}
	return nil
}

// readTemplateLayers reads template_layers: the templates' spatial and
// temporal ids.
func readTemplateLayers(r *bitReader, s *Structure) error {
	var sid, tid uint8
	s.NumTemplates, s.MaxTemporalID = 0, 0
	for {
		if s.NumTemplates == MaxTemplates {
			return ErrLimits
		}
		t := &s.Templates[s.NumTemplates]
		t.SpatialID, t.TemporalID = sid, tid
		s.NumTemplates++
		switch r.bits(2) {
		case 1:
			tid++
		case 2:
			sid, tid = sid+1, 0
		case 3:
			s.MaxSpatialID = sid
			return nil
		}
		if r.short {
			return ErrShort
		}
		if sid >= MaxSpatialLayers || tid >= MaxTemporalLayers {
			return ErrLimits
		}
		s.MaxTemporalID = max(s.MaxTemporalID, tid)
	}
}

// readTemplateChains reads template_chains.
func readTemplateChains(r *bitReader, s *Structure) {
	s.Chains = int(r.ns(uint32(s.DecodeTargets) + 1))
	for dt := range s.DecodeTargets {
		s.ProtectedBy[dt] = 0
		if s.Chains > 0 {
			s.ProtectedBy[dt] = uint8(r.ns(uint32(s.Chains)))
		}
	}
	for i := range s.NumTemplates {
		for c := range s.Chains {
			s.Templates[i].ChainDiffs[c] = uint8(r.bits(4))
		}
	}
}

// decodeTargetLayers derives each decode target's layers (the spec's
// decode_target_layers).
func decodeTargetLayers(s *Structure) {
	for dt := range s.DecodeTargets {
		var sid, tid uint8
		for i := range s.NumTemplates {
			if t := &s.Templates[i]; t.DTI(dt) != NotPresent {
				sid, tid = max(sid, t.SpatialID), max(tid, t.TemporalID)
			}
		}
		s.TargetSpatialID[dt], s.TargetTemporalID[dt] = sid, tid
	}
}

// readFrameDefinition resolves d's template and reads the custom fields.
func readFrameDefinition(r *bitReader, s *Structure, d *Descriptor) error {
	idx := (int(d.TemplateID) + 64 - int(s.TemplateIDOffset)) % 64
	if idx >= s.NumTemplates {
		return ErrTemplate
	}
	t := &s.Templates[idx]
	d.SpatialID, d.TemporalID, d.DecodeTargets, d.Chains = t.SpatialID, t.TemporalID, s.DecodeTargets, s.Chains
	d.dtis = t.dtis
	if d.CustomDTIs {
		d.dtis = 0
		for dt := range s.DecodeTargets {
			d.dtis |= uint64(r.bits(2)) << (2 * uint(dt))
		}
	}
	if d.CustomFrameDiffs {
		for size := r.bits(2); size != 0; size = r.bits(2) {
			if d.NumFrameDiffs == MaxFrameDiffs {
				return ErrLimits
			}
			d.FrameDiffs[d.NumFrameDiffs] = uint16(r.bits(4*int(size))) + 1
			d.NumFrameDiffs++
		}
	} else {
		d.NumFrameDiffs = int(t.NumFrameDiffs)
		for i := range d.NumFrameDiffs {
			d.FrameDiffs[i] = uint16(t.FrameDiffs[i])
		}
	}
	for c := range s.Chains {
		if d.CustomChains {
			d.ChainDiffs[c] = uint8(r.bits(8))
		} else {
			d.ChainDiffs[c] = t.ChainDiffs[c]
		}
	}
	return nil
}
