package mafalda

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ropehq/rope/media"
)

// loadWindow is the shortest interval the default LoadFunc measures
// over: a measurement sooner after the previous one reuses its figure.
// Placements come in bursts, and over a few milliseconds the CPU a worker
// spends serving the placement's own requests is a high percentage: a
// worker process measured between two transports of one room looked full.
const loadWindow = time.Second

// cpuMeter is the default LoadFunc: CPU percent between two measurements
// of GetResourceUsage at least loadWindow apart.
type cpuMeter struct {
	now func() time.Time

	// mu guards last.
	mu   sync.Mutex
	last map[media.Worker]cpuSample
}

type cpuSample struct {
	at    time.Time
	cpuMS int64
	load  float64
}

func newCPUMeter() *cpuMeter {
	return &cpuMeter{now: time.Now, last: map[media.Worker]cpuSample{}}
}

// load returns the CPU percent w used between the last two measurements,
// 0 until there are two; it measures again once loadWindow has passed.
func (c *cpuMeter) load(ctx context.Context, w media.Worker) (float64, error) {
	now := c.now()
	c.mu.Lock()
	prev, ok := c.last[w]
	c.mu.Unlock()
	if ok && now.Sub(prev.at) < loadWindow {
		return prev.load, nil
	}
	ru, err := w.GetResourceUsage(ctx)
	if err != nil {
		return 0, fmt.Errorf("mafalda: worker %d resource usage: %w", w.PID(), err)
	}
	s := cpuSample{at: now, cpuMS: ru.UTime + ru.STime}
	if wall := now.Sub(prev.at).Milliseconds(); ok && wall > 0 {
		s.load = float64(s.cpuMS-prev.cpuMS) * 100 / float64(wall)
	}
	c.mu.Lock()
	c.last[w] = s
	c.mu.Unlock()
	return s.load, nil
}

// forget drops a closed worker's sample.
func (c *cpuMeter) forget(w media.Worker) {
	c.mu.Lock()
	delete(c.last, w)
	c.mu.Unlock()
}
