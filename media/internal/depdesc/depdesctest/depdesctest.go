// Package depdesctest owns dependency descriptor structures for tests:
// libwebrtc's spatial scalability structures, as Chromium sends them
// with AV1, built from libwebrtc's rules, for tests that send AV1 SVC
// streams to an SFU.
package depdesctest

import "github.com/ropehq/rope/media/internal/depdesc"

// Template kinds, per spatial layer in this order (TemplateID).
const (
	KindKey = iota // the frame of the key temporal unit
	KindT0
	KindT1
	KindT2
)

// Pattern is the temporal layer of each temporal unit of LnT3, repeated.
var Pattern = [4]int{0, 2, 1, 2}

// SVC is libwebrtc's template dependency structure for LnT3 with n
// spatial layers (n from 1 to 4), full SVC (ScalabilityStructureFullSvc)
// or, if ksvc, LnT3_KEY (ScalabilityStructureKeySvc), with every layer
// frame numbered: decode target s*3+t is spatial layer s up to temporal
// layer t, and spatial layer s has templates 4s+KindKey ... 4s+KindT2.
// The key unit's S0 frame refers to nothing, its upper frames to the
// layer below; a delta frame refers to the layer below in its unit (full
// SVC only) and to its own layer's previous T0 (T0, T1 frames) or
// previous frame (T2). DTIs are libwebrtc's. Resolutions: 320×180
// doubled per layer. No chains (an SFU does not need them).
func SVC(n int, ksvc bool) *depdesc.Structure {
	s := &depdesc.Structure{DecodeTargets: n * 3, NumTemplates: n * 4, HasResolutions: true,
		MaxSpatialID: uint8(n - 1), MaxTemporalID: 2}
	for sid := range n {
		s.Resolutions[sid] = depdesc.Resolution{Width: 320 << sid, Height: 180 << sid}
		for k := range 4 {
			tp := &s.Templates[sid*4+k]
			tp.SpatialID, tp.TemporalID = uint8(sid), uint8(max(k-1, 0))
			if sid > 0 && (k == KindKey || !ksvc) {
				tp.FrameDiffs[tp.NumFrameDiffs] = 1
				tp.NumFrameDiffs++
			}
			if k != KindKey {
				tp.FrameDiffs[tp.NumFrameDiffs] = uint8(n * [4]int{0, 4, 2, 1}[k])
				tp.NumFrameDiffs++
			}
			for dt := range s.DecodeTargets {
				tp.SetDTI(dt, dti(dt/3, dt%3, sid, int(tp.TemporalID), k == KindKey, ksvc))
			}
		}
	}
	return s
}

// Template is the template ID of the frame of spatial layer sid in
// temporal unit i of the pattern (i 0 after a key frame), key if the
// unit is a key one.
func Template(sid, i int, key bool) uint8 {
	if key {
		return uint8(sid*4 + KindKey)
	}
	return uint8(sid*4 + Pattern[i%4] + 1)
}

// dti is libwebrtc's DTI of a frame of layers fs, ft for decode target
// ds, dt (ScalabilityStructureFullSvc::Dti, KeySvc::Dti).
func dti(ds, dt, fs, ft int, key, ksvc bool) depdesc.DTI {
	switch {
	case ds < fs || dt < ft:
		return depdesc.NotPresent
	case ksvc && key:
		return depdesc.Switch
	case ksvc && ds != fs:
		return depdesc.NotPresent
	case ds == fs && dt == ft && dt > 0:
		return depdesc.Discardable
	case ds == fs || key:
		return depdesc.Switch
	}
	return depdesc.Required
}
