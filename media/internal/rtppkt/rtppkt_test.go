package rtppkt

import (
	"bytes"
	"testing"

	"github.com/pion/rtp"
)

func marshal(t testing.TB, p *rtp.Packet) []byte {
	t.Helper()
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseMatchesPion(t *testing.T) {
	p := &rtp.Packet{
		Header: rtp.Header{
			Version: 2, Marker: true, PayloadType: 96, SequenceNumber: 65535,
			Timestamp: 123456, SSRC: 0xdeadbeef, CSRC: []uint32{1, 2},
		},
		Payload: []byte{1, 2, 3, 4},
	}
	if err := p.SetExtension(1, []byte{0xaa}); err != nil {
		t.Fatal(err)
	}
	b := marshal(t, p)
	h, ok := Parse(b)
	if !ok {
		t.Fatal("Parse failed")
	}
	if !h.Marker || h.PayloadType != 96 || h.SequenceNumber != 65535 ||
		h.Timestamp != 123456 || h.SSRC != 0xdeadbeef {
		t.Fatalf("header = %+v", h)
	}
	if !bytes.Equal(b[h.HeaderLen:], p.Payload) {
		t.Fatalf("payload = %x", b[h.HeaderLen:])
	}
	SetSSRC(b, 7)
	SetSequenceNumber(b, 9)
	SetPayloadType(b, 100)
	SetTimestamp(b, 11)
	var q rtp.Packet
	if err := q.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	if q.SSRC != 7 || q.SequenceNumber != 9 || q.PayloadType != 100 || !q.Marker || q.Timestamp != 11 {
		t.Fatalf("rewritten = %+v", q.Header)
	}
}

func TestParseRejects(t *testing.T) {
	for _, b := range [][]byte{
		nil,
		{0x80, 96},
		{0x40, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, // version 1
		{0x80, 200, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},                       // RTCP
		{0x81, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},                        // CSRC missing
		{0x90, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0, 1},      // ext body missing
		{0xa0, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},                     // zero padding
		{0xa0, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 200}, // padding too long
	} {
		if _, ok := Parse(b); ok {
			t.Errorf("Parse(%x) ok", b)
		}
	}
}

func TestSeqRewriter(t *testing.T) {
	var s SeqRewriter
	s.Sync(99)
	var outs []uint16
	for _, in := range []uint16{100, 101, 102} {
		outs = append(outs, s.Input(in))
	}
	// Gap on purpose (pause): inputs 103..199 dropped, then sync.
	s.Sync(199)
	for _, in := range []uint16{200, 201} {
		outs = append(outs, s.Input(in))
	}
	// Source change with wrap-around.
	s.Sync(65534)
	outs = append(outs, s.Input(65535), s.Input(0))
	for i := 1; i < len(outs); i++ {
		if outs[i] != outs[i-1]+1 {
			t.Fatalf("not continuous: %v", outs)
		}
	}
	// A late (reordered) packet maps consistently but does not move max.
	if got := s.Input(65535); got != outs[len(outs)-2] {
		t.Fatalf("reordered maps to %d", got)
	}
	if s.MaxOutput() != outs[len(outs)-1] {
		t.Fatalf("max = %d", s.MaxOutput())
	}
}

func TestStore(t *testing.T) {
	var s Store
	var m SeqMap
	s.Put(10, []byte{1, 2, 3})
	m.Put(500, SeqInfo{In: 10, Stream: 1, TSOffset: 7})
	info, ok := m.Get(500)
	if !ok || info.In != 10 || info.Stream != 1 || info.TSOffset != 7 {
		t.Fatalf("SeqMap.Get = %+v, %v", info, ok)
	}
	if _, ok := m.Get(500 + StoreSize); ok {
		t.Fatal("SeqMap aliasing")
	}
	dst := make([]byte, MaxPacketLen)
	if n := s.Get(10, dst); n != 3 || dst[2] != 3 {
		t.Fatalf("Get = %d", n)
	}
	s.Put(10+StoreSize, []byte{9})
	if n := s.Get(10, dst); n != 0 {
		t.Fatal("overwritten slot still returned")
	}
}

func TestHotPathAllocs(t *testing.T) {
	b := marshal(t, &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96}, Payload: make([]byte, 1000)})
	var s Store
	var sr SeqRewriter
	n := testing.AllocsPerRun(100, func() {
		h, _ := Parse(b)
		s.Put(h.SequenceNumber, b)
		SetSequenceNumber(b, sr.Input(h.SequenceNumber))
	})
	if n != 0 {
		t.Fatalf("allocs = %v", n)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte{0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1})
	f.Add([]byte{0x90, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0, 1, 0x10, 0xaa, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := Parse(b)
		if !ok {
			return
		}
		if h.HeaderLen+h.PaddingLen > len(b) {
			t.Fatalf("header %d + padding %d > %d", h.HeaderLen, h.PaddingLen, len(b))
		}
		var p rtp.Packet
		if err := p.Unmarshal(b); err != nil {
			return // pion is stricter in places; we only need to be safe
		}
		if p.SSRC != h.SSRC || p.SequenceNumber != h.SequenceNumber {
			t.Fatalf("mismatch with pion: %+v vs %+v", h, p.Header)
		}
	})
}
