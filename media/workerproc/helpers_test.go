package workerproc_test

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
)

func itoa(n int) string { return strconv.Itoa(n) }

// vmHWM is the VmHWM of a /proc/<pid>/status text, in KiB.
func vmHWM(status string) int64 {
	for line := range strings.SplitSeq(status, "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// procStat reads a process's CPU time (utime+stime, in clock ticks) and
// minor page faults from /proc/<pid>/stat (fields 14, 15 and 10 of
// proc(5), counted after the command name).
func procStat(t *testing.T, pid int) (ticks, minFlt int64) {
	t.Helper()
	b, err := os.ReadFile("/proc/" + itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := bytes.Fields(b[bytes.LastIndexByte(b, ')')+1:])
	field := func(n int) int64 {
		v, err := strconv.ParseInt(string(f[n-3]), 10, 64)
		if err != nil {
			t.Fatalf("/proc/%d/stat field %d: %v", pid, n, err)
		}
		return v
	}
	return field(14) + field(15), field(10)
}
