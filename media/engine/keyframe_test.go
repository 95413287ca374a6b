package engine_test

import (
	"testing"

	"github.com/pion/rtcp"
	"github.com/ropehq/rope/internal/wait"
)

// plis counts the PLIs for mediaSSRC among pkts.
func plis(pkts []rtcp.Packet, mediaSSRC uint32) int {
	n := 0
	for _, p := range pkts {
		if pli, ok := p.(*rtcp.PictureLossIndication); ok && pli.MediaSSRC == mediaSSRC {
			n++
		}
	}
	return n
}

// TestKeyFrameRequestRetried: a consumer waits for a key frame and the
// sender ignores the PLI it caused (as Chromium ignores one within 300 ms
// of the last it answered); the producer asks once more when the request
// expires without a key frame (mediasoup's KeyFrameRequestManager), and
// the key frame that answers it starts the consumer. Without the retry
// the consumer waited until someone else asked.
func TestKeyFrameRequestRetried(t *testing.T) {
	s := setupForwarding(t, 1, false)
	s.sendN(t, 5, false) // no key frame: the consumer waits, the producer asks
	wait.Until(t, "a PLI at the sender", func() bool { return plis(s.src.rtcpPackets(), 1111) >= 1 })
	wait.Until(t, "the PLI sent again", func() bool { return plis(s.src.rtcpPackets(), 1111) >= 2 })
	s.sendN(t, 5, true)
	if got := s.waitReceived(t, 0, 5); len(got) != 5 {
		t.Fatalf("consumer got %d packets after the key frame, want 5", len(got))
	}
}

// TestKeyFramesCounted: the producer's stats count the key frames it
// received and each consumer's the key frames it sent (keyFrames), one
// per frame, not per packet.
func TestKeyFramesCounted(t *testing.T) {
	s := setupForwarding(t, 2, false)
	for range 3 {
		s.sendN(t, 10, true) // a key frame, then 9 packets of delta frames
	}
	for i := range s.consumers {
		s.waitReceived(t, i, 30)
	}
	pst, err := s.producer.GetStats(s.ctx)
	if err != nil || len(pst) != 1 || pst[0].KeyFrames != 3 {
		t.Fatalf("producer stats %+v, %v: want 3 key frames", pst, err)
	}
	for i, c := range s.consumers {
		cst, err := c.GetStats(s.ctx)
		if err != nil || cst[0].Type != "outbound-rtp" || cst[0].KeyFrames != 3 {
			t.Fatalf("consumer %d stats %+v, %v: want 3 key frames sent", i, cst, err)
		}
	}
}
