// Command bench-forward measures the cost of forwarding RTP: the same
// topologies, plain RTP on loopback, against our engine in its two modes
// (in the process that drives it, and in a worker process, the server's
// default) and, when installed, mediasoup's C++ worker, in interleaved
// rounds, printing medians and the CPU ratio to a reference mode (the
// median of the rounds' ratios, with their range).
//
// Topologies: one producer to N consumers (1,000-byte payloads, VP8) at a
// given rate, and conferences of R rooms of 4 people, each sending audio
// (50 packets/s of 160 bytes) and video (100 packets/s of 1,000 bytes)
// and consuming the other three, on one worker.
//
// Every forwarder runs in a process of its own and the figures are that
// process's: CPU (utime+stime of its threads, from /proc/<pid>/task/*/schedstat
// in ns, else /proc/<pid>/stat in 10 ms ticks) per packet counted
// at the receivers, voluntary context switches (all its threads) per
// packet sent to it, RSS and its anonymous part (RssAnon: without the
// program's and libraries' pages, which other processes share). With
// -pin the forwarders run on the last CPU and this tool on the others.
// The load generator (one socket, a ticker sending what is due as
// sendmmsg batches) and the receivers run in this process. Every mode's
// topology stays built through its row's rounds; one mode at a time gets
// traffic, for -duration or -min-packets, whichever is longer.
//
//	go run ./cmd/bench-forward -h
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ropehq/rope/media/workerproc"
)

// config is the flags.
type config struct {
	fanouts  []Topology
	rooms    []Topology
	modes    []string
	rounds   int
	duration time.Duration
	// minPackets lengthens the rounds of low rates (roundLength).
	minPackets   int
	warmup       time.Duration
	tick         time.Duration
	mediasoupDir string
	node         string
	tmp          string
	// pin puts the forwarders on a CPU of their own (-pin); split is
	// where, once run has pinned the tool.
	pin   bool
	split *cpuSplit
}

func main() {
	if workerproc.IsWorkerMode() {
		workerproc.Main()
	}
	if os.Getenv(envRole) == roleEngine {
		if err := engineRole(); err != nil {
			fmt.Fprintln(os.Stderr, "bench-forward:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	cfg, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-forward:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench-forward:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (*config, error) {
	fs := flag.NewFlagSet("bench-forward", flag.ContinueOnError)
	fanout := fs.String("fanout", "1@2000,10@5000,100@1000,500@200", "one producer to N consumers: comma-separated N or N@packets/s (none: \"\")")
	rate := fs.Float64("rate", 2000, "packets/s of a -fanout entry without @rate")
	rooms := fs.String("rooms", "10,25", "conferences: comma-separated numbers of rooms of 4 (none: \"\")")
	modes := fs.String("modes", "inproc,workerproc,mediasoup", "forwarders to compare; mediasoup is left out with a note when not found; workerproc:`path` runs the worker child from another build (a bench-forward or ropeserver binary, e.g. of main) beside this one's")
	rounds := fs.Int("rounds", 3, "interleaved rounds per row (K); figures are their medians")
	duration := fs.Duration("duration", 3*time.Second, "sending time per round")
	minPackets := fs.Int("min-packets", 20000, "a round has the forwarder send at least this many packets: rows of low rates get rounds longer than -duration (1→1 at 2,000 packets/s: 10 s), where a 3 s round costs a forwarder a tenth of a second of CPU and a hiccup of the machine moves it")
	warmup := fs.Duration("warmup", 500*time.Millisecond, "unmeasured sending before a row's rounds")
	tick := fs.Duration("tick", time.Millisecond, "the generator's pacing tick: what is due goes as one burst")
	dir := fs.String("mediasoup-dir", os.Getenv("MEDIASOUP_DIR"), "`dir`ectory where 'npm install mediasoup' ran (env MEDIASOUP_DIR); MEDIASOUP_WORKER_BIN may name the worker binary")
	node := fs.String("node", "node", "Node.js, which drives mediasoup")
	pin := fs.Bool("pin", false, "run each forwarding process on the last CPU and the tool (generator, receivers) on the others, so that every round places them alike")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	cfg := &config{rounds: *rounds, duration: *duration, minPackets: *minPackets, warmup: *warmup, tick: *tick, mediasoupDir: *dir, node: *node, pin: *pin}
	var err error
	if cfg.fanouts, err = parseFanouts(*fanout, *rate); err != nil {
		return nil, err
	}
	if cfg.rooms, err = parseRooms(*rooms); err != nil {
		return nil, err
	}
	for m := range strings.SplitSeq(*modes, ",") {
		if m = strings.TrimSpace(m); m == "" {
			continue
		}
		if m != modeInproc && m != modeWorkerproc && m != modeMediasoup && !strings.HasPrefix(m, modeWorkerproc+":") {
			return nil, fmt.Errorf("-modes: unknown mode %q", m)
		}
		cfg.modes = append(cfg.modes, m)
	}
	if len(cfg.modes) == 0 || cfg.rounds < 1 || cfg.duration <= 0 || cfg.tick <= 0 || cfg.minPackets < 0 {
		return nil, errors.New("need at least one mode, -rounds ≥ 1, -duration and -tick > 0, -min-packets ≥ 0")
	}
	return cfg, nil
}

func parseFanouts(s string, rate float64) ([]Topology, error) {
	var ts []Topology
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, r, ok := strings.Cut(f, "@")
		t := Topology{Rate: rate}
		var err error
		if t.Fanout, err = strconv.Atoi(n); err != nil || t.Fanout < 1 {
			return nil, fmt.Errorf("-fanout: bad N in %q", f)
		}
		if ok {
			if t.Rate, err = strconv.ParseFloat(r, 64); err != nil || t.Rate <= 0 {
				return nil, fmt.Errorf("-fanout: bad rate in %q", f)
			}
		}
		ts = append(ts, t)
	}
	return ts, nil
}

func parseRooms(s string) ([]Topology, error) {
	var ts []Topology
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-rooms: bad number %q", f)
		}
		ts = append(ts, Topology{Rooms: n})
	}
	return ts, nil
}

// run measures every row and prints the table to out.
func run(ctx context.Context, cfg *config, out io.Writer) error {
	modes := cfg.modes
	if slices.Contains(modes, modeMediasoup) {
		if err := findMediasoup(cfg); err != nil {
			fmt.Fprintf(out, "mediasoup: not measured: %v\n", err)
			modes = slices.DeleteFunc(slices.Clone(modes), func(m string) bool { return m == modeMediasoup })
		}
	}
	if len(modes) == 0 {
		return errors.New("no mode left to measure")
	}
	tmp, err := os.MkdirTemp("", "bench-forward")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cfg.tmp = tmp
	if cfg.pin {
		if cfg.split, err = newCPUSplit(); err != nil {
			return err
		}
		if err := cfg.split.pinTool(); err != nil {
			return err
		}
	}
	recv, err := listenReceivers()
	if err != nil {
		return err
	}
	defer recv.close()
	gen, err := newGenerator(cfg.tick)
	if err != nil {
		return err
	}
	defer gen.close()

	ref := modes[0]
	if slices.Contains(modes, modeMediasoup) {
		ref = modeMediasoup
	}
	placement := ""
	if cfg.split != nil {
		placement = fmt.Sprintf(", forwarders pinned to CPU %v and the tool to %v", cpuList(&cfg.split.forwarder), cpuList(&cfg.split.tool))
	}
	fmt.Fprintf(out, "bench-forward: %d CPUs%s, medians of %d interleaved rounds of %v (or of %d forwarded packets if longer), tick %v; CPU ratio against %s: the median of the rounds' ratios, and their range\n\n",
		runtime.NumCPU(), placement, cfg.rounds, cfg.duration, cfg.minPackets, cfg.tick, ref)
	fmt.Fprintln(out, "| topology | offered pkt/s | mode | forwarded pkt/s | delivered % | CPU µs/fwd pkt | × "+ref+" | range | vol. ctx sw/in pkt | RSS MiB | anon MiB | load avg |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, t := range append(slices.Clone(cfg.fanouts), cfg.rooms...) {
		res, err := measureRow(ctx, cfg, modes, ref, t, gen, recv)
		if err != nil {
			return fmt.Errorf("%v: %w", t, err)
		}
		for _, m := range modes {
			r := res[m]
			ratio, spread := "–", "–"
			if r.ratio > 0 {
				ratio = fmt.Sprintf("%.2f", r.ratio)
				spread = fmt.Sprintf("%.2f–%.2f", r.ratioLo, r.ratioHi)
			}
			fmt.Fprintf(out, "| %v | %.0f | %s | %.0f | %.1f | %.2f | %s | %s | %.2f | %.1f | %.1f | %s |\n",
				t, t.OfferedRate(), m, r.fwdPPS, r.delivery, r.cpuPerPkt, ratio, spread, r.vcswPerIn, r.rssMiB, r.anonMiB, r.load)
		}
	}
	return nil
}
