package mafalda

import (
	"context"
	"testing"
	"time"

	"github.com/ropehq/rope/media"
)

// fakeWorker reports a CPU time set by the test.
type fakeWorker struct {
	media.Worker
	cpuMS int64
}

func (w *fakeWorker) PID() int { return 1 }
func (w *fakeWorker) GetResourceUsage(context.Context) (*media.WorkerResourceUsage, error) {
	return &media.WorkerResourceUsage{UTime: w.cpuMS / 2, STime: w.cpuMS - w.cpuMS/2}, nil
}

func TestCPUMeter(t *testing.T) {
	now := time.Unix(0, 0)
	c := newCPUMeter()
	c.now = func() time.Time { return now }
	w := &fakeWorker{cpuMS: 5000}
	for _, step := range []struct {
		wall, cpu int64
		want      float64
	}{{0, 0, 0}, {1000, 250, 25}, {2000, 2000, 100}, {1000, 0, 0},
		// Within a second of the last measurement: its figure; then a
		// measurement over the whole second.
		{500, 1000, 0}, {500, 0, 100}} {
		now = now.Add(time.Duration(step.wall) * time.Millisecond)
		w.cpuMS += step.cpu
		got, err := c.load(context.Background(), w)
		if err != nil || got != step.want {
			t.Fatalf("after %dms wall, %dms cpu: load %v, %v; want %v", step.wall, step.cpu, got, err, step.want)
		}
	}
	c.forget(w)
	if len(c.last) != 0 {
		t.Fatal("sample kept")
	}
}
