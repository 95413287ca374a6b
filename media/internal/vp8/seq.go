package vp8

// maxDrops bounds the dropped inputs a seqManager remembers.
const maxDrops = 64

// seqManager maps an input number space (modulo mask+1) onto an output
// one that stays continuous across a Sync and skips dropped inputs, as
// mediasoup's SeqManager<T, N>: dropping the newest input makes the next
// one take its output number; an input older than a drop (late) keeps
// the number it would have had. It remembers the last maxDrops drops.
type seqManager struct {
	started   bool
	base      uint16
	maxInput  uint16
	maxOutput uint16
	drops     [maxDrops]uint16
	nDrops    int
}

// higher reports whether a follows b in mask's number space.
func higher(a, b, mask uint16) bool {
	d := (a - b) & mask
	return d != 0 && d <= mask>>1
}

// sync makes the input after in take the output after the highest so far.
func (s *seqManager) sync(in, mask uint16) {
	s.nDrops = 0
	if !s.started {
		return
	}
	s.base = (s.maxOutput - in) & mask
	s.maxInput = in
}

// drop removes input in (if it is the newest yet) from the output.
func (s *seqManager) drop(in, mask uint16) {
	if !s.started || !higher(in, s.maxInput, mask) {
		return
	}
	// Every input between the newest and in was lost on the way: they
	// keep their numbers; in's is freed.
	s.maxInput = in
	s.base = (s.base - 1) & mask
	s.prune(mask)
	if s.nDrops == maxDrops {
		copy(s.drops[:], s.drops[1:])
		s.nDrops--
	}
	s.drops[s.nDrops] = in
	s.nDrops++
}

// prune forgets drops too far behind the newest input to matter.
func (s *seqManager) prune(mask uint16) {
	window := (mask + 1) / 4
	j := 0
	for _, d := range s.drops[:s.nDrops] {
		if (s.maxInput-d)&mask < window {
			s.drops[j] = d
			j++
		}
	}
	s.nDrops = j
}

// input maps in to its output; false if in was dropped.
func (s *seqManager) input(in, mask uint16) (uint16, bool) {
	in &= mask
	if !s.started {
		s.started, s.maxInput, s.maxOutput = true, in, in
		s.base = 0
		return in, true
	}
	out := in + s.base
	for _, d := range s.drops[:s.nDrops] {
		if d == in {
			return 0, false
		}
		if higher(d, in, mask) {
			out++ // dropped after in: base moved on since
		}
	}
	out &= mask
	if higher(in, s.maxInput, mask) {
		s.maxInput = in
		s.prune(mask)
	}
	if higher(out, s.maxOutput, mask) {
		s.maxOutput = out
	}
	return out, true
}
