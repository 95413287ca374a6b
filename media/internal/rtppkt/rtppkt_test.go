package rtppkt

import (
	"bytes"
	"testing"
	"time"
	"unsafe"

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
	s.Put(10, []byte{1, 2, 3}, 0)
	dst := make([]byte, MaxPacketLen)
	if n := s.Get(10, dst); n != 3 || dst[2] != 3 {
		t.Fatalf("Get = %d", n)
	}
	s.Put(10+StoreSize, []byte{9}, 0)
	if n := s.Get(10, dst); n != 0 {
		t.Fatal("overwritten slot still returned")
	}
	s.Reset()
	if n := s.Get(10+StoreSize, dst); n != 0 {
		t.Fatal("Get after Reset")
	}
}

func TestSeqMap(t *testing.T) {
	var m SeqMap
	if _, ok := m.Get(0); ok {
		t.Fatal("empty SeqMap has 0")
	}
	want := SeqInfo{In: 10, Stream: 1, TL0Offset: 3, TSOffset: 7, PicOffset: 900}
	m.Put(500, want)
	if info, ok := m.Get(500); !ok || info != want {
		t.Fatalf("SeqMap.Get = %+v, %v", info, ok)
	}
	if _, ok := m.Get(500 + StoreSize); ok {
		t.Fatal("SeqMap aliasing")
	}
	// 12 bytes an entry, and the bitmap.
	if size := unsafe.Sizeof(m); size != StoreSize*12+StoreSize/8 {
		t.Fatalf("SeqMap takes %d bytes", size)
	}
}

// storeFeed puts n packets of size bytes into s, at rate packets per
// second from seq and time *now on; packet i's bytes are all byte(seq).
func storeFeed(s *Store, seq *uint16, now *int64, n, size int, rate float64) {
	b := make([]byte, size)
	for i := 0; i < n; i++ {
		for j := range b {
			b[j] = byte(*seq)
		}
		s.Put(*seq, b, *now)
		*seq++
		*now += int64(float64(time.Second) / rate)
	}
}

// checkStore checks that the last n packets before seq are held intact
// and the one before them is not.
func checkStore(t *testing.T, s *Store, seq uint16, n, size int) {
	t.Helper()
	checkHeld(t, s, seq, n, size)
	dst := make([]byte, MaxPacketLen)
	if got := s.Get(seq-uint16(n)-1, dst); got != 0 {
		t.Fatalf("packet %d back still held (%d bytes)", n+1, got)
	}
}

// checkHeld checks that the last n packets before seq are held intact.
func checkHeld(t *testing.T, s *Store, seq uint16, n, size int) {
	t.Helper()
	dst := make([]byte, MaxPacketLen)
	for i := 1; i <= n; i++ {
		q := seq - uint16(i)
		got := s.Get(q, dst)
		if got != size || !bytes.Equal(dst[:got], bytes.Repeat([]byte{byte(q)}, size)) {
			t.Fatalf("packet %d back (seq %d): got %d bytes %v", i, q, got, dst[:min(got, 4)])
		}
	}
}

// TestStoreSizedToBitrate checks the store's ring: it holds StoreAge of
// the stream, growing with its bitrate up to StoreMaxBytes, packets
// survive its growth, and overwritten ones are not returned.
func TestStoreSizedToBitrate(t *testing.T) {
	cases := []struct {
		rate  float64
		size  int
		bytes int // the ring's size in the end
		held  int // packets held
	}{
		// 30 packets/s of 500 bytes: 2 s is 30 KB, within the first ring.
		{30, 500, StoreMinBytes, StoreMinBytes / 500},
		// 100/s of 1000 bytes: 2 s is 200 KB.
		{100, 1000, 224 << 10, (224 << 10) / 1000},
		// 150/s of 1000 bytes (a conference's 1.2 Mbit/s): 2 s is 300
		// KB; doubling the ring made it 512 KiB.
		{150, 1000, 320 << 10, (320 << 10) / 1000},
		// 1000/s of 1200 bytes: capped, and by the index too.
		{1000, 1200, StoreMaxBytes, min(StoreMaxBytes/1200, StoreSize)},
	}
	for _, c := range cases {
		var s Store
		var seq uint16 = 65000 // wraps around
		var now int64 = 1e9
		storeFeed(&s, &seq, &now, 3000, c.size, c.rate)
		if got := s.Bytes(); got != c.bytes {
			t.Errorf("%v/s of %d bytes: ring %d bytes, want %d", c.rate, c.size, got, c.bytes)
		}
		checkStore(t, &s, seq, c.held, c.size)
	}
}

// TestStoreGrowKeepsPackets checks packets stored before the ring grows
// are still returned after.
func TestStoreGrowKeepsPackets(t *testing.T) {
	var s Store
	var seq uint16
	var now int64
	// 700-byte packets: the first ring holds 46 of them, with a gap at
	// its end; the 47th laps it within StoreAge and grows it to 2 s at
	// 70 KB/s and a sixteenth more: 160 KiB.
	storeFeed(&s, &seq, &now, StoreMinBytes/700, 700, 100)
	if s.Bytes() != StoreMinBytes {
		t.Fatalf("ring %d bytes before its lap", s.Bytes())
	}
	storeFeed(&s, &seq, &now, 1, 700, 100)
	if s.Bytes() != 160<<10 {
		t.Fatalf("ring %d bytes after its lap, want %d", s.Bytes(), 160<<10)
	}
	checkStore(t, &s, seq, StoreMinBytes/700+1, 700)
	// The packets go on past the ring's end, and around it.
	storeFeed(&s, &seq, &now, 400, 700, 100)
	checkStore(t, &s, seq, (160<<10)/700-1, 700) // less the gap at its end
}

func TestHotPathAllocs(t *testing.T) {
	b := marshal(t, &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96}, Payload: make([]byte, 1000)})
	var s Store
	var sr SeqRewriter
	// The store's ring grows to its size for 100 packets/s first.
	var seq uint16
	var now int64
	storeFeed(&s, &seq, &now, 1000, 1000, 100)
	n := testing.AllocsPerRun(100, func() {
		h, _ := Parse(b)
		now += int64(10 * time.Millisecond)
		s.Put(h.SequenceNumber, b, now)
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

// TestStoreGrowsWithTheRate checks a ring that grows again when the
// stream's rate rises, after it wrapped around: what it held is still
// returned after each growth, up to StoreMaxBytes.
func TestStoreGrowsWithTheRate(t *testing.T) {
	var s Store
	var seq uint16 = 65300
	var now int64 = 1e9
	// 50/s of 1000 bytes: 2 s is 100 KB, 112 KiB with the sixteenth.
	storeFeed(&s, &seq, &now, 300, 1000, 50)
	if s.Bytes() != 112<<10 {
		t.Fatalf("ring %d bytes at 50 packets/s, want %d", s.Bytes(), 112<<10)
	}
	sizes := []int{s.Bytes()}
	for range 2000 {
		before := s.Bytes()
		storeFeed(&s, &seq, &now, 1, 1000, 300)
		if s.Bytes() != before {
			sizes = append(sizes, s.Bytes())
			// All that the old ring held but the gap at its end.
			checkHeld(t, &s, seq, before/1000-1, 1000)
		}
	}
	// The first lap at 300/s began at 50/s: a growth or two.
	if got := sizes[len(sizes)-1]; got != StoreMaxBytes || len(sizes) > 3 {
		t.Fatalf("ring sizes %v at 300 packets/s, want at most two growths, to %d", sizes, StoreMaxBytes)
	}
}
