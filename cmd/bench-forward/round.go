package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// quiet is how long a round waits for stragglers once the count stops
// moving.
const quiet = 300 * time.Millisecond

// sample is one round's figures of one forwarder.
type sample struct {
	fwdPPS    float64
	delivery  float64 // % of the packets expected at the receivers
	cpuPerPkt float64 // µs per forwarded packet
	vcswPerIn float64 // voluntary context switches per packet sent to it
	rssMiB    float64
	anonMiB   float64
	load      string
	// ratio is the median over the rounds of cpuPerPkt divided by the
	// reference mode's in the same round, lo and hi the least and the
	// most of those (set on a row's result only): a round measures its
	// modes seconds apart where a row's rounds span a minute or more, so
	// a drift of the machine's load moves both figures of a ratio.
	ratio, ratioLo, ratioHi float64
}

// measureRow builds t on every mode, warms each up, then runs
// cfg.rounds rounds, each mode once per round in an order that rotates,
// and returns each mode's medians and CPU ratios to mode ref.
func measureRow(ctx context.Context, cfg *config, modes []string, ref string, t Topology, gen *generator, recv *receivers) (map[string]sample, error) {
	spec := t.spec(gen.port(), recv.ports())
	fws := map[string]*forwarder{}
	loads := map[string]*load{}
	defer func() {
		for _, f := range fws {
			_ = f.close()
		}
	}()
	for _, m := range modes {
		bctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		f, err := startForwarder(bctx, cfg, m, spec)
		cancel()
		if err != nil {
			return nil, err
		}
		fws[m] = f
		if cfg.split != nil {
			if err := cfg.split.pinForwarder(f.pid); err != nil {
				return nil, fmt.Errorf("%s: %w", m, err)
			}
		}
		if loads[m], err = newLoad(spec, f.ports); err != nil {
			return nil, fmt.Errorf("%s: %w", m, err)
		}
	}
	for _, m := range modes {
		if _, err := round(ctx, gen, recv, loads[m], fws[m].pid, cfg.warmup); err != nil {
			return nil, fmt.Errorf("%s warm-up: %w", m, err)
		}
	}
	samples := map[string][]sample{}
	for k := range cfg.rounds {
		for i := range modes {
			m := modes[(i+k)%len(modes)]
			s, err := round(ctx, gen, recv, loads[m], fws[m].pid, roundLength(cfg, t))
			if err != nil {
				return nil, fmt.Errorf("%s round %d: %w", m, k+1, err)
			}
			samples[m] = append(samples[m], s)
		}
	}
	res := map[string]sample{}
	for m, ss := range samples {
		r := medians(ss)
		r.ratio, r.ratioLo, r.ratioHi = pairedRatios(ss, samples[ref])
		res[m] = r
	}
	return res, nil
}

// pairedRatios divides each round's CPU per packet by ref's of the same
// round and returns the median, least and most of those ratios (zeros
// when ref measured nothing).
func pairedRatios(ss, ref []sample) (med, lo, hi float64) {
	var v []float64
	for k, s := range ss {
		if k < len(ref) && ref[k].cpuPerPkt > 0 {
			v = append(v, s.cpuPerPkt/ref[k].cpuPerPkt)
		}
	}
	if len(v) == 0 {
		return 0, 0, 0
	}
	slices.Sort(v)
	return median(v), v[0], v[len(v)-1]
}

// median is the median of sorted v (not empty).
func median(v []float64) float64 {
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// roundLength is how long a round of t sends: -duration, or as long as
// forwarding -min-packets takes at t's rate if that is longer.
func roundLength(cfg *config, t Topology) time.Duration {
	d := cfg.duration
	if r := t.ForwardedRate(); r > 0 {
		d = max(d, time.Duration(float64(cfg.minPackets)/r*float64(time.Second)))
	}
	return d
}

// errNothing says a forwarder delivered nothing: the topology is broken.
var errNothing = errors.New("no packet reached the receivers")

// round sends l for d and reads what the forwarder at pid cost.
func round(ctx context.Context, gen *generator, recv *receivers, l *load, pid int, d time.Duration) (sample, error) {
	var s sample
	base := recv.got.Load()
	l.reset()
	u0, err := readUsage(pid)
	if err != nil {
		return s, err
	}
	start := time.Now()
	if err := gen.send(ctx, l, d); err != nil {
		return s, err
	}
	elapsed := time.Since(start)
	sent, want := l.expected()
	got := recv.waitFor(ctx, base+want, quiet) - base
	u1, err := readUsage(pid)
	if err != nil {
		return s, err
	}
	if got <= 0 {
		return s, errNothing
	}
	s.fwdPPS = float64(got) / elapsed.Seconds()
	s.delivery = 100 * float64(got) / float64(want)
	s.cpuPerPkt = float64((u1.cpu - u0.cpu).Microseconds()) / float64(got)
	s.vcswPerIn = float64(u1.vcsw-u0.vcsw) / float64(sent)
	s.rssMiB = float64(u1.rssKB) / 1024
	s.anonMiB = float64(u1.anonKB) / 1024
	s.load = loadAvg()
	return s, nil
}

// medians takes each figure's median over the rounds.
func medians(ss []sample) sample {
	med := func(f func(sample) float64) float64 {
		v := make([]float64, len(ss))
		for i, s := range ss {
			v[i] = f(s)
		}
		slices.Sort(v)
		return median(v)
	}
	load := med(func(s sample) float64 { v, _ := strconv.ParseFloat(s.load, 64); return v })
	return sample{
		fwdPPS:    med(func(s sample) float64 { return s.fwdPPS }),
		delivery:  med(func(s sample) float64 { return s.delivery }),
		cpuPerPkt: med(func(s sample) float64 { return s.cpuPerPkt }),
		vcswPerIn: med(func(s sample) float64 { return s.vcswPerIn }),
		rssMiB:    med(func(s sample) float64 { return s.rssMiB }),
		anonMiB:   med(func(s sample) float64 { return s.anonMiB }),
		load:      strconv.FormatFloat(load, 'f', 2, 64),
	}
}
