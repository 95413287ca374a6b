package engine

import (
	"strconv"
	"time"
)

// epoch anchors monotonic nanosecond timestamps on the packet path.
var epoch = time.Now()

// nanotime returns monotonic nanoseconds since epoch.
func nanotime() int64 { return int64(time.Since(epoch)) }

// ntpTime converts a monotonic timestamp to a 64-bit NTP timestamp.
func ntpTime(mono int64) uint64 {
	t := epoch.Add(time.Duration(mono))
	secs := uint64(t.Unix()) + 2208988800
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return secs<<32 | frac
}

func itoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

// rate measures a byte rate over whole-second windows without allocating.
type rate struct {
	start     int64
	bytes     uint64
	lastBytes uint64
}

func (r *rate) add(now int64, n int) {
	if d := now - r.start; d >= int64(time.Second) {
		if d < 2*int64(time.Second) {
			r.lastBytes = r.bytes
		} else {
			r.lastBytes = 0
		}
		r.bytes = 0
		r.start = now
	}
	r.bytes += uint64(n)
}

// early returns bitrate, or while no window is complete yet, the rate
// of the current one once it is 100 ms old (so that a new stream's
// bitrate is known before its first second ends).
func (r *rate) early(now int64) uint64 {
	if b := r.bitrate(now); b != 0 || r.lastBytes != 0 {
		return b
	}
	if d := now - r.start; r.start != 0 && d >= int64(100*time.Millisecond) && d < int64(time.Second) {
		return r.bytes * 8 * uint64(time.Second) / uint64(d)
	}
	return 0
}

// bitrate returns bits per second of the last complete window.
func (r *rate) bitrate(now int64) uint64 {
	if now-r.start >= 2*int64(time.Second) {
		return 0
	}
	if now-r.start >= int64(time.Second) {
		return r.bytes * 8
	}
	return r.lastBytes * 8
}
