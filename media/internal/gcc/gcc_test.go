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
			var err error
			if l.acks, err = l.h.Acks(l.acks[:0], b, l.now); err != nil {
				l.t.Fatal(err)
			}
			l.checkAcks(fb)
			l.e.OnAcks(l.acks, l.now)
		}
	}
}

// checkAcks compares the parsed acks with pion/rtcp's reading of fb.
func (l *link) checkAcks(fb *rtcp.TransportLayerCC) {
	var want []bool // received, per reported packet
	for _, c := range fb.PacketChunks {
		switch c := c.(type) {
		case *rtcp.RunLengthChunk:
			for i := 0; i < int(c.RunLength); i++ {
				want = append(want, c.PacketStatusSymbol != rtcp.TypeTCCPacketNotReceived)
			}
		case *rtcp.StatusVectorChunk:
			for _, s := range c.SymbolList {
				want = append(want, s != rtcp.TypeTCCPacketNotReceived)
			}
		}
	}
	want = want[:fb.PacketStatusCount]
	if len(l.acks) != len(want) {
		l.t.Fatalf("%d acks, pion reads %d statuses", len(l.acks), len(want))
	}
	arrival := int64(fb.ReferenceTime) * 64 * int64(time.Millisecond)
	d := 0
	for i, a := range l.acks {
		if (a.Arrival != Lost) != want[i] {
			l.t.Fatalf("ack %d received %v, pion says %v", i, a.Arrival != Lost, want[i])
		}
		if want[i] {
			arrival += fb.RecvDeltas[d].Delta * int64(time.Microsecond)
			d++
			if a.Arrival != arrival {
				l.t.Fatalf("ack %d arrival %d, pion says %d", i, a.Arrival, arrival)
			}
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

func TestAcksDoNotAllocate(t *testing.T) {
	l := newLink(t, 600_000)
	for i := 0; i < 50; i++ {
		l.h.RecordOne(l.now, uint16(i), 1200, 0)
		if i%7 != 3 {
			l.rec.Record(0, uint16(i), l.now/1000+int64(i)*300)
		}
	}
	fb := l.rec.BuildFeedbackPacket()[0].(*rtcp.TransportLayerCC)
	b, _ := fb.Marshal()
	acks := make([]Ack, 0, 64)
	allocs := testing.AllocsPerRun(100, func() { acks, _ = l.h.Acks(acks[:0], b, l.now) })
	if allocs != 0 || len(acks) != 50 {
		t.Fatalf("%v allocations, %d acks", allocs, len(acks))
	}
	if _, err := l.h.Acks(nil, b[:25], l.now); err == nil {
		t.Fatal("truncated feedback accepted")
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

// TestTrendline: groups arriving as they were sent give no overuse; a
// delay growing by 1 ms a group (a queue building up) gives Overusing
// once the window is full, and a draining queue Underusing.
func TestTrendline(t *testing.T) {
	var d Trendline
	arrival := int64(0)
	feed := func(n int, extraMs float64) (Usage, bool) {
		var u Usage
		var ok bool
		for range n {
			arrival += int64((5 + extraMs) * 1e6)
			u, ok = d.Update(5, 5+extraMs, arrival)
		}
		return u, ok
	}
	if _, ok := feed(trendWindow-1, 0); ok {
		t.Fatal("a signal before the window is full")
	}
	if u, ok := feed(50, 0); !ok || u != Normal {
		t.Fatalf("steady: %v %v", u, ok)
	}
	if u, _ := feed(30, 1); u != Overusing {
		t.Fatalf("queue building: %v", u)
	}
	if u, _ := feed(30, -1); u != Underusing {
		t.Fatalf("queue draining: %v", u)
	}
}

// TestProbeNeedsMostOfItsCluster: a probe cluster raises the estimate to
// what it measured only once 80% of its bytes are reported (libwebrtc's
// ProbeBitrateEstimator): its first packets alone, a few milliseconds of
// a paced cluster, do not count.
func TestProbeNeedsMostOfItsCluster(t *testing.T) {
	e := New(Config{Initial: 600_000, Min: 30_000})
	const rate, size, n = 2_000_000, 500, 50 // 25 kB: 100 ms at 2 Mbit/s
	e.StartProbe(1, rate, n*size)
	spacing := int64(size * 8 * 1e9 / rate)
	ack := func(i int) Ack {
		at := int64(time.Second) + int64(i)*spacing
		return Ack{Sent: at, Arrival: at + int64(10*time.Millisecond), Size: size, Cluster: 1}
	}
	var acks []Ack
	for i := 0; i < n*3/4; i++ {
		acks = append(acks, ack(i))
	}
	e.OnAcks(acks, int64(2*time.Second))
	if got := e.Target(); got > 700_000 {
		t.Fatalf("estimate %.0f after 75%% of the cluster, want it unchanged", got)
	}
	acks = acks[:0]
	for i := n * 3 / 4; i < n; i++ {
		acks = append(acks, ack(i))
	}
	e.OnAcks(acks, int64(2*time.Second)+int64(50*time.Millisecond))
	if got := e.Target(); got < 0.9*rate*0.95 {
		t.Fatalf("estimate %.0f after the whole cluster, want about 0.95 times %d", got, rate)
	}
}

// TestFeedbackWithoutOurPacketsIsNoNews: feedback that reports none of
// the packets in the history (the numbers of another sender's packets)
// leaves the estimate alone, as libwebrtc ignores a feedback vector with
// no packets of its own: no growth, no decrease, however many come.
func TestFeedbackWithoutOurPacketsIsNoNews(t *testing.T) {
	e := New(Config{Initial: 600_000, Min: 30_000})
	const size = 1000
	now := int64(time.Second)
	var acks []Ack
	for i := range 200 { // 1 s at 1.6 Mbit/s, arriving as sent
		at := now + int64(i)*int64(5*time.Millisecond)
		acks = append(acks, Ack{Sent: at, Arrival: at + int64(10*time.Millisecond), Size: size})
	}
	now += int64(time.Second)
	e.OnAcks(acks, now)
	want, wantDelay := e.Target(), e.delayRate
	for range 40 { // 2 s of empty feedback
		now += int64(50 * time.Millisecond)
		e.OnAcks(nil, now)
	}
	if got := e.Target(); got != want || e.delayRate != wantDelay {
		t.Fatalf("estimate %.0f (delay-based %.0f) after feedback reporting none of ours, want %.0f (%.0f)", got, e.delayRate, want, wantDelay)
	}
}

// TestHistoryGrowsWithTheRate: a transport sending 100 packets/s keeps
// the smallest ring, one sending 1,000/s grows it to HistorySize, and
// every packet sent within the last second is found after the ring grew,
// those sent before it grew among them.
func TestHistoryGrowsWithTheRate(t *testing.T) {
	for _, tc := range []struct {
		rate, want int
	}{{100, historyMin}, {400, 512}, {1000, HistorySize}} {
		var h History
		step := int64(time.Second) / int64(tc.rate)
		now := int64(time.Second)
		for i := range 5 * tc.rate {
			now += step
			h.RecordOne(now, uint16(i), 1000, 0)
		}
		if got := len(h.entries); got != tc.want {
			t.Errorf("%d packets/s: a ring of %d, want %d", tc.rate, got, tc.want)
		}
		last := 5*tc.rate - 1
		for back := range min(tc.rate, HistorySize) {
			seq := last - back
			if e, ok := h.lookup(uint16(seq), now); !ok || e.at != now-int64(back)*step {
				t.Fatalf("%d packets/s: packet %d, sent %d ago, not found (%+v)", tc.rate, seq, back, e)
			}
		}
	}
}

// TestHistoryKeepsPacketsAcrossGrowth: the packet that makes the ring
// grow finds every packet before it in the grown ring.
func TestHistoryKeepsPacketsAcrossGrowth(t *testing.T) {
	var h History
	now := int64(time.Second)
	for i := range historyMin + 1 { // 1,000 packets/s: the last one grows the ring
		h.RecordOne(now+int64(i)*int64(time.Millisecond), uint16(60000+i), 1000, 0)
	}
	if len(h.entries) != 2*historyMin {
		t.Fatalf("a ring of %d, want %d", len(h.entries), 2*historyMin)
	}
	for i := range historyMin + 1 {
		if _, ok := h.lookup(uint16(60000+i), now+int64(time.Second)); !ok {
			t.Fatalf("packet %d lost when the ring grew", 60000+i)
		}
	}
}
