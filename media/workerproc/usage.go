package workerproc

import (
	"bytes"
	"fmt"
	"os"
	"strconv"

	"github.com/ropehq/rope/media"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times; 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// procGone is the error of a child whose /proc files cannot be read: the
// process has ended. The OS error is wrapped after the media error, so
// clients see only the media error's text.
func procGone(pid int, err error) error {
	return fmt.Errorf("%w: %w", media.NewError(media.ErrClosed, "worker process %d gone", pid), err)
}

// resourceUsage reads a process's figures from /proc: user and system
// time and page faults from /proc/<pid>/stat, peak RSS (VmHWM, the
// ru_maxrss of getrusage, in KiB) and context switches from
// /proc/<pid>/status.
func resourceUsage(pid int) (*media.WorkerResourceUsage, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, procGone(pid, err)
	}
	// The command name may hold spaces and parens: fields start after
	// the last ')'. Field 3 (state) is then f[0].
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return nil, fmt.Errorf("workerproc: /proc/%d/stat: malformed", pid)
	}
	f := bytes.Fields(stat[i+1:])
	if len(f) < 22 {
		return nil, fmt.Errorf("workerproc: /proc/%d/stat: %d fields", pid, len(f))
	}
	field := func(n int) int64 { // n is the 1-based field number of proc(5)
		v, _ := strconv.ParseInt(string(f[n-3]), 10, 64)
		return v
	}
	u := &media.WorkerResourceUsage{
		MinFlt: field(10),
		MajFlt: field(12),
		UTime:  field(14) * 1000 / clockTicks,
		STime:  field(15) * 1000 / clockTicks,
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, procGone(pid, err)
	}
	for line := range bytes.SplitSeq(status, []byte("\n")) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		vf := bytes.Fields(v)
		if len(vf) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(string(vf[0]), 10, 64)
		switch string(k) {
		case "VmHWM":
			u.MaxRSS = n
		case "voluntary_ctxt_switches":
			u.NVCSw = n
		case "nonvoluntary_ctxt_switches":
			u.NIvCSw = n
		}
	}
	return u, nil
}
