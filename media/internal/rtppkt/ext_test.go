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
