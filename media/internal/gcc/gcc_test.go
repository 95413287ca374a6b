package gcc

import (
	"testing"
	"time"

	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
)

// link simulates a sender at the estimate through a bottleneck of
// capacity bps (0: none) with a 300 ms drop-tail queue, and the receiver's
// transport-cc feedback built by pion/interceptor's twcc.Recorder.
type link struct {
	t        *testing.T
	h        History
	e        *Estimator
	rec      *twcc.Recorder
	now      int64
	seq      uint16
	capacity float64
	queueEnd int64
	acks     []Ack
	carry    float64
}

func newLink(t *testing.T, initial float64) *link {
	return &link{t: t, e: New(Config{Initial: initial, Min: 30_000}), rec: twcc.NewRecorder(0), now: int64(time.Second)}
}

// run simulates d of sending at the estimate (1200-byte packets, a
// feedback every 100 ms).
func (l *link) run(d time.Duration) {
	end := l.now + int64(d)
	for l.now < end {
		step := int64(100 * time.Millisecond)
		budget := l.e.Target()*0.1/8 + l.carry
		n := int(budget / 1200)
		l.carry = budget - float64(n*1200)
		for i := 0; i < n; i++ {
			at := l.now + step*int64(i)/int64(n)
			l.h.RecordOne(at, l.seq, 1200, 0)
			arrive := at + int64(5*time.Millisecond)
			if l.capacity > 0 {
				start := max(at, l.queueEnd)
				if start-at > int64(300*time.Millisecond) {
					l.seq++
					continue // dropped
				}
				l.queueEnd = start + int64(1200*8/l.capacity*1e9)
				arrive = l.queueEnd
			}
			l.rec.Record(0, l.seq, arrive/1000)
			l.seq++
		}
		l.now += step
		for _, p := range l.rec.BuildFeedbackPacket() {
			fb, ok := p.(*rtcp.TransportLayerCC)
			if !ok {
				continue
			}
			b, _ := fb.Marshal()
			var parsed rtcp.TransportLayerCC
			if err := parsed.Unmarshal(b); err != nil {
				l.t.Fatal(err)
			}
			l.acks = l.h.Acks(l.acks[:0], &parsed, l.now)
			l.e.OnAcks(l.acks, l.now)
		}
	}
}

func TestEstimatorFollowsBottleneck(t *testing.T) {
	l := newLink(t, 600_000)
	l.run(10 * time.Second)
	if got := l.e.Target(); got < 900_000 {
		t.Fatalf("unlimited: estimate %.0f after 10 s, want it grown from 600k", got)
	}
	l.capacity = 300_000
	l.run(10 * time.Second)
	if got := l.e.Target(); got > 330_000 || got < 100_000 {
		t.Fatalf("300 kbit/s bottleneck: estimate %.0f", got)
	}
	l.capacity = 0
	l.run(20 * time.Second)
	if got := l.e.Target(); got < 600_000 {
		t.Fatalf("bottleneck lifted: estimate %.0f after 20 s", got)
	}
}

func TestEstimatorBounds(t *testing.T) {
	l := newLink(t, 600_000)
	l.e.SetBounds(30_000, 400_000)
	l.run(5 * time.Second)
	if got := l.e.Target(); got > 400_000 {
		t.Fatalf("estimate %.0f above max", got)
	}
}
