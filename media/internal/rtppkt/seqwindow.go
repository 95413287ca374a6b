package rtppkt

// seqWindow is how many of the newest input numbers a SeqWindow
// remembers exactly (a power of two).
const seqWindow = 1024

// SeqWindow maps a source's sequence numbers onto an output sequence that
// stays continuous when packets are dropped on purpose, as SeqRewriter,
// for sources that drop most of their packets (an SVC consumer dropping
// the layers above its target): it remembers the output number and the
// drop of each of the last 1,024 inputs, so a late input (a
// retransmission, a reordered packet) gets the number it would have had,
// and a late input that was dropped, or that precedes the last Sync, is
// refused instead of taking a number already sent (mediasoup's
// SeqManager keeps its drops in a set for the same reason).
//
// It is not safe for concurrent use; the owner serialises calls.
type SeqWindow struct {
	started bool
	// base is added to the newest input numbers to get output numbers.
	base      uint16
	maxInput  uint16
	maxOutput uint16
	// floor is the last Sync's input: late inputs up to it are refused.
	floor uint16
	// bases holds each remembered input's base; dropped marks the
	// remembered inputs that were dropped.
	bases   [seqWindow]uint16
	dropped [seqWindow / 64]uint64
}

// Sync makes the input after in continue the output sequence right after
// the highest output number sent so far (mediasoup: Sync(seq - 1)).
func (s *SeqWindow) Sync(in uint16) {
	s.base = s.maxOutput - in
	s.maxInput, s.floor, s.started = in, in, true
	s.setBase(in, false)
}

// Drop removes input in, if it is the newest so far, from the output:
// the next input takes its output number.
func (s *SeqWindow) Drop(in uint16) {
	if !s.started || !SeqLess(s.maxInput, in) {
		return
	}
	s.advance(in)
	s.setBase(in, true)
	s.base--
}

// Input maps input number in to its output number; false if in was
// dropped, or is too old to tell.
func (s *SeqWindow) Input(in uint16) (uint16, bool) {
	if !s.started {
		s.started, s.maxInput, s.floor = true, in, in-1
		s.setBase(in, false)
		s.maxOutput = in + s.base
		return s.maxOutput, true
	}
	if SeqLess(s.maxInput, in) {
		s.advance(in)
		s.maxOutput = in + s.base
		return s.maxOutput, true
	}
	if s.maxInput-in >= seqWindow || !SeqLess(s.floor, in) {
		return 0, false
	}
	i := in % seqWindow
	if s.dropped[i/64]&(1<<(i%64)) != 0 {
		return 0, false
	}
	out := in + s.bases[i]
	if SeqLess(s.maxOutput, out) {
		s.maxOutput = out
	}
	return out, true
}

// advance makes in, newer than every input so far, the newest: the
// inputs in between (lost on the way, maybe late) keep the current base.
func (s *SeqWindow) advance(in uint16) {
	gap := min(in-s.maxInput, seqWindow)
	for x := in - gap + 1; x != in+1; x++ {
		s.setBase(x, false)
	}
	s.maxInput = in
}

func (s *SeqWindow) setBase(in uint16, dropped bool) {
	i := in % seqWindow
	s.bases[i] = s.base
	if dropped {
		s.dropped[i/64] |= 1 << (i % 64)
	} else {
		s.dropped[i/64] &^= 1 << (i % 64)
	}
}
