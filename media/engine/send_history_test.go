package engine

import (
	"testing"

	"github.com/ropehq/rope/media/internal/rtppkt"
)

// TestSeqLog checks a seqLog against the inputs a SeqRewriter gave each
// output: across resyncs (new bases), sequence number wrap-around,
// reordered input, and the limits of its window and of its ring of bases.
func TestSeqLog(t *testing.T) {
	var l seqLog
	var rw rtppkt.SeqRewriter
	want := map[uint16]uint16{} // output -> input
	in := uint16(65500)
	send := func(n int) {
		for range n {
			out := rw.Input(in)
			l.put(out, in)
			want[out] = in
			in++
		}
	}
	rw.Sync(in - 1)
	send(20)
	// A resync: the sender jumped (a restart), the outputs go on.
	in += 5000
	rw.Sync(in - 1)
	send(30)
	// A reordered packet: the input before the last comes again late.
	late := in - 2
	out := rw.Input(late)
	if out != rw.MaxOutput()-1 {
		t.Fatalf("late input mapped to %d", out)
	}
	l.put(out, late)
	check := func() {
		t.Helper()
		for out, in := range want {
			got, ok := l.get(out)
			if !ok || got != in {
				t.Fatalf("output %d: got input %d, %v; want %d", out, got, ok, in)
			}
		}
	}
	check()
	if _, ok := l.get(rw.MaxOutput() + 1); ok {
		t.Fatal("an output not sent yet is known")
	}
	// Past the window, an output is forgotten.
	first := rw.MaxOutput() - 49
	send(rtppkt.StoreSize)
	if _, ok := l.get(first); ok {
		t.Fatal("an output older than the window is known")
	}
	// More resyncs than the ring holds: the oldest bases go.
	for out := range want {
		if rw.MaxOutput()-out >= rtppkt.StoreSize {
			delete(want, out)
		}
	}
	old := rw.MaxOutput()
	for range seqLogSize {
		in += 100
		rw.Sync(in - 1)
		send(1)
	}
	if _, ok := l.get(old); ok {
		t.Fatal("an output of an evicted base is known")
	}
	if got, ok := l.get(rw.MaxOutput()); !ok || got != in-1 {
		t.Fatalf("newest output: got %d, %v", got, ok)
	}
}
