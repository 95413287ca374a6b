package rtppkt

import "testing"

// TestSeqRewriterDrop: a dropped input's output number goes to the next
// input, and an input older than a drop keeps its own.
func TestSeqRewriterDrop(t *testing.T) {
	var s SeqRewriter
	for _, step := range []struct {
		in   uint16
		drop bool
		want uint16
	}{{65534, false, 65534}, {65535, true, 0}, {0, false, 65535}, {2, true, 0}, {1, false, 0}, {3, false, 1}, {1, false, 0}, {4, true, 0}, {5, false, 2}} {
		if step.drop {
			s.Drop(step.in)
			continue
		}
		if got := s.Input(step.in); got != step.want {
			t.Fatalf("input %d: output %d, want %d", step.in, got, step.want)
		}
	}
}
