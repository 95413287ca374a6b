package engine

import (
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/ropehq/rope/media/internal/rtppkt"
)

// TestRembEstimator feeds the estimator packets sent every 5 ms: while
// they arrive as they were sent the estimate grows above the incoming
// bitrate; once each arrives 1 ms later than the one before (a queue
// building up) it drops below it. It also checks the path does not
// allocate.
func TestRembEstimator(t *testing.T) {
	const absID = 3
	s := newRembServer()
	s.extID.Store(absID)
	pk := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 7}, Payload: make([]byte, 1000)}
	abs := make([]byte, 3)
	_ = pk.SetExtension(absID, abs)
	buf := make([]byte, rtppkt.MaxPacketLen)
	var sent, arrived time.Duration
	feed := func(n int, extraDelay time.Duration) {
		for range n {
			sent += 5 * time.Millisecond
			arrived += 5*time.Millisecond + extraDelay
			a := uint32(sent * (1 << 18) / time.Second)
			abs[0], abs[1], abs[2] = byte(a>>16), byte(a>>8), byte(a)
			pk.SequenceNumber++
			m, _ := pk.MarshalTo(buf)
			h, _ := rtppkt.Parse(buf[:m])
			s.incoming(buf[:m], &h, int64(arrived))
		}
	}
	feed(600, 0) // 3 s
	in := float64(s.inRate.bitrate(int64(arrived)))
	if in < 1_500_000 || s.estimate <= in {
		t.Fatalf("no queue: estimate %.0f, incoming %.0f", s.estimate, in)
	}
	feed(200, time.Millisecond) // 1 s, the delay growing by 1 ms a packet
	in = float64(s.inRate.bitrate(int64(arrived)))
	if s.estimate >= in {
		t.Fatalf("queue building: estimate %.0f, incoming %.0f", s.estimate, in)
	}
	if a := testing.AllocsPerRun(100, func() { feed(1, 0) }); a != 0 {
		t.Errorf("%v allocations per packet", a)
	}
}
