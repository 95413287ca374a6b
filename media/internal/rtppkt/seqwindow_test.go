package rtppkt

import "testing"

// TestSeqWindowDrops: dropped inputs leave no gap, late inputs get the
// number they would have had, late dropped ones and ones before a Sync
// are refused, across the 16-bit wrap and for more drops than
// SeqRewriter remembers.
func TestSeqWindowDrops(t *testing.T) {
	var s SeqWindow
	start := uint16(65000)
	s.Sync(start - 1)
	want := uint16(1)
	outs := map[uint16]uint16{}
	var late []uint16
	for i := range uint16(1000) {
		in := start + i
		switch {
		case i%5 == 1: // held back, arrives late below
			late = append(late, in)
			want++ // its number is kept for it
			continue
		case i%5 >= 2: // dropped on purpose
			s.Drop(in)
			continue
		}
		out, ok := s.Input(in)
		if !ok || out != want {
			t.Fatalf("input %d: %d %v, want %d", in, out, ok, want)
		}
		outs[in] = out
		want++
	}
	for _, in := range late[len(late)-100:] {
		out, ok := s.Input(in)
		if !ok || out != outs[in-1]+1 {
			t.Fatalf("late input %d: %d %v, want %d", in, out, ok, outs[in-1]+1)
		}
	}
	if _, ok := s.Input(start + 997); ok {
		t.Fatal("a late dropped input got a number")
	}
	if out, ok := s.Input(start + 995); !ok || out != outs[start+995] {
		t.Fatalf("a repeated input got %d %v, want %d", out, ok, outs[start+995])
	}
	// After a Sync the sequence goes on; inputs before it are refused.
	s.Sync(start + 5000)
	if out, ok := s.Input(start + 5001); !ok || out != want {
		t.Fatalf("after Sync: %d %v, want %d", out, ok, want)
	}
	if _, ok := s.Input(start + 4990); ok {
		t.Fatal("an input before the Sync got a number")
	}
	if out, ok := s.Input(start + 6501); !ok || out != want+1500 {
		t.Fatalf("after a gap: %d %v, want %d", out, ok, want+1500)
	}
	if _, ok := s.Input(start + 5002); ok {
		t.Fatal("an input older than the window got a number")
	}
	if out, ok := s.Input(start + 6000); !ok || out != want+999 {
		t.Fatalf("a late input within the window: %d %v, want %d", out, ok, want+999)
	}
}

func TestSeqWindowDoesNotAllocate(t *testing.T) {
	var s SeqWindow
	in := uint16(0)
	if n := testing.AllocsPerRun(1000, func() {
		in++
		if in%3 == 0 {
			s.Drop(in)
		} else {
			s.Input(in)
		}
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}
