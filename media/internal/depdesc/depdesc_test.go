package depdesc

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// specL1T3Key is the first packet of a key frame with the L1T3 structure
// of the spec's example A.10.2.1 (template_id_offset 0, frame 1, one
// chain, decode targets 30, 15 and 7.5 fps), encoded by hand bit by bit.
var specL1T3Key = []byte{0xc0, 0x00, 0x01, 0x80, 0x02, 0x14, 0xea, 0xaa, 0x44, 0x10, 0x4d, 0x14, 0x10, 0x20, 0x84, 0x26}

// specL1T3Delta is a later one-packet frame on template 3 (T2), frame 2.
var specL1T3Delta = []byte{0xc3, 0x00, 0x02}

// specL1T3 is the structure specL1T3Key carries.
func specL1T3() *Structure {
	s := &Structure{DecodeTargets: 3, Chains: 1, NumTemplates: 5, MaxTemporalID: 2}
	tpl := []struct {
		t      uint8
		fdiffs []uint8
		chain  uint8
		dtis   [3]DTI
	}{
		{0, nil, 0, [3]DTI{Switch, Switch, Switch}},
		{0, []uint8{4}, 4, [3]DTI{Switch, Switch, Switch}},
		{1, []uint8{2}, 2, [3]DTI{Switch, Discardable, NotPresent}},
		{2, []uint8{1}, 1, [3]DTI{Discardable, NotPresent, NotPresent}},
		{2, []uint8{1}, 3, [3]DTI{Discardable, NotPresent, NotPresent}},
	}
	for i, x := range tpl {
		t := &s.Templates[i]
		t.TemporalID = x.t
		t.NumFrameDiffs = uint8(copy(t.FrameDiffs[:], x.fdiffs))
		t.ChainDiffs[0] = x.chain
		for dt, v := range x.dtis {
			t.dtis |= uint64(v) << (2 * dt)
		}
	}
	decodeTargetLayers(s)
	return s
}

// specL3T3 is the spec's L3T3 full SVC example (A.10.2.2): 15 templates,
// 9 decode targets (HD30 … QVGA7.5), 3 chains, with render resolutions.
func specL3T3() *Structure {
	s := &Structure{TemplateIDOffset: 10, DecodeTargets: 9, Chains: 3, NumTemplates: 15, MaxSpatialID: 2, MaxTemporalID: 2,
		ProtectedBy: [MaxDecodeTargets]uint8{2, 2, 2, 1, 1, 1, 0, 0, 0}, HasResolutions: true,
		Resolutions: [MaxSpatialLayers]Resolution{{320, 180}, {640, 360}, {1280, 720}}}
	tpl := []struct {
		s, t   uint8
		fdiffs []uint8
		chains [3]uint8
		dtis   string
	}{
		{0, 0, nil, [3]uint8{0, 0, 0}, "SSSSSSSSS"},
		{0, 0, []uint8{12}, [3]uint8{12, 11, 10}, "RRRRRRSSS"},
		{0, 1, []uint8{6}, [3]uint8{6, 5, 4}, "RR-RR-SD-"},
		{0, 2, []uint8{3}, [3]uint8{3, 2, 1}, "R--R--D--"},
		{0, 2, []uint8{3}, [3]uint8{9, 8, 7}, "R--R--D--"},
		{1, 0, []uint8{1}, [3]uint8{1, 1, 1}, "SSSSSS---"},
		{1, 0, []uint8{12, 1}, [3]uint8{1, 1, 1}, "RRRSSS---"},
		{1, 1, []uint8{6, 1}, [3]uint8{7, 6, 5}, "RR-SD----"},
		{1, 2, []uint8{3, 1}, [3]uint8{4, 3, 2}, "R--D-----"},
		{1, 2, []uint8{3, 1}, [3]uint8{10, 9, 8}, "R--D-----"},
		{2, 0, []uint8{1}, [3]uint8{2, 1, 1}, "SSS------"},
		{2, 0, []uint8{12, 1}, [3]uint8{2, 1, 1}, "SSS------"},
		{2, 1, []uint8{6, 1}, [3]uint8{8, 7, 6}, "SD-------"},
		{2, 2, []uint8{3, 1}, [3]uint8{5, 4, 3}, "D--------"},
		{2, 2, []uint8{3, 1}, [3]uint8{11, 10, 9}, "D--------"},
	}
	for i, x := range tpl {
		t := &s.Templates[i]
		t.SpatialID, t.TemporalID = x.s, x.t
		t.NumFrameDiffs = uint8(copy(t.FrameDiffs[:], x.fdiffs))
		copy(t.ChainDiffs[:], x.chains[:])
		for dt, c := range x.dtis {
			t.dtis |= uint64(map[rune]DTI{'-': NotPresent, 'D': Discardable, 'S': Switch, 'R': Required}[c]) << (2 * dt)
		}
	}
	decodeTargetLayers(s)
	return s
}

var cmpStructure = cmp.Options{cmp.AllowUnexported(Template{}), cmpopts.IgnoreFields(Structure{}, "Templates")}

// sameStructure compares the used parts of two structures.
func sameStructure(t *testing.T, got, want *Structure) {
	t.Helper()
	if diff := cmp.Diff(want, got, cmpStructure); diff != "" {
		t.Errorf("structure (-want +got):\n%s", diff)
	}
	for i := range want.NumTemplates {
		g, w := got.Templates[i], want.Templates[i]
		for c := want.Chains; c < MaxChains; c++ {
			g.ChainDiffs[c], w.ChainDiffs[c] = 0, 0
		}
		for f := w.NumFrameDiffs; f < MaxFrameDiffs; f++ {
			g.FrameDiffs[f], w.FrameDiffs[f] = 0, 0
		}
		if diff := cmp.Diff(w, g, cmp.AllowUnexported(Template{})); diff != "" {
			t.Errorf("template %d (-want +got):\n%s", i, diff)
		}
	}
}

func TestParseSpecL1T3(t *testing.T) {
	var p Parser
	var d Descriptor
	if err := p.Parse(specL1T3Delta, &d); !errors.Is(err, ErrNoStructure) {
		t.Fatalf("delta before any structure: %v, want ErrNoStructure", err)
	}
	if err := p.Parse(specL1T3Key, &d); err != nil {
		t.Fatal(err)
	}
	sameStructure(t, p.Structure(), specL1T3())
	if !d.StartOfFrame || !d.EndOfFrame || d.FrameNumber != 1 || !d.HasStructure || !d.KeyFrame() {
		t.Errorf("key frame descriptor: %+v", d)
	}
	if d.SpatialID != 0 || d.TemporalID != 0 || d.ActiveDecodeTargets != 0b111 || d.Chains != 1 || d.ChainDiffs[0] != 0 {
		t.Errorf("key frame layers/mask/chains: %+v", d)
	}
	for dt := range 3 {
		if !d.SwitchPoint(dt) {
			t.Errorf("key frame: DTI[%d] = %v, want S", dt, d.DTI(dt))
		}
	}
	if err := p.Parse(specL1T3Delta, &d); err != nil {
		t.Fatal(err)
	}
	if d.HasStructure || d.KeyFrame() || d.TemporalID != 2 || d.FrameNumber != 2 || d.NumFrameDiffs != 1 || d.FrameDiffs[0] != 1 || d.ChainDiffs[0] != 1 {
		t.Errorf("delta descriptor: %+v", d)
	}
	if got := [3]DTI{d.DTI(0), d.DTI(1), d.DTI(2)}; got != [3]DTI{Discardable, NotPresent, NotPresent} {
		t.Errorf("delta DTIs %v, want [D - -]", got)
	}
	// The spec's decode targets run from the highest: DT2 is 7.5 fps.
	s := p.Structure()
	if m := s.Mask(0, 0); m != 0b100 {
		t.Errorf("Mask(0, 0) = %03b, want 100", m)
	}
	if m := s.Mask(0, 1); m != 0b110 {
		t.Errorf("Mask(0, 1) = %03b, want 110", m)
	}
	if dt := s.DecodeTarget(0, 2); dt != 0 {
		t.Errorf("DecodeTarget(0, 2) = %d, want 0", dt)
	}
	if dt := s.DecodeTarget(1, 0); dt != -1 {
		t.Errorf("DecodeTarget(1, 0) = %d, want -1", dt)
	}
}

// TestMarshalParseL3T3 writes the spec's L3T3 structure with a key frame
// and frames of every template, and parses them back.
func TestMarshalParseL3T3(t *testing.T) {
	want := specL3T3()
	var buf [MaxSize]byte
	var p Parser
	var d Descriptor
	key := Descriptor{StartOfFrame: true, TemplateID: 10, FrameNumber: 65535, HasStructure: true}
	n, err := Marshal(buf[:], &key, want)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Parse(buf[:n], &d); err != nil {
		t.Fatalf("parse %x: %v", buf[:n], err)
	}
	sameStructure(t, p.Structure(), want)
	if !d.KeyFrame() || d.FrameNumber != 65535 || d.ActiveDecodeTargets != 0x1ff || d.EndOfFrame {
		t.Errorf("key: %+v", d)
	}
	// Decode targets are HD30 … QVGA7.5: layers (2,2) … (0,0).
	for dt, l := range [9][2]uint8{{2, 2}, {2, 1}, {2, 0}, {1, 2}, {1, 1}, {1, 0}, {0, 2}, {0, 1}, {0, 0}} {
		if got := [2]uint8{want.TargetSpatialID[dt], want.TargetTemporalID[dt]}; got != l {
			t.Errorf("decode target %d layers %v, want %v", dt, got, l)
		}
	}
	if m := want.Mask(1, 0); m != 1<<5|1<<8 {
		t.Errorf("Mask(1, 0) = %09b", m)
	}
	for i := range want.NumTemplates {
		fd := Descriptor{EndOfFrame: true, TemplateID: uint8(10 + i), FrameNumber: uint16(i)}
		n, err := Marshal(buf[:], &fd, want)
		if err != nil || n != 3 {
			t.Fatalf("template %d: %d bytes, %v", i, n, err)
		}
		if err := p.Parse(buf[:n], &d); err != nil {
			t.Fatal(err)
		}
		tp := &want.Templates[i]
		if d.SpatialID != tp.SpatialID || d.TemporalID != tp.TemporalID || d.NumFrameDiffs != int(tp.NumFrameDiffs) || d.ChainDiffs[2] != tp.ChainDiffs[2] {
			t.Errorf("template %d: %+v", i, d)
		}
		for dt := range 9 {
			if d.DTI(dt) != tp.DTI(dt) {
				t.Errorf("template %d DTI[%d] = %v, want %v", i, dt, d.DTI(dt), tp.DTI(dt))
			}
		}
	}
	if err := p.Parse([]byte{0x80 | 9, 0, 0}, &d); !errors.Is(err, ErrTemplate) {
		t.Errorf("template id below the offset: %v, want ErrTemplate", err)
	}
}

// TestCustomFields round-trips custom DTIs, frame diffs of every size
// and chain diffs.
func TestCustomFields(t *testing.T) {
	s := specL3T3()
	var p Parser
	var buf [MaxSize]byte
	n, _ := Marshal(buf[:], &Descriptor{TemplateID: 10, HasStructure: true}, s)
	var d Descriptor
	if err := p.Parse(buf[:n], &d); err != nil {
		t.Fatal(err)
	}
	in := Descriptor{StartOfFrame: true, TemplateID: 15, FrameNumber: 7, CustomDTIs: true, CustomFrameDiffs: true, CustomChains: true,
		NumFrameDiffs: 4, FrameDiffs: [MaxFrameDiffs]uint16{1, 16, 17, 4096}}
	for dt := range 9 {
		in.dtis |= uint64(dt%4) << (2 * dt)
	}
	copy(in.ChainDiffs[:], []uint8{200, 1, 255})
	if n, err := Marshal(buf[:], &in, s); err != nil {
		t.Fatal(err)
	} else if err := p.Parse(buf[:n], &d); err != nil {
		t.Fatal(err)
	}
	if d.dtis != in.dtis || d.NumFrameDiffs != 4 || d.FrameDiffs != in.FrameDiffs || [3]uint8(d.ChainDiffs[:3]) != [3]uint8{200, 1, 255} || d.SpatialID != 1 {
		t.Errorf("custom fields: got %+v", d)
	}
}

// TestSetActiveDecodeTargets rewrites a 3-byte descriptor, one with a
// structure and one with custom fields, and checks a receiver parses the
// same frame with the new bitmask.
func TestSetActiveDecodeTargets(t *testing.T) {
	var p Parser
	var d Descriptor
	var out [MaxSize]byte
	if err := p.Parse(specL1T3Key, &d); err != nil {
		t.Fatal(err)
	}
	// The key frame: the structure is kept bit for bit, the mask follows.
	n, err := SetActiveDecodeTargets(out[:], specL1T3Key, &d, 3, 0b100)
	if err != nil {
		t.Fatal(err)
	}
	var recv Parser
	var got Descriptor
	if err := recv.Parse(out[:n], &got); err != nil {
		t.Fatalf("parse %x: %v", out[:n], err)
	}
	sameStructure(t, recv.Structure(), specL1T3())
	if !got.HasStructure || !got.HasActiveDecodeTargets || got.ActiveDecodeTargets != 0b100 || got.FrameNumber != 1 || !got.KeyFrame() {
		t.Errorf("rewritten key frame: %+v", got)
	}
	// A 3-byte delta grows the extended fields: 3 + 1 byte (5 flags, 3
	// mask bits).
	if err := p.Parse(specL1T3Delta, &d); err != nil {
		t.Fatal(err)
	}
	n, err = SetActiveDecodeTargets(out[:], specL1T3Delta, &d, 3, 0b110)
	if err != nil || n != 4 {
		t.Fatalf("rewritten delta: %d bytes, %v", n, err)
	}
	if !bytes.Equal(out[:3], specL1T3Delta) || out[3] != 0b01000110 {
		t.Errorf("rewritten delta %x", out[:n])
	}
	if err := recv.Parse(out[:n], &got); err != nil {
		t.Fatal(err)
	}
	if got.ActiveDecodeTargets != 0b110 || got.TemporalID != 2 || got.FrameNumber != 2 || got.HasStructure {
		t.Errorf("rewritten delta parsed: %+v", got)
	}
	// The mask persists for descriptors without one.
	if err := recv.Parse(specL1T3Delta, &got); err != nil || got.ActiveDecodeTargets != 0b110 {
		t.Errorf("mask kept: %03b, %v", got.ActiveDecodeTargets, err)
	}
	// Custom fields after the mask are kept; an existing mask replaced.
	in := Descriptor{TemplateID: 2, FrameNumber: 3, HasActiveDecodeTargets: true, ActiveDecodeTargets: 0b011,
		CustomFrameDiffs: true, NumFrameDiffs: 2, FrameDiffs: [MaxFrameDiffs]uint16{300, 2}, CustomChains: true, ChainDiffs: [MaxChains]uint8{99}}
	var src [MaxSize]byte
	m, err := Marshal(src[:], &in, p.Structure())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Parse(src[:m], &d); err != nil {
		t.Fatal(err)
	}
	n, err = SetActiveDecodeTargets(out[:], src[:m], &d, 3, 0b111)
	if err != nil {
		t.Fatal(err)
	}
	if err := recv.Parse(out[:n], &got); err != nil {
		t.Fatal(err)
	}
	if got.ActiveDecodeTargets != 0b111 || got.NumFrameDiffs != 2 || got.FrameDiffs[0] != 300 || got.ChainDiffs[0] != 99 || got.TemporalID != 1 {
		t.Errorf("rewritten custom descriptor: %+v", got)
	}
}

// TestParseErrors: bad input gets a clear error and leaves the stream's
// structure and mask as they were.
func TestParseErrors(t *testing.T) {
	var p Parser
	var d Descriptor
	if err := p.Parse(specL1T3Key, &d); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"two bytes", []byte{0xc0, 0}, ErrShort},
		{"truncated structure", specL1T3Key[:10], ErrShort},
		{"mask without its bits", []byte{0xc0, 0, 5, 0b01000000}, nil},
		{"bad template", []byte{0xc0 | 7, 0, 5}, ErrTemplate},
		{"custom fdiffs unterminated", []byte{0xc0, 0, 5, 0b00010111, 0xff}, ErrShort},
	} {
		err := p.Parse(tc.b, &d)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// "mask without its bits": 5 flag bits + 3 mask bits fit in the 4th
	// byte, so it parsed and set the mask to 0; restore it.
	if err := p.Parse([]byte{0xc0, 0, 6, 0b01000111}, &d); err != nil || d.ActiveDecodeTargets != 7 {
		t.Fatal(err)
	}
	// Too many templates (65: all next_layer_idc 0).
	big := append([]byte{0xc0, 0, 1, 0x80, 0x00}, bytes.Repeat([]byte{0}, 20)...)
	if err := p.Parse(big, &d); !errors.Is(err, ErrLimits) {
		t.Errorf("65 templates: %v, want ErrLimits", err)
	}
	// A fifth spatial layer.
	five := []byte{0xc0, 0, 1, 0x80, 0x00, 0b10101010, 0b10000000}
	if err := p.Parse(five, &d); !errors.Is(err, ErrLimits) {
		t.Errorf("five spatial layers: %v, want ErrLimits", err)
	}
	sameStructure(t, p.Structure(), specL1T3())
	if err := p.Parse(specL1T3Delta, &d); err != nil || d.ActiveDecodeTargets != 7 {
		t.Errorf("after errors: mask %b, %v", d.ActiveDecodeTargets, err)
	}
}

// TestLatePackets: a retransmitted key frame packet (an older frame
// number) is parsed with its own structure but changes neither the
// stream's structure nor its bitmask.
func TestLatePackets(t *testing.T) {
	var p Parser
	var d Descriptor
	var buf [MaxSize]byte
	l3, _ := Marshal(buf[:], &Descriptor{StartOfFrame: true, TemplateID: 10, FrameNumber: 100, HasStructure: true}, specL3T3())
	for _, b := range [][]byte{specL1T3Key, buf[:l3], {0x80 | 10, 0, 101, 0b01000000, 0b00000100}} {
		if err := p.Parse(b, &d); err != nil {
			t.Fatal(err)
		}
	}
	if d.ActiveDecodeTargets != 1 {
		t.Fatalf("mask %b, want 1", d.ActiveDecodeTargets)
	}
	if err := p.Parse(buf[:l3], &d); err != nil || !d.KeyFrame() || d.ActiveDecodeTargets != 1 {
		t.Errorf("late L3T3 key frame: %v, %+v", err, d)
	}
	if err := p.Parse(specL1T3Key, &d); err != nil || !d.KeyFrame() || d.DecodeTargets != 3 {
		t.Errorf("late L1T3 key frame parsed with its own structure: %v, %+v", err, d)
	}
	sameStructure(t, p.Structure(), specL3T3())
	if p.active != 1 {
		t.Errorf("stream mask %b after late packets, want 1", p.active)
	}
	// Frame numbers wrap: 101 → 30000 → 60000 → 0 are each newer.
	for i, fn := range []uint16{30000, 60000, 0} {
		st := specL1T3()
		if i == 1 {
			st = specL3T3()
		}
		w, _ := Marshal(buf[:], &Descriptor{TemplateID: st.TemplateIDOffset, FrameNumber: fn, HasStructure: true}, st)
		if err := p.Parse(buf[:w], &d); err != nil {
			t.Fatal(err)
		}
		sameStructure(t, p.Structure(), st)
	}
}

// chromiumL1T3 are descriptors Chromium 156 sent for one AV1 simulcast
// stream with scalabilityMode L1T3 (TestChromiumAV1Temporal logs them):
// a key frame's three packets (the first with libwebrtc's L1T3 structure
// and a 320x240 render resolution), then T2, T2 and T1 frames; the
// frames after a key frame carry custom frame diffs and chain diffs (a
// simulcast sender numbers frames across its streams: the template's
// diffs do not fit).
var chromiumL1T3 = []string{
	"800027800214eaa860414d1410208427013f00ef", "000027", "400027",
	"8300291a2010", "4300291a2010", "82002b1a6020", "c000101ae040",
}

func TestChromiumDescriptors(t *testing.T) {
	var p Parser
	var d Descriptor
	type frame struct {
		number     uint16
		tid        uint8
		start, end bool
		key        bool
		fdiff      uint16 // 0: none
		chain      uint8
	}
	want := []frame{
		{39, 0, true, false, true, 0, 0}, {39, 0, false, false, false, 0, 0}, {39, 0, false, true, false, 0, 0},
		{41, 2, true, false, false, 2, 2}, {41, 2, false, true, false, 2, 2}, {43, 1, true, false, false, 4, 4},
		{16, 0, true, true, false, 8, 8},
	}
	for i, h := range chromiumL1T3 {
		b, _ := hex.DecodeString(h)
		if err := p.Parse(b, &d); err != nil {
			t.Fatalf("%s: %v", h, err)
		}
		got := frame{d.FrameNumber, d.TemporalID, d.StartOfFrame, d.EndOfFrame, d.KeyFrame(), 0, d.ChainDiffs[0]}
		if d.NumFrameDiffs == 1 {
			got.fdiff = d.FrameDiffs[0]
		}
		if got != want[i] {
			t.Errorf("%s: %+v, want %+v", h, got, want[i])
		}
	}
	// libwebrtc's L1T3: decode targets T0, T0-T1, all; a T1 frame is a
	// switch point for all layers (and discardable for T0-T1).
	s := p.Structure()
	if s.DecodeTargets != 3 || s.Chains != 1 || s.NumTemplates != 5 || s.Resolutions[0] != (Resolution{320, 240}) {
		t.Errorf("structure: %+v", s)
	}
	for i, dtis := range []string{"SSS", "SSS", "-DS", "--D", "--D"} {
		tp := &s.Templates[i]
		if got := tp.DTI(0).String() + tp.DTI(1).String() + tp.DTI(2).String(); got != dtis {
			t.Errorf("template %d DTIs %s, want %s", i, got, dtis)
		}
	}
	if s.Mask(0, 0) != 0b001 || s.DecodeTarget(0, 1) != 1 {
		t.Errorf("mask for T0 %03b, decode target of T1 %d", s.Mask(0, 0), s.DecodeTarget(0, 1))
	}
	// Rewritten with a bitmask, a delta keeps its custom diffs.
	b, _ := hex.DecodeString(chromiumL1T3[5])
	if err := p.Parse(b, &d); err != nil {
		t.Fatal(err)
	}
	var out [MaxSize]byte
	n, err := SetActiveDecodeTargets(out[:], b, &d, 3, 0b011)
	if err != nil {
		t.Fatal(err)
	}
	var got Descriptor
	if err := p.Parse(out[:n], &got); err != nil || got.ActiveDecodeTargets != 0b011 || got.FrameDiffs[0] != 4 || got.ChainDiffs[0] != 4 || got.TemporalID != 1 {
		t.Errorf("rewritten %x: %v %+v", out[:n], err, got)
	}
}

func TestParseAllocs(t *testing.T) {
	var p Parser
	var d Descriptor
	allocs := testing.AllocsPerRun(100, func() {
		_ = p.Parse(specL1T3Key, &d)
		_ = p.Parse(specL1T3Delta, &d)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per parse", allocs)
	}
}

func BenchmarkParse(b *testing.B) {
	var p Parser
	var d Descriptor
	if err := p.Parse(specL1T3Key, &d); err != nil {
		b.Fatal(err)
	}
	b.Run("delta", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = p.Parse(specL1T3Delta, &d)
		}
	})
	b.Run("key-L1T3", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = p.Parse(specL1T3Key, &d)
		}
	})
	var buf [MaxSize]byte
	n, _ := Marshal(buf[:], &Descriptor{TemplateID: 10, HasStructure: true}, specL3T3())
	b.Run("key-L3T3", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = p.Parse(buf[:n], &d)
		}
	})
	b.Run("set-mask", func(b *testing.B) {
		var out [MaxSize]byte
		_ = p.Parse(specL1T3Key, &d)
		_ = p.Parse(specL1T3Delta, &d)
		b.ReportAllocs()
		for b.Loop() {
			_, _ = SetActiveDecodeTargets(out[:], specL1T3Delta, &d, 3, 0b110)
		}
	})
}
