package vp9

import (
	"errors"
	"fmt"
	"testing"
)

func TestParseNonFlexible(t *testing.T) {
	// I P L F B E V Z = 1 0 1 0 1 0 1 0; 15-bit picture ID 0x1234;
	// TID 0 U 0 SID 0 D 0; TL0PICIDX 7; SS: N_S 2 (3 layers), Y, G; three
	// resolutions; N_G 1: TID 0 U 0 R 1, P_DIFF 1.
	p := []byte{0xaa, 0x92, 0x34, 0x00, 0x07,
		0x58, 0x01, 0x40, 0x00, 0xb4, 0x02, 0x80, 0x01, 0x68, 0x05, 0x00, 0x02, 0xd0,
		0x01, 0x04, 0x01,
		0xde, 0xad}
	var d Descriptor
	if err := Parse(p, &d); err != nil {
		t.Fatal(err)
	}
	if !d.HasPictureID || !d.LongPicture || d.PictureID != 0x1234 || d.PictureMask() != 0x7fff {
		t.Fatalf("picture ID: %+v", d)
	}
	if !d.HasLayers || d.Flexible || !d.Start || d.End || !d.HasSS || d.Predicted {
		t.Fatalf("flags: %+v", d)
	}
	if d.TID != 0 || d.SID != 0 || !d.HasTL0PicIdx || d.TL0PicIdx != 7 {
		t.Fatalf("layers: %+v", d)
	}
	if !d.KeyFrame {
		t.Fatal("not a key frame")
	}
	if d.Len != len(p)-2 {
		t.Fatalf("Len %d, want %d", d.Len, len(p)-2)
	}
	var ss SS
	if !d.ParseSS(p, &ss) {
		t.Fatal("no SS")
	}
	want := [3]Resolution{{320, 180}, {640, 360}, {1280, 720}}
	if ss.SpatialLayers != 3 || !ss.HasResolutions || [3]Resolution(ss.Resolutions[:3]) != want {
		t.Fatalf("SS %d layers %v", ss.SpatialLayers, ss.Resolutions[:3])
	}
	if !ss.HasGroup || ss.NumPictures != 1 || ss.Pictures[0].NumPDiffs != 1 || ss.Pictures[0].PDiff[0] != 1 {
		t.Fatalf("group %+v", ss.Pictures[0])
	}
}

func TestParseFlexible(t *testing.T) {
	// I P L F B E V Z = 1 1 1 1 0 1 0 0; 7-bit picture ID 5; TID 2 U 1 SID 1
	// D 1; P_DIFF 1 (N), P_DIFF 2 (N), P_DIFF 4.
	p := []byte{0xf4, 0x05, 0x53, 0x03, 0x05, 0x08, 0xff}
	var d Descriptor
	if err := Parse(p, &d); err != nil {
		t.Fatal(err)
	}
	if d.LongPicture || d.PictureID != 5 || d.PictureMask() != 0x7f {
		t.Fatalf("picture ID: %+v", d)
	}
	if d.TID != 2 || !d.SwitchingUp || d.SID != 1 || !d.InterLayer || d.HasTL0PicIdx {
		t.Fatalf("layers: %+v", d)
	}
	if d.NumPDiffs != 3 || d.PDiff != [3]uint8{1, 2, 4} || !d.End || d.Start || d.KeyFrame || d.Len != 6 {
		t.Fatalf("%+v", d)
	}
}

func TestKeyFrame(t *testing.T) {
	for _, c := range []struct {
		name string
		p    []byte
		key  bool
	}{
		{"no descriptor fields", []byte{0x08, 0x00}, true},
		{"predicted", []byte{0x48, 0x00}, false},
		{"not the start", []byte{0x00, 0x00}, false},
		{"spatial layer 1 of a key picture", []byte{0xa8, 0x01, 0x03, 0x00}, false},
		{"spatial layer 0 of a key picture", []byte{0xa8, 0x01, 0x00, 0x00}, true},
	} {
		var d Descriptor
		if err := Parse(c.p, &d); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if d.KeyFrame != c.key {
			t.Errorf("%s: key frame %v, want %v", c.name, d.KeyFrame, c.key)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		p   []byte
		err error
	}{
		{nil, ErrShort},
		{[]byte{0x80}, ErrShort},                     // I without picture ID
		{[]byte{0x80, 0x80}, ErrShort},               // M without its second byte
		{[]byte{0x20}, ErrShort},                     // L without layer indices
		{[]byte{0x20, 0x00}, ErrShort},               // non-flexible L without TL0PICIDX
		{[]byte{0x50}, ErrShort},                     // F and P without P_DIFF
		{[]byte{0x50, 0x03, 0x03, 0x03}, ErrInvalid}, // a fourth P_DIFF
		{[]byte{0x02}, ErrShort},                     // V without SS
		{[]byte{0x02, 0x50, 0x00}, ErrShort},         // SS with Y, resolutions cut
		{[]byte{0x02, 0x08}, ErrShort},               // SS with G, N_G missing
		{[]byte{0x02, 0x08, 0x01, 0x04}, ErrShort},   // a group picture's P_DIFF missing
	} {
		var d Descriptor
		if err := Parse(c.p, &d); !errors.Is(err, c.err) {
			t.Errorf("Parse(% x) = %v, want %v", c.p, err, c.err)
		}
	}
}

func TestParseDoesNotAllocate(t *testing.T) {
	p := []byte{0xaa, 0x92, 0x34, 0x00, 0x07, 0x18, 0x01, 0x04, 0x01, 0x00}
	var d Descriptor
	if n := testing.AllocsPerRun(100, func() { _ = Parse(p, &d) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

// FuzzParse checks that Parse never reads past the payload, that a
// descriptor it accepts has a length within it, and that its SS parses
// within it too; the payload is also parsed cut at every length.
func FuzzParse(f *testing.F) {
	f.Add([]byte{0xaa, 0x92, 0x34, 0x00, 0x07, 0x58, 0x01, 0x40, 0x00, 0xb4, 0x02, 0x80, 0x01, 0x68, 0x05, 0x00, 0x02, 0xd0, 0x01, 0x04, 0x01})
	f.Add([]byte{0xf4, 0x05, 0x53, 0x03, 0x05, 0x08, 0xff})
	f.Add([]byte{0x02, 0x08, 0x02, 0x0c, 0x01, 0x02, 0x00})
	f.Fuzz(func(t *testing.T, p []byte) {
		for n := 0; n <= len(p); n++ {
			var d Descriptor
			if err := Parse(p[:n], &d); err != nil {
				continue
			}
			if d.Len > n || d.Len < 1 {
				t.Fatalf("Len %d of %d", d.Len, n)
			}
			if d.SID > 7 || d.TID > 7 || d.NumPDiffs > 3 {
				t.Fatalf("%+v", d)
			}
			var ss SS
			if d.ParseSS(p[:n], &ss) != d.HasSS {
				t.Fatalf("ParseSS disagrees with V")
			}
			if d.HasSS && (ss.SpatialLayers < 1 || ss.SpatialLayers > MaxSpatialLayers) {
				t.Fatalf("SS %d layers", ss.SpatialLayers)
			}
			// A longer payload parses to the same descriptor.
			var e Descriptor
			if err := Parse(append(p[:n:n], 0), &e); err != nil || e != d {
				t.Fatalf("with a byte more: %v %+v vs %+v", err, e, d)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	p := []byte{0xa8, 0x92, 0x34, 0x53, 0x07, 0x00, 0x00}
	var d Descriptor
	b.ReportAllocs()
	for b.Loop() {
		_ = Parse(p, &d)
	}
}

// TestParseChromium parses descriptors Chromium 156 sent for VP9 with
// scalabilityMode L3T3_KEY at 1280x720 (captured at the engine's
// producer in TestChromiumSVC): flexible mode, 15-bit picture IDs, the
// scalability structure on key pictures (N_S grows as Chromium's
// estimate allows more layers), Z on frames no upper layer uses.
func TestParseChromium(t *testing.T) {
	hex := func(s string) []byte {
		b := make([]byte, len(s)/2)
		for i := range b {
			_, _ = fmt.Sscanf(s[2*i:2*i+2], "%02x", &b[i])
		}
		return b
	}
	for _, c := range []struct {
		name, hex string
		want      Descriptor
		ss        []Resolution
	}{
		{"key picture, one layer so far, with SS", "bed95e1010014000b4834983420013f00b30d0",
			Descriptor{HasPictureID: true, HasLayers: true, Flexible: true, Start: true, End: true, HasSS: true,
				LongPicture: true, PictureID: 0x595e, SwitchingUp: true, KeyFrame: true, Len: 9}, []Resolution{{320, 180}}},
		{"T2 frame", "fdd960500287000000027e01663001c120",
			Descriptor{HasPictureID: true, Predicted: true, HasLayers: true, Flexible: true, Start: true, End: true, NotReference: true,
				LongPicture: true, PictureID: 0x5960, TID: 2, SwitchingUp: true, NumPDiffs: 1, PDiff: [3]uint8{1}, Len: 5}, nil},
		{"key picture, two layers, base layer start", "bad9661030014000b402800168834983420013f00b3813f80b",
			Descriptor{HasPictureID: true, HasLayers: true, Flexible: true, Start: true, HasSS: true,
				LongPicture: true, PictureID: 0x5966, SwitchingUp: true, KeyFrame: true, Len: 13}, []Resolution{{320, 180}, {640, 360}}},
		{"key picture, spatial layer 1", "b8d966138702020004fe02ceb0a1c120e0",
			Descriptor{HasPictureID: true, HasLayers: true, Flexible: true, Start: true,
				LongPicture: true, PictureID: 0x5966, SwitchingUp: true, SID: 1, InterLayer: true, Len: 4}, nil},
		{"T2 frame, spatial layer 1", "fdd96752028700200004fe02ce33f1c120",
			Descriptor{HasPictureID: true, Predicted: true, HasLayers: true, Flexible: true, Start: true, End: true, NotReference: true,
				LongPicture: true, PictureID: 0x5967, TID: 2, SwitchingUp: true, SID: 1, NumPDiffs: 1, PDiff: [3]uint8{1}, Len: 5}, nil},
	} {
		p := hex(c.hex)
		var d Descriptor
		if err := Parse(p, &d); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		c.want.ssOff = d.ssOff
		if d != c.want {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, d, c.want)
		}
		var ss SS
		if d.ParseSS(p, &ss) != (c.ss != nil) {
			t.Fatalf("%s: SS %v", c.name, d.HasSS)
		}
		if c.ss != nil && (ss.SpatialLayers != len(c.ss) || [MaxSpatialLayers]Resolution(append(c.ss, make([]Resolution, MaxSpatialLayers-len(c.ss))...)) != ss.Resolutions) {
			t.Errorf("%s: SS %d layers %v, want %v", c.name, ss.SpatialLayers, ss.Resolutions, c.ss)
		}
	}
}
