package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times.
const clockTicks = 100

// usage is what a round reads of the forwarding process.
type usage struct {
	// cpu is the time its threads ran: utime+stime, read in ns from
	// /proc/<pid>/task/*/schedstat (the same sum, sum_exec_runtime, that
	// /proc/<pid>/stat rounds to 10 ms ticks), else from that stat.
	cpu time.Duration
	// voluntary context switches summed over its threads (a process's
	// own /proc/<pid>/status counts its main thread only).
	vcsw  int64
	rssKB int64
	// anonKB is the RSS of its anonymous memory (RssAnon): its own, where
	// RSS also counts the pages of its program and libraries, which other
	// processes share (a worker child's code is its parent server's).
	anonKB int64
}

// readUsage reads pid's CPU time, its RSS and anonymous RSS from
// /proc/<pid>/status and its
// threads' voluntary context switches from /proc/<pid>/task/*/status. A
// thread that ends between two reads takes its figures with it: Go's and
// mediasoup's threads live as long as the process.
func readUsage(pid int) (usage, error) {
	var u usage
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return u, fmt.Errorf("read usage: %w", err)
	}
	// Fields start after the command name's last ')'; field 3 is f[0].
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return u, fmt.Errorf("read usage: /proc/%d/stat malformed", pid)
	}
	f := bytes.Fields(stat[i+1:])
	if len(f) < 13 {
		return u, fmt.Errorf("read usage: /proc/%d/stat: %d fields", pid, len(f))
	}
	ut, _ := strconv.ParseInt(string(f[14-3]), 10, 64)
	st, _ := strconv.ParseInt(string(f[15-3]), 10, 64)
	u.cpu = time.Duration(ut+st) * time.Second / clockTicks
	status := fmt.Sprintf("/proc/%d/status", pid)
	if u.rssKB, err = statusField(status, "VmRSS"); err != nil {
		return u, err
	}
	if u.anonKB, err = statusField(status, "RssAnon"); err != nil {
		return u, err
	}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	var run time.Duration
	for _, t := range tasks {
		// A thread that ended meanwhile is skipped.
		if n, err := statusField(t+"/status", "voluntary_ctxt_switches"); err == nil {
			u.vcsw += n
		}
		if b, err := os.ReadFile(t + "/schedstat"); err == nil {
			if f := bytes.Fields(b); len(f) > 0 {
				ns, _ := strconv.ParseInt(string(f[0]), 10, 64)
				run += time.Duration(ns)
			}
		}
	}
	if run > 0 {
		u.cpu = run
	}
	return u, nil
}

// statusField returns the number after key in a /proc status file.
func statusField(path, key string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read usage: %w", err)
	}
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok || string(k) != key {
			continue
		}
		vf := bytes.Fields(v)
		if len(vf) == 0 {
			break
		}
		return strconv.ParseInt(string(vf[0]), 10, 64)
	}
	return 0, fmt.Errorf("read usage: %s: no %s", path, key)
}

// loadAvg is the 1-minute load average.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := bytes.Fields(b); len(f) > 0 {
		return string(f[0])
	}
	return "?"
}
