package engine

import (
	"testing"
	"time"
)

// TestOutPoolTrims: the buffers a burst made are let go once they stayed
// free for a trim period, those in use meanwhile are kept, and an idle
// pool empties in two periods.
func TestOutPoolTrims(t *testing.T) {
	var p outPool
	burst := make([]*outBuf, 100)
	for i := range burst {
		burst[i] = p.get()
	}
	p.put(burst) // the first put starts the period
	start := p.trimAt
	// Steady use of 10 buffers at a time.
	for range 5 {
		use := make([]*outBuf, 10)
		for i := range use {
			use[i] = p.get()
		}
		p.put(use)
	}
	if made, free := p.counts(); made != 100 || free != 100 {
		t.Fatalf("before a period: made %d, free %d; want 100, 100", made, free)
	}
	p.mu.Lock()
	p.trimLocked(start + int64(outPoolTrimPeriod) + int64(time.Millisecond))
	p.mu.Unlock()
	if made, free := p.counts(); made != 10 || free != 10 {
		t.Fatalf("after a period of using 10: made %d, free %d; want 10, 10", made, free)
	}
	p.mu.Lock()
	p.trimLocked(start + 2*int64(outPoolTrimPeriod) + 2*int64(time.Millisecond))
	p.mu.Unlock()
	if made, free := p.counts(); made != 0 || free != 0 {
		t.Fatalf("after an idle period: made %d, free %d; want 0, 0", made, free)
	}
	if b := p.get(); b == nil {
		t.Fatal("an emptied pool gives no buffer")
	}
}
