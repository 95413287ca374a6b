package rtppkt

import (
	"testing"

	"github.com/pion/rtp"
)

func TestMapExtensions(t *testing.T) {
	for _, two := range []bool{false, true} {
		p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1}, Payload: []byte{9, 9}}
		if two {
			p.ExtensionProfile = 0x1000
		} else {
			p.ExtensionProfile = 0xbede
		}
		must := func(err error) {
			if err != nil {
				t.Fatal(err)
			}
		}
		must(p.SetExtension(3, []byte{0xaa}))
		must(p.SetExtension(5, []byte{0xbb, 0xcc}))
		must(p.SetExtension(7, []byte{0xdd}))
		b, err := p.Marshal()
		must(err)
		h, ok := Parse(b)
		if !ok {
			t.Fatal("parse")
		}
		var m ExtMap
		m[3], m[7] = 4, 1 // 5 dropped
		if !MapExtensions(b, h, &m) {
			t.Fatal("MapExtensions failed")
		}
		var q rtp.Packet
		must(q.Unmarshal(b))
		if got := q.GetExtension(4); len(got) != 1 || got[0] != 0xaa {
			t.Fatalf("two=%v ext 4 = %x", two, got)
		}
		if got := q.GetExtension(1); len(got) != 1 || got[0] != 0xdd {
			t.Fatalf("two=%v ext 1 = %x", two, got)
		}
		if q.GetExtension(5) != nil || q.GetExtension(3) != nil || q.GetExtension(7) != nil {
			t.Fatalf("two=%v stale extensions %v", two, q.GetExtensionIDs())
		}
		if string(q.Payload) != "\x09\x09" {
			t.Fatal("payload moved")
		}
	}
}

func FuzzMapExtensions(f *testing.F) {
	f.Add([]byte{0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 0x30, 0xaa, 0x10, 0xbb}, byte(3), byte(4))
	f.Add([]byte{0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x10, 0x00, 0, 1, 3, 1, 0xaa, 0}, byte(3), byte(200))
	f.Fuzz(func(t *testing.T, b []byte, from, to byte) {
		h, ok := Parse(b)
		if !ok {
			return
		}
		var m ExtMap
		m[from] = to
		n := len(b)
		MapExtensions(b, h, &m)
		if h2, ok := Parse(b); !ok || h2.HeaderLen != h.HeaderLen || len(b) != n {
			t.Fatal("header changed shape")
		}
	})
}

func TestExtension(t *testing.T) {
	p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SSRC: 1}, Payload: []byte{1}}
	if err := p.SetExtension(10, []byte{0x80 | 30}); err != nil {
		t.Fatal(err)
	}
	if err := p.SetExtension(4, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	b, _ := p.Marshal()
	h, _ := Parse(b)
	if v, ok := Extension(b, h, 10); !ok || len(v) != 1 || v[0] != 0x80|30 {
		t.Fatalf("ext 10 = %x %v", v, ok)
	}
	if v, ok := Extension(b, h, 4); !ok || len(v) != 3 {
		t.Fatalf("ext 4 = %x %v", v, ok)
	}
	if _, ok := Extension(b, h, 5); ok {
		t.Fatal("ext 5 found")
	}
}

func TestCopyWithExtension(t *testing.T) {
	for _, tc := range []struct {
		name    string
		profile uint16
		exts    map[uint8][]byte
		id      uint8
		val     string
	}{
		{name: "none", id: 1, val: "3"},
		{name: "one-byte add", profile: 0xbede, exts: map[uint8][]byte{3: {0xaa}, 5: {1, 2, 3}}, id: 1, val: "12"},
		{name: "one-byte replace", profile: 0xbede, exts: map[uint8][]byte{1: []byte("longermid"), 5: {1, 2, 3}}, id: 1, val: "7"},
		{name: "one-byte to two-byte", profile: 0xbede, exts: map[uint8][]byte{3: {0xaa}}, id: 20, val: "7"},
		{name: "two-byte", profile: 0x1000, exts: map[uint8][]byte{3: {0xaa}, 200: {}}, id: 1, val: "99999999"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1, CSRC: []uint32{5}}, Payload: []byte{9, 8, 7}}
			if tc.profile != 0 {
				p.Extension, p.ExtensionProfile = true, tc.profile
				for id, v := range tc.exts {
					if err := p.SetExtension(id, v); err != nil {
						t.Fatal(err)
					}
				}
			}
			b, err := p.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			h, ok := Parse(b)
			if !ok {
				t.Fatal("parse")
			}
			dst := make([]byte, 1500)
			n := CopyWithExtension(dst, b, h.HeaderLen, tc.id, []byte(tc.val))
			if n == 0 {
				t.Fatal("CopyWithExtension failed")
			}
			var q rtp.Packet
			if err := q.Unmarshal(dst[:n]); err != nil {
				t.Fatal(err)
			}
			if got := string(q.GetExtension(tc.id)); got != tc.val {
				t.Fatalf("ext %d = %q, want %q", tc.id, got, tc.val)
			}
			for id, v := range tc.exts {
				if id != tc.id && string(q.GetExtension(id)) != string(v) {
					t.Fatalf("ext %d = %x, want %x", id, q.GetExtension(id), v)
				}
			}
			if string(q.Payload) != "\x09\x08\x07" || q.SSRC != 1 || len(q.CSRC) != 1 || q.CSRC[0] != 5 {
				t.Fatalf("packet changed: %+v", q)
			}
			if a := testing.AllocsPerRun(100, func() { CopyWithExtension(dst, b, h.HeaderLen, tc.id, []byte(tc.val)) }); a != 0 {
				t.Fatalf("%v allocations", a)
			}
		})
	}
	if n := CopyWithExtension(make([]byte, 10), make([]byte, 12), 12, 1, []byte("1")); n != 0 {
		t.Fatal("copied into a too small buffer")
	}
}

func FuzzCopyWithExtension(f *testing.F) {
	f.Add([]byte{0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 0x30, 0xaa, 0x10, 0xbb}, byte(1), "12")
	f.Add([]byte{0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x10, 0x00, 0, 1, 3, 1, 0xaa, 0}, byte(3), "")
	f.Fuzz(func(t *testing.T, b []byte, id byte, val string) {
		h, ok := Parse(b)
		if !ok {
			return
		}
		dst := make([]byte, 1600)
		n := CopyWithExtension(dst, b, h.HeaderLen, id, []byte(val))
		if n == 0 {
			return
		}
		h2, ok := Parse(dst[:n])
		if !ok {
			t.Fatal("output does not parse")
		}
		if got, ok := Extension(dst[:n], h2, id); !ok || string(got) != val {
			t.Fatalf("ext %d = %q, want %q", id, got, val)
		}
		if string(dst[h2.HeaderLen:n]) != string(b[h.HeaderLen:]) {
			t.Fatal("payload changed")
		}
	})
}

// TestCopyWithExtensions sets two elements at once (a consumer's MID and
// its transport's transport-wide sequence number), replacing both where
// the packet had them and keeping the others.
func TestCopyWithExtensions(t *testing.T) {
	for _, exts := range []map[uint8][]byte{nil, {1: []byte("old"), 5: {0, 1}, 3: {0xaa}}, {3: {0xaa}}} {
		p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1}, Payload: []byte{9, 8, 7}}
		for id, v := range exts {
			p.Extension, p.ExtensionProfile = true, 0xbede
			if err := p.SetExtension(id, v); err != nil {
				t.Fatal(err)
			}
		}
		b, _ := p.Marshal()
		h, _ := Parse(b)
		dst := make([]byte, 1500)
		n := CopyWithExtensions(dst, b, h.HeaderLen, 1, []byte("mid7"), 5, []byte{0x12, 0x34})
		var q rtp.Packet
		if err := q.Unmarshal(dst[:n]); n == 0 || err != nil {
			t.Fatalf("%v: n %d err %v", exts, n, err)
		}
		if string(q.GetExtension(1)) != "mid7" || string(q.GetExtension(5)) != "\x12\x34" || string(q.Payload) != "\x09\x08\x07" {
			t.Fatalf("%v: got mid %q twcc %x payload %x", exts, q.GetExtension(1), q.GetExtension(5), q.Payload)
		}
		if v, ok := exts[3]; ok && string(q.GetExtension(3)) != string(v) {
			t.Fatalf("%v: other element lost", exts)
		}
	}
	if CopyWithExtensions(make([]byte, 1500), make([]byte, 12), 12, 1, []byte("a"), 1, []byte("b")) != 0 {
		t.Fatal("same id twice accepted")
	}
}

// TestCopyWithElements sets three elements at once (MID, transport-wide
// sequence number, abs-send-time), one of them past the one-byte form's
// ids so that the block turns two-byte, without allocating.
func TestCopyWithElements(t *testing.T) {
	p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1}, Payload: []byte{9, 8, 7}}
	p.Extension, p.ExtensionProfile = true, 0xbede
	if err := p.SetExtension(3, []byte{0xab, 0xcd, 0xef}); err != nil {
		t.Fatal(err)
	}
	if err := p.SetExtension(4, []byte{0x55}); err != nil {
		t.Fatal(err)
	}
	b, _ := p.Marshal()
	h, _ := Parse(b)
	dst := make([]byte, 1500)
	for _, absID := range []uint8{3, 20} {
		els := []Element{{1, []byte("mid7")}, {5, []byte{0x12, 0x34}}, {absID, []byte{1, 2, 3}}}
		n := CopyWithElements(dst, b, h.HeaderLen, els)
		var q rtp.Packet
		if err := q.Unmarshal(dst[:n]); n == 0 || err != nil {
			t.Fatalf("abs id %d: n %d err %v", absID, n, err)
		}
		if string(q.GetExtension(1)) != "mid7" || string(q.GetExtension(5)) != "\x12\x34" ||
			string(q.GetExtension(absID)) != "\x01\x02\x03" || string(q.GetExtension(4)) != "\x55" || string(q.Payload) != "\x09\x08\x07" {
			t.Fatalf("abs id %d: got %+v", absID, q.Header)
		}
		if absID == 20 && (q.ExtensionProfile != 0x1000 || string(q.GetExtension(3)) != "\xab\xcd\xef") {
			t.Fatalf("abs id %d: profile %#x, element 3 %x", absID, q.ExtensionProfile, q.GetExtension(3))
		}
		if a := testing.AllocsPerRun(100, func() { CopyWithElements(dst, b, h.HeaderLen, els) }); a != 0 {
			t.Fatalf("%v allocations", a)
		}
	}
	if CopyWithElements(dst, b, h.HeaderLen, []Element{{1, []byte("a")}, {2, nil}, {1, []byte("b")}}) != 0 {
		t.Fatal("same id twice accepted")
	}
}
