package rtppkt

// SeqRewriter maps a source's sequence numbers onto an output sequence that
// stays continuous when packets are dropped on purpose (pause, a key frame
// wait) or when the source changes. It mirrors mediasoup's RtpSeqManager.
//
// It is not safe for concurrent use; the owner serialises calls.
type SeqRewriter struct {
	started bool
	// base is added to input numbers to get output numbers.
	base uint16
	// maxOutput is the highest output number handed out so far.
	maxOutput uint16
	// maxInput is the input number that produced maxOutput.
	maxInput uint16
}

// Sync makes the next input number after in continue the output sequence
// right after the highest output number sent so far. Call it with the
// input number preceding the first packet to forward after a gap
// (mediasoup: Sync(packet seq - 1)).
func (s *SeqRewriter) Sync(in uint16) {
	s.base = s.maxOutput - in
	s.maxInput = in
}

// Input maps an input sequence number to its output number.
func (s *SeqRewriter) Input(in uint16) uint16 {
	out := in + s.base
	if !s.started {
		s.started = true
		s.maxOutput = out
		s.maxInput = in
		return out
	}
	if SeqLess(s.maxInput, in) {
		s.maxInput = in
		s.maxOutput = out
	}
	return out
}

// MaxOutput returns the highest output number handed out.
func (s *SeqRewriter) MaxOutput() uint16 { return s.maxOutput }

// Started reports whether any number has been mapped yet.
func (s *SeqRewriter) Started() bool { return s.started }
