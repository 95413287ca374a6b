package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ropehq/rope/media/workerproc"
	"go.uber.org/goleak"
)

// TestMain serves the children this test binary is started as: worker
// processes (workerproc) and the engine role.
func TestMain(m *testing.M) {
	if workerproc.IsWorkerMode() {
		workerproc.Main()
	}
	if os.Getenv(envRole) == roleEngine {
		if err := engineRole(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// TestHarnessBothModes runs the harness end to end at tiny rates against
// both of our modes (mediasoup is not installed here: it must say so)
// and checks every row: all packets delivered, every figure present.
func TestHarnessBothModes(t *testing.T) {
	cfg, err := parseFlags([]string{"-fanout", "1@100,10@50", "-rooms", "1", "-rounds", "1",
		"-duration", "1s", "-min-packets", "0", "-warmup", "200ms", "-mediasoup-dir", t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, cfg, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	t.Logf("\n%s", out.String())
	if !strings.Contains(out.String(), "mediasoup: not measured: mediasoup not found") {
		t.Errorf("output does not say mediasoup was not found")
	}
	rows := tableRows(t, out.String())
	for _, topo := range []string{"1→1", "1→10", "1 room of 4"} {
		for _, mode := range []string{modeInproc, modeWorkerproc} {
			r, ok := rows[topo+"/"+mode]
			if !ok {
				t.Errorf("no row for %s in %s mode", topo, mode)
				continue
			}
			if r[4] != "100.0" {
				t.Errorf("%s %s: delivered %s %%, want 100.0", topo, mode, r[4])
			}
			for i, name := range []string{1: "offered", 3: "forwarded", 5: "CPU", 6: "ratio", 8: "ctx switches", 9: "RSS", 10: "anon", 11: "load"} {
				if name == "" {
					continue
				}
				if v, err := strconv.ParseFloat(r[i], 64); err != nil || v < 0 || (v == 0 && (name == "RSS" || name == "anon" || name == "CPU")) {
					t.Errorf("%s %s: %s is %q", topo, mode, name, r[i])
				}
			}
			checkRange(t, topo+" "+mode, r[6], r[7])
			if mode == modeInproc && r[6] != "1.00" {
				t.Errorf("%s: the reference mode's ratio is %s", topo, r[6])
			}
		}
	}
	if r := rows["1→10/"+modeInproc]; r != nil && r[1] != "50" {
		t.Errorf("1→10 offered %s pkt/s, want 50", r[1])
	}
}

// checkRange checks that a row's ratio lies in its range "lo–hi".
func checkRange(t *testing.T, row, ratio, spread string) {
	t.Helper()
	los, his, ok := strings.Cut(spread, "–")
	lo, err1 := strconv.ParseFloat(los, 64)
	hi, err2 := strconv.ParseFloat(his, 64)
	r, err3 := strconv.ParseFloat(ratio, 64)
	if !ok || err1 != nil || err2 != nil || err3 != nil || lo > r || r > hi {
		t.Errorf("%s: ratio %q, range %q", row, ratio, spread)
	}
}

// TestRoundLength: rounds last -duration, longer where the forwarder
// would send fewer than -min-packets in it.
func TestRoundLength(t *testing.T) {
	cfg := &config{duration: 3 * time.Second, minPackets: 20000}
	for _, c := range []struct {
		t    Topology
		want time.Duration
	}{
		{Topology{Fanout: 1, Rate: 2000}, 10 * time.Second},
		{Topology{Fanout: 2, Rate: 2000}, 5 * time.Second},
		{Topology{Fanout: 1, Rate: 10000}, 3 * time.Second},
		{Topology{Fanout: 500, Rate: 200}, 3 * time.Second},
		{Topology{Rooms: 1}, 11111 * time.Millisecond},
		{Topology{Rooms: 10}, 3 * time.Second},
	} {
		if got := roundLength(cfg, c.t); got.Round(time.Millisecond) != c.want {
			t.Errorf("%v: %v, want %v", c.t, got, c.want)
		}
	}
}

func TestPairedRatios(t *testing.T) {
	ss := []sample{{cpuPerPkt: 8}, {cpuPerPkt: 9}, {cpuPerPkt: 30}}
	ref := []sample{{cpuPerPkt: 10}, {cpuPerPkt: 10}, {cpuPerPkt: 20}}
	// Paired: 0.8, 0.9, 1.5 (the medians' ratio would be 9/10).
	med, lo, hi := pairedRatios(ss, ref)
	if med != 0.9 || lo != 0.8 || hi != 1.5 {
		t.Errorf("pairedRatios = %v, %v, %v; want 0.9, 0.8, 1.5", med, lo, hi)
	}
	if med, _, _ := pairedRatios(ss, []sample{{}, {}, {}}); med != 0 {
		t.Errorf("against a reference that measured nothing: %v, want 0", med)
	}
}

// tableRows maps "topology/mode" to a table row's cells.
func tableRows(t *testing.T, out string) map[string][]string {
	rows := map[string][]string{}
	for line := range strings.SplitSeq(out, "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| topology") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if len(cells) != 12 {
			t.Fatalf("row %q has %d cells, want 12", line, len(cells))
		}
		rows[cells[0]+"/"+cells[2]] = cells
	}
	return rows
}

// TestConferenceSpec checks the conference layout: everyone consumes
// the other three's audio and video, so each packet reaches 3 receivers.
func TestConferenceSpec(t *testing.T) {
	s := Topology{Rooms: 2}.spec(9, []uint16{1, 2, 3})
	if len(s.Producers) != 8 || len(s.Consumers) != 8 {
		t.Fatalf("%d producer and %d consumer transports, want 8 and 8", len(s.Producers), len(s.Consumers))
	}
	for i, f := range s.fanoutOf() {
		if f != 3 {
			t.Errorf("stream %d reaches %d receivers, want 3", i, f)
		}
	}
	for i, c := range s.Consumers {
		if len(c.Consume) != 6 {
			t.Errorf("consumer transport %d consumes %d producers, want 6", i, len(c.Consume))
		}
	}
	if got := (Topology{Rooms: 10}).OfferedRate(); got != 6000 {
		t.Errorf("10 rooms offer %v pkt/s, want 6000", got)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-fanout", "x"}, {"-fanout", "10@0"}, {"-rooms", "-1"}, {"-modes", "nginx"}, {"-rounds", "0"}, {"-min-packets", "-1"},
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
}

func TestMediasoupNotFound(t *testing.T) {
	t.Setenv("MEDIASOUP_WORKER_BIN", "/nonexistent/mediasoup-worker")
	err := findMediasoup(&config{node: "node"})
	if !errors.Is(err, ErrNoMediasoup) || !strings.Contains(err.Error(), "MEDIASOUP_WORKER_BIN") {
		t.Errorf("no directory: %v", err)
	}
	if err := findMediasoup(&config{node: "node", mediasoupDir: t.TempDir()}); !errors.Is(err, ErrNoMediasoup) {
		t.Errorf("empty directory: %v", err)
	}
}

// TestWorkerprocOtherBuild: a workerproc:<path> mode runs its worker
// child from the binary at path (here this test binary again) and gets a
// row of its own beside workerproc's.
func TestWorkerprocOtherBuild(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	other := modeWorkerproc + ":" + exe
	cfg, err := parseFlags([]string{"-fanout", "1@100", "-rooms", "", "-rounds", "1",
		"-duration", "500ms", "-min-packets", "0", "-warmup", "100ms", "-modes", modeWorkerproc + "," + other})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, cfg, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	rows := tableRows(t, out.String())
	for _, mode := range []string{modeWorkerproc, other} {
		if r, ok := rows["1→1/"+mode]; !ok {
			t.Errorf("no row for mode %s in\n%s", mode, out.String())
		} else if r[4] != "100.0" {
			t.Errorf("%s: delivered %s %%, want 100.0", mode, r[4])
		}
	}
}

// TestPinForwarder: -pin's split puts a real process's threads on the
// last CPU, and the harness runs pinned end to end.
func TestPinForwarder(t *testing.T) {
	split, err := newCPUSplit()
	if errors.Is(err, errFewCPUs) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if err := split.pinForwarder(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	want := "Cpus_allowed_list:\t" + cpuList(&split.forwarder) + "\n"
	if !strings.Contains(string(status), want) {
		t.Errorf("status has no %q:\n%s", want, status)
	}
}
