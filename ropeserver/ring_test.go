package ropeserver

import (
	"strconv"
	"testing"
)

func msgOf(seq uint64, size int) []byte {
	b := make([]byte, size)
	copy(b, strconv.FormatUint(seq, 10))
	return b
}

// The replay ring keeps the latest notifications within both of its
// bounds, and replays exactly those after a seq it still covers.
func TestReplayRingBounds(t *testing.T) {
	r := newReplayRing(4, 100)
	if out, ok := r.since(0, 0); !ok || len(out) != 0 {
		t.Fatalf("empty ring, since 0: %v %v", out, ok)
	}
	for seq := uint64(1); seq <= 6; seq++ { // the count bound keeps 3..6
		r.put(seq, ringEntry{msg: msgOf(seq, 10)})
	}
	if r.n != 4 || r.bytes != 40 {
		t.Fatalf("kept %d, %d bytes; want 4, 40", r.n, r.bytes)
	}
	if _, ok := r.since(1, 6); ok {
		t.Error("since 1: 2 has left the ring")
	}
	out, ok := r.since(2, 6)
	if !ok || len(out) != 4 || string(out[0][:1]) != "3" || string(out[3][:1]) != "6" {
		t.Fatalf("since 2: %q %v", out, ok)
	}
	if _, ok := r.since(7, 6); ok {
		t.Error("since a future seq")
	}
	r.put(7, ringEntry{msg: msgOf(7, 80)}) // the byte bound keeps 5..7
	if r.n != 3 || r.bytes != 100 || r.first != 5 {
		t.Fatalf("kept %d from %d, %d bytes; want 3 from 5, 100", r.n, r.first, r.bytes)
	}
	if out, ok := r.since(4, 7); !ok || len(out) != 3 || string(out[2][:1]) != "7" {
		t.Fatalf("since 4: %q %v", out, ok)
	}
	if _, ok := r.since(3, 7); ok {
		t.Error("since 3: 4 has left the ring")
	}
	r.put(8, ringEntry{msg: msgOf(8, 101)}) // larger than the ring: nothing replays across it
	if r.n != 0 || r.bytes != 0 {
		t.Fatalf("kept %d, %d bytes after an oversized one", r.n, r.bytes)
	}
	if _, ok := r.since(7, 8); ok {
		t.Error("since 7 across an oversized notification")
	}
	if out, ok := r.since(8, 8); !ok || len(out) != 0 {
		t.Errorf("since 8 (up to date): %v %v", out, ok)
	}
	r.put(9, ringEntry{msg: msgOf(9, 10)})
	if out, ok := r.since(8, 9); !ok || len(out) != 1 || string(out[0][:1]) != "9" {
		t.Errorf("since 8: %q %v", out, ok)
	}
}
