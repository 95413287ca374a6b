package mafalda

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ropehq/rope/media"
)

// cpuMeter is the default LoadFunc: CPU percent between two measurements
// of GetResourceUsage.
type cpuMeter struct {
	now func() time.Time

	// mu guards last.
	mu   sync.Mutex
	last map[media.Worker]cpuSample
}

type cpuSample struct {
	at    time.Time
	cpuMS int64
}

func newCPUMeter() *cpuMeter {
	return &cpuMeter{now: time.Now, last: map[media.Worker]cpuSample{}}
}

// load returns the CPU percent w used since the previous call for w, 0
// the first time.
func (c *cpuMeter) load(ctx context.Context, w media.Worker) (float64, error) {
	ru, err := w.GetResourceUsage(ctx)
	if err != nil {
		return 0, fmt.Errorf("mafalda: worker %d resource usage: %w", w.PID(), err)
	}
	s := cpuSample{at: c.now(), cpuMS: ru.UTime + ru.STime}
	c.mu.Lock()
	prev, ok := c.last[w]
	c.last[w] = s
	c.mu.Unlock()
	wall := s.at.Sub(prev.at).Milliseconds()
	if !ok || wall <= 0 {
		return 0, nil
	}
	return float64(s.cpuMS-prev.cpuMS) * 100 / float64(wall), nil
}

// forget drops a closed worker's sample.
func (c *cpuMeter) forget(w media.Worker) {
	c.mu.Lock()
	delete(c.last, w)
	c.mu.Unlock()
}
