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
	// drops are the last inputs Drop removed, oldest first.
	drops  [16]uint16
	nDrops int
}

// Sync makes the next input number after in continue the output sequence
// right after the highest output number sent so far. Call it with the
// input number preceding the first packet to forward after a gap
// (mediasoup: Sync(packet seq - 1)).
func (s *SeqRewriter) Sync(in uint16) {
	s.base = s.maxOutput - in
	s.maxInput = in
	s.nDrops = 0
}

// Drop removes input number in, the newest so far, from the output: the
// next input takes its output number (mediasoup's RtpSeqManager::Drop, for
// packets a codec rule drops). An input older than the newest is ignored.
func (s *SeqRewriter) Drop(in uint16) {
	if !s.started || !SeqLess(s.maxInput, in) {
		return
	}
	s.maxInput = in
	s.base--
	if s.nDrops == len(s.drops) {
		copy(s.drops[:], s.drops[1:])
		s.nDrops--
	}
	s.drops[s.nDrops] = in
	s.nDrops++
}

// Input maps an input sequence number to its output number.
func (s *SeqRewriter) Input(in uint16) uint16 {
	out := in + s.base
	for _, d := range s.drops[:s.nDrops] {
		if SeqLess(in, d) {
			out++ // a late input: base moved on at drops after it
		}
	}
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
