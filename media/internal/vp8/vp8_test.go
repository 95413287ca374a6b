package vp8

import (
	"testing"
)

// payload builds a VP8 payload with a 15-bit picture ID, TL0PICIDX and
// TID (Y set when sync), starting partition 0 of a frame.
func payload(pic uint16, tl0 uint8, tid uint8, sync, key bool) []byte {
	p := []byte{0x90, 0xe0, 0x80 | byte(pic>>8), byte(pic), tl0, tid << 6, 0x01, 0xaa}
	if sync {
		p[5] |= 0x20
	}
	if key {
		p[6] = 0x00
	}
	return p
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    []byte
		want Descriptor
	}{
		{"basic", []byte{0x10, 0x00}, Descriptor{Start: true, Len: 1, KeyFrame: true}},
		{"inter", []byte{0x10, 0x01}, Descriptor{Start: true, Len: 1}},
		{"not start", []byte{0x00, 0x00}, Descriptor{Len: 1}},
		{"7-bit", []byte{0xb1, 0x80, 0x7f, 0x00}, Descriptor{Extended: true, NonReference: true, Start: true, PartitionID: 1, HasPictureID: true, PictureID: 127, Len: 3, picOff: 2}},
		{"full", []byte{0x90, 0xf0, 0x92, 0x34, 0x07, 0b10111010, 0x00}, Descriptor{Extended: true, Start: true, HasPictureID: true, LongPicture: true, PictureID: 0x1234,
			HasTL0PicIdx: true, TL0PicIdx: 7, HasTID: true, TID: 2, LayerSync: true, HasKeyIdx: true, KeyIdx: 0x1a, KeyFrame: true, Len: 6, picOff: 2, tl0Off: 4}},
		{"K only", []byte{0x80, 0x10, 0x05}, Descriptor{Extended: true, HasKeyIdx: true, KeyIdx: 5, Len: 3}},
	} {
		var d Descriptor
		if err := Parse(tc.p, &d); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if d != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, d, tc.want)
		}
	}
	for _, p := range [][]byte{{}, {0x80}, {0x80, 0x80}, {0x80, 0x80, 0x80}, {0x80, 0x40}, {0x80, 0x20}, {0x80, 0xc0, 0x01}} {
		var d Descriptor
		if err := Parse(p, &d); err != ErrShort {
			t.Errorf("% x: err %v, want ErrShort", p, err)
		}
	}
}

func TestWrite(t *testing.T) {
	p := payload(5, 9, 1, false, false)
	var d Descriptor
	if err := Parse(p, &d); err != nil {
		t.Fatal(err)
	}
	d.Write(p, 0x7abc, 200)
	var e Descriptor
	if err := Parse(p, &e); err != nil || e.PictureID != 0x7abc || e.TL0PicIdx != 200 || e.TID != 1 || !e.LongPicture {
		t.Fatalf("after Write: %+v %v", e, err)
	}
	short := []byte{0x90, 0x80, 0x05, 0x01}
	_ = Parse(short, &d)
	d.Write(short, 0x1ff, 0)
	if short[2] != 0x7f || short[3] != 0x01 {
		t.Fatalf("7-bit write: % x", short)
	}
}

// l1t3 is the TID of picture i in the L1T3 pattern.
func l1t3(i int) uint8 { return [4]uint8{0, 2, 1, 2}[i%4] }

// stream is a sender of one L1T3 VP8 stream.
type stream struct {
	pic uint16
	tl0 uint8
	i   int
}

// next returns the descriptor of the stream's next picture (a key frame
// when key).
func (s *stream) next(t *testing.T, key bool) (Descriptor, []byte) {
	t.Helper()
	tid := l1t3(s.i)
	if key {
		tid = 0
	}
	if tid == 0 && s.i > 0 {
		s.tl0++
	}
	p := payload(s.pic, s.tl0, tid, tid != 0 && s.i%4 < 3, key)
	s.pic = (s.pic + 1) & 0x7fff
	s.i++
	var d Descriptor
	if err := Parse(p, &d); err != nil {
		t.Fatal(err)
	}
	return d, p
}

// TestContextTemporalLayers: with each target, only TIDs up to it are
// forwarded, picture IDs go on by one, TL0PICIDX goes on by one at each
// TID 0 and stays otherwise.
func TestContextTemporalLayers(t *testing.T) {
	for target := 0; target <= 2; target++ {
		c := NewContext(target)
		c.SetCurrent(0)
		s := &stream{pic: 0x7ff0, tl0: 254}
		var lastPic uint16
		var lastTL0 uint8
		sent := 0
		for i := 0; i < 40; i++ {
			d, p := s.next(t, i == 0)
			pic, tl0, ok := c.Process(&d)
			if ok != (int(d.TID) <= target) {
				t.Fatalf("target %d picture %d TID %d: forwarded %v", target, i, d.TID, ok)
			}
			if !ok {
				continue
			}
			d.Write(p, pic, tl0)
			if sent > 0 {
				if pic != (lastPic+1)&0x7fff {
					t.Fatalf("target %d: picture ID %d after %d", target, pic, lastPic)
				}
				if want := lastTL0 + map[bool]uint8{true: 1, false: 0}[d.TID == 0]; tl0 != want {
					t.Fatalf("target %d: TL0PICIDX %d after %d (TID %d)", target, tl0, lastTL0, d.TID)
				}
			}
			lastPic, lastTL0 = pic, tl0
			sent++
		}
		if c.Current() != target {
			t.Fatalf("current %d, want %d", c.Current(), target)
		}
	}
}

// TestContextSwitches: switching streams (sync at a key frame) and
// temporal targets keeps the output continuous; an upgrade waits for a
// layer sync frame.
func TestContextSwitches(t *testing.T) {
	c := NewContext(2)
	streams := []*stream{{pic: 10, tl0: 3}, {pic: 30000, tl0: 100}, {pic: 0x7ffe, tl0: 255}}
	cur := 0
	c.SetCurrent(0)
	var lastPic uint16
	var lastTL0 uint8
	first := true
	for round := 0; round < 50; round++ {
		next := (cur + 1 + round%2) % 3
		target := round % 3
		for i := 0; i < 12; i++ {
			for si, s := range streams {
				key := i == 0 && si == next
				d, _ := s.next(t, key)
				if si != cur && !key {
					continue
				}
				if key {
					if si != next {
						continue
					}
					cur = si
					c.SyncRequired()
					c.SetTarget(target)
					c.SetCurrent(int(d.TID))
				}
				pic, tl0, ok := c.Process(&d)
				if !ok {
					if int(d.TID) <= c.Target() && (d.LayerSync || int(d.TID) <= c.Current()) {
						t.Fatalf("round %d: dropped TID %d (target %d current %d)", round, d.TID, c.Target(), c.Current())
					}
					continue
				}
				if int(d.TID) > target {
					t.Fatalf("round %d: forwarded TID %d above target %d", round, d.TID, target)
				}
				if !first {
					if pic != (lastPic+1)&0x7fff {
						t.Fatalf("round %d: picture ID %d after %d", round, pic, lastPic)
					}
					if d.TID == 0 && tl0 != lastTL0+1 || d.TID != 0 && tl0 != lastTL0 {
						t.Fatalf("round %d: TL0PICIDX %d after %d (TID %d)", round, tl0, lastTL0, d.TID)
					}
				}
				first = false
				lastPic, lastTL0 = pic, tl0
			}
		}
	}
}

// TestContextLatePacket: a packet of an earlier picture arriving after a
// drop keeps its own output number, and the packets of a dropped picture
// stay dropped.
func TestContextLatePacket(t *testing.T) {
	c := NewContext(0)
	c.SetCurrent(0)
	d := func(pic uint16, tid uint8) *Descriptor {
		var d Descriptor
		if err := Parse(payload(pic, 1, tid, false, false), &d); err != nil {
			t.Fatal(err)
		}
		return &d
	}
	for _, step := range []struct {
		pic  uint16
		tid  uint8
		ok   bool
		want uint16
	}{{100, 0, true, 100}, {101, 1, false, 0}, {100, 0, true, 100}, {101, 1, false, 0}, {102, 0, true, 101}, {100, 0, true, 100}, {103, 2, false, 0}, {104, 0, true, 102}} {
		pic, _, ok := c.Process(d(step.pic, step.tid))
		if ok != step.ok || ok && pic != step.want {
			t.Fatalf("picture %d: got %d %v, want %d %v", step.pic, pic, ok, step.want, step.ok)
		}
	}
}

func FuzzDescriptor(f *testing.F) {
	f.Add(payload(5, 9, 1, true, false), uint8(1))
	f.Add([]byte{0xb1, 0x80, 0x7f, 0x00}, uint8(0))
	f.Add([]byte{0x80, 0xf0, 0x80}, uint8(2))
	f.Fuzz(func(t *testing.T, p []byte, target uint8) {
		var d Descriptor
		if err := Parse(p, &d); err != nil {
			return
		}
		if d.Len > len(p) {
			t.Fatalf("Len %d beyond %d", d.Len, len(p))
		}
		c := NewContext(int(target % 3))
		c.SyncRequired()
		pic, tl0, ok := c.Process(&d)
		if !ok {
			return
		}
		q := append([]byte(nil), p...)
		d.Write(q, pic, tl0)
		var e Descriptor
		if err := Parse(q, &e); err != nil {
			t.Fatalf("rewritten payload does not parse: %v", err)
		}
		if e.HasPictureID && e.PictureID != pic&d.pictureMask() || e.HasTL0PicIdx && e.TL0PicIdx != tl0 || e.Len != d.Len || e.TID != d.TID {
			t.Fatalf("rewrite %+v -> %+v (pic %d tl0 %d)", d, e, pic, tl0)
		}
	})
}

func BenchmarkProcess(b *testing.B) {
	c := NewContext(2)
	c.SetCurrent(0)
	p := payload(0, 0, 0, false, false)
	b.ReportAllocs()
	var d Descriptor
	for i := 0; i < b.N; i++ {
		p[2], p[3] = 0x80|byte(i>>8)&0x7f, byte(i)
		_ = Parse(p, &d)
		pic, tl0, ok := c.Process(&d)
		if ok {
			d.Write(p, pic, tl0)
		}
	}
}
