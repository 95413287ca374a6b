package monitor_test

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/workerproc"
	"github.com/ropehq/rope/monitor"
)

// BenchmarkMonitor1000Consumers measures what one monitor page costs on
// a server with one producer (10 packets/s) and 1,000 consumers (10
// transports of 100), with workers in the server's process and in a
// worker process: each iteration is one figures notification received
// by the subscribed page. It reports the figures notifications per
// second and their size, the other (sequenced) notifications the page
// got anyway per second, how long a collection took, and the CPU of the
// server (and worker) process per second, first for as long with no page
// subscribed, then with the page.
func BenchmarkMonitor1000Consumers(b *testing.B) {
	for _, mode := range []struct {
		name string
		api  func() media.API
	}{
		{"in-process", func() media.API { return engine.New(nil) }},
		{"process", func() media.API { return workerproc.New(nil) }},
	} {
		b.Run(mode.name, func(b *testing.B) {
			s := newServerOn(b, &monitor.Options{Interval: monitor.DefaultInterval}, mode.api())
			r := newRoom(b, s)
			p := r.produceAt("source", 7777, 100*time.Millisecond)
			for i := range 10 {
				r.consume(fmt.Sprintf("viewers-%d", i), p, 100)
			}
			cpu := func() time.Duration { return cpuTime(b, r.worker) }
			page := s.dial(b)
			got := make(chan int, 64)
			var mu sync.Mutex
			var collect float64
			page.OnNotification(func(method string, params json.RawMessage) {
				if method != monitor.MethodFigures {
					return
				}
				got <- len(params)
			})
			var first monitor.Figures
			if err := page.Call(ctxFor(b), monitor.RootID, "subscribe", nil, &first); err != nil {
				b.Fatal(err)
			}
			if first.Totals.Consumers != 1000 {
				b.Fatalf("%d consumers", first.Totals.Consumers)
			}
			if err := page.Call(ctxFor(b), monitor.RootID, "unsubscribe", nil, nil); err != nil {
				b.Fatal(err)
			}
			idle0 := cpu()
			time.Sleep(time.Duration(b.N) * time.Second)
			idle := (cpu() - idle0).Seconds() / float64(b.N)
			if err := page.Call(ctxFor(b), monitor.RootID, "subscribe", nil, nil); err != nil {
				b.Fatal(err)
			}
			<-got
			mu.Lock()
			collect = 0
			mu.Unlock()
			seq0 := page.Seq()
			bytes := 0
			b.ResetTimer()
			busy0 := cpu()
			start := time.Now()
			for range b.N {
				bytes += <-got
				mu.Lock()
				collect += s.mon.Figures(ctxFor(b)).CollectMillis // the one just sent
				mu.Unlock()
			}
			elapsed := time.Since(start).Seconds()
			busy := (cpu() - busy0).Seconds() / elapsed
			b.StopTimer()
			b.ReportMetric(idle*1000, "cpu-ms/s-unwatched")
			b.ReportMetric(busy*1000, "cpu-ms/s-watched")
			mu.Lock()
			defer mu.Unlock()
			b.ReportMetric(float64(b.N)/elapsed, "figures-msgs/s")
			b.ReportMetric(float64(bytes)/float64(b.N), "bytes/figures-msg")
			b.ReportMetric(float64(bytes)/elapsed, "figures-bytes/s")
			b.ReportMetric(float64(page.Seq()-seq0)/elapsed, "other-msgs/s")
			b.ReportMetric(collect/float64(b.N), "collect-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// cpuTime is the CPU time of this process and, when it runs in a
// process of its own, of w.
func cpuTime(b *testing.B, w media.Worker) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	d := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	if w.PID() != os.Getpid() {
		u, err := w.GetResourceUsage(ctxFor(b))
		if err != nil {
			b.Fatal(err)
		}
		d += time.Duration(u.UTime+u.STime) * time.Millisecond
	}
	return d
}
