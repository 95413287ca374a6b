package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// errFewCPUs says -pin needs two CPUs at least.
var errFewCPUs = errors.New("-pin needs at least 2 CPUs")

// cpuSplit is -pin's placement: the forwarders on the last CPU this
// process may use, the tool (generator, receivers) on the others.
type cpuSplit struct {
	tool, forwarder unix.CPUSet
}

// newCPUSplit splits the CPUs this process may use.
func newCPUSplit() (*cpuSplit, error) {
	var all unix.CPUSet
	if err := unix.SchedGetaffinity(0, &all); err != nil {
		return nil, fmt.Errorf("pin: %w", err)
	}
	if all.Count() < 2 {
		return nil, errFewCPUs
	}
	s := &cpuSplit{tool: all}
	for c := len(all)*64 - 1; c >= 0; c-- {
		if all.IsSet(c) {
			s.tool.Clear(c)
			s.forwarder.Set(c)
			break
		}
	}
	return s, nil
}

// setAffinity puts every thread of process pid on set; the threads it
// starts later inherit it from theirs.
func setAffinity(pid int, set *unix.CPUSet) error {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	if err != nil || len(tasks) == 0 {
		return fmt.Errorf("pin %d: no threads", pid)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(filepath.Base(t))
		if err != nil {
			continue
		}
		// A thread that ended meanwhile is skipped.
		if err := unix.SchedSetaffinity(tid, set); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("pin thread %d of %d: %w", tid, pid, err)
		}
	}
	return nil
}

// pinTool puts this process's threads on the tool's CPUs.
func (s *cpuSplit) pinTool() error { return setAffinity(os.Getpid(), &s.tool) }

// pinForwarder puts the forwarding process pid on the forwarders' CPU.
func (s *cpuSplit) pinForwarder(pid int) error { return setAffinity(pid, &s.forwarder) }

// cpuList lists set's CPUs ("1", "0,2,3").
func cpuList(set *unix.CPUSet) string {
	var b []byte
	for c := range len(set) * 64 {
		if set.IsSet(c) {
			if len(b) > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(c), 10)
		}
	}
	return string(b)
}
