package engine

import (
	"testing"
)

// levelTrack is a recorded audio level sequence: the volume (127 - the
// ssrc-audio-level value, so 127 is the loudest) of each 20 ms packet.
type levelTrack func(ms int64) int

const (
	noise  = 25  // background noise (-102 dBov)
	speech = 85  // sustained speech (-42 dBov)
	burst  = 122 // a short loud burst (-5 dBov)
)

// talking is sustained speech: nine packets of speech, then one of the
// background between words.
func talking(ms int64) int {
	if (ms/20)%10 == 9 {
		return noise
	}
	return speech
}

// run feeds the tracks to the identification, one packet per speaker
// every 20 ms, and an election every interval ms, for ms ms; it returns
// the speaker elected at each election (-1 for none yet).
func run(tracks []levelTrack, interval, ms int64) []int {
	d := newDominantSpeakers[int]()
	const start = 1000
	for i := range tracks {
		d.add(i, start, false)
	}
	dominant := -1
	var out []int
	for t := int64(20); t <= ms; t += 20 {
		for i, tr := range tracks {
			d.level(i, tr(t), start+t)
		}
		if t%interval == 0 {
			if k, ok := d.update(start + t); ok {
				dominant = k
			}
			out = append(out, dominant)
		}
	}
	return out
}

// loudest is what the engine did before: each interval, the speaker with
// the highest mean volume.
func loudest(tracks []levelTrack, interval, ms int64) []int {
	var out []int
	sums := make([]int, len(tracks))
	for t := int64(20); t <= ms; t += 20 {
		for i, tr := range tracks {
			sums[i] += tr(t)
		}
		if t%interval == 0 {
			best := 0
			for i := range sums {
				if sums[i] > sums[best] {
					best = i
				}
			}
			out = append(out, best)
			clear(sums)
		}
	}
	return out
}

// A short loud burst from one speaker does not take the floor from
// another who speaks on; it goes to the first once the second stops and
// the first speaks on. "The loudest this interval" elects the burst.
func TestDominantSpeakerSustainedBeatsBurst(t *testing.T) {
	const interval, phase = 300, 6000
	// Speaker 0 is added first, so it is the default before any
	// election, and only the levels can elect speaker 1.
	bursty := func(ms int64) int {
		switch {
		case ms >= 3000 && ms < 3200:
			return burst
		case ms >= phase:
			return talking(ms)
		}
		return noise
	}
	sustained := func(ms int64) int {
		if ms >= phase {
			return noise
		}
		return talking(ms)
	}
	tracks := []levelTrack{bursty, sustained}
	got := run(tracks, interval, 2*phase)
	old := loudest(tracks, interval, 2*phase)

	burstTick := 3300/interval - 1 // the election just after the burst
	if old[burstTick] != 0 {
		t.Fatalf("the sequence does not tell the algorithms apart: loudest at the burst is %d", old[burstTick])
	}
	for i, k := range got[:phase/interval] {
		if k != 1 {
			t.Fatalf("election %d (%d ms): dominant %d, want the sustained speaker 1 (all: %v)", i, (i+1)*interval, k, got)
		}
	}
	if last := got[len(got)-1]; last != 0 {
		t.Fatalf("after speaker 0 spoke on for %d ms: dominant %d (all: %v)", phase, last, got)
	}
	// It takes over within the long window (1 s) and a few elections.
	for i := phase/interval + 2000/interval; i < len(got); i++ {
		if got[i] != 0 {
			t.Fatalf("election %d (%d ms): dominant %d, want 0 (all: %v)", i, (i+1)*interval, got[i], got)
		}
	}
}

// One speaker is elected at the first election, whatever its levels; a
// paused one is not elected; removing the dominant one elects another at
// once.
func TestDominantSpeakerPausedAndRemoved(t *testing.T) {
	d := newDominantSpeakers[string]()
	d.add("a", 1, false)
	if k, ok := d.update(2); !ok || k != "a" {
		t.Fatalf("single speaker: %q %v", k, ok)
	}
	d.add("b", 2, true)
	for ms := int64(20); ms <= 3000; ms += 20 {
		d.level("a", noise, ms)
		d.level("b", talking(ms), ms)
		if k, ok := d.update(ms); ok {
			t.Fatalf("paused speaker elected: %q at %d ms", k, ms)
		}
	}
	d.setPaused("b", false)
	var elected bool
	for ms := int64(3020); ms <= 6000 && !elected; ms += 20 {
		d.level("a", noise, ms)
		d.level("b", talking(ms), ms)
		k, ok := d.update(ms)
		elected = ok && k == "b"
	}
	if !elected {
		t.Fatal("resumed speaker never elected")
	}
	if k, ok := d.remove("b", 6100); !ok || k != "a" {
		t.Fatalf("after removing the dominant speaker: %q %v", k, ok)
	}
}

func TestBinomial(t *testing.T) {
	for _, c := range []struct {
		n, r int
		want int64
	}{{13, 0, 1}, {13, 11, 78}, {10, 5, 252}, {5, 5, 1}, {10, 2, 45}} {
		if got := binomial(c.n, c.r); got != c.want {
			t.Errorf("C(%d,%d) = %d, want %d", c.n, c.r, got, c.want)
		}
	}
}
