package engine

import "math"

// Dominant speaker identification, as mediasoup's ActiveSpeakerObserver
// (worker/src/RTC/ActiveSpeakerObserver.cpp, itself a port of Jitsi's
// DominantSpeakerIdentification after Volfin and Cohen, "Dominant Speaker
// Identification for Multipoint Videoconferencing"). Each speaker's audio
// levels (one per 20 ms) are turned into speech activity scores over three
// windows: immediate (the last 50 levels, in 13 subunits), medium (10
// blocks of 5 immediates) and long (1 block of 10 mediums). A speaker
// replaces the dominant one only when its scores beat the dominant's by
// the thresholds C1, C2 and C3 on all three windows at once, so a short
// loud burst does not take over from sustained speech. The constants,
// the integer types' wrap-arounds and the order of evaluation are
// mediasoup's, so that the same level sequences elect the same speakers.
const (
	dsC1                 = 3.0
	dsC2                 = 2.0
	dsC3                 = 0.0
	dsN1                 = 13
	dsN2                 = 5
	dsN3                 = 10
	dsLongCount          = 1
	dsLevelIdleTimeout   = 40             // ms
	dsSpeakerIdleTimeout = 60 * 60 * 1000 // ms
	dsLongThreshold      = 4
	dsMaxLevel           = 127
	dsMinLevel           = 0
	dsMinLevelWindowLen  = 15 * 1000 / 20
	dsMediumThreshold    = 7
	dsSubunitLengthN1    = (dsMaxLevel - dsMinLevel + dsN1 - 1) / dsN1
	dsImmediateBuffLen   = dsLongCount * dsN3 * dsN2
	dsMediumsBuffLen     = dsLongCount * dsN3
	dsLongsBuffLen       = dsLongCount
	dsLevelsBuffLen      = dsLongCount * dsN3 * dsN2
	dsMinActivityScore   = 0.0000000001
)

// speaker is one producer's state in the identification.
type speaker struct {
	// paused: the producer is paused, or idle for dsSpeakerIdleTimeout.
	paused                                 bool
	immediateScore, mediumScore, longScore float64
	lastLevelChange                        int64 // ms
	minLevel, nextMinLevel                 uint8
	nextMinLevelWindowLen                  uint32
	immediates                             [dsImmediateBuffLen]uint8
	mediums                                [dsMediumsBuffLen]uint8
	longs                                  [dsLongsBuffLen]uint8
	levels                                 [dsLevelsBuffLen]uint8
	nextLevelIndex                         int
}

func newSpeaker(now int64, paused bool) *speaker {
	return &speaker{paused: paused, immediateScore: dsMinActivityScore, mediumScore: dsMinActivityScore,
		longScore: dsMinActivityScore, lastLevelChange: now}
}

// levelChanged records volume (0..127, 127 the loudest) received at now;
// it fills one level per 20 ms elapsed (a paused producer, DTX or a longer
// packetization time skip some).
func (s *speaker) levelChanged(volume int, now int64) {
	if s.lastLevelChange > now {
		return
	}
	elapsed := now - s.lastLevelChange
	s.lastLevelChange = now
	b := uint8(min(max(volume, dsMinLevel), dsMaxLevel))
	n := min(max(elapsed/20, 1), dsLevelsBuffLen)
	for range n {
		s.levels[s.nextLevelIndex] = b
		s.nextLevelIndex = (s.nextLevelIndex + 1) % dsLevelsBuffLen
	}
	s.updateMinLevel(b)
}

func (s *speaker) levelTimedOut(now int64) { s.levelChanged(dsMinLevel, now) }

// updateMinLevel tracks the noise floor: the lowest non-zero level, moved
// towards a higher one seen for dsMinLevelWindowLen levels.
func (s *speaker) updateMinLevel(level uint8) {
	switch {
	case level == dsMinLevel:
	case s.minLevel == dsMinLevel || s.minLevel > level:
		s.minLevel, s.nextMinLevel, s.nextMinLevelWindowLen = level, dsMinLevel, 0
	case s.nextMinLevel == dsMinLevel:
		s.nextMinLevel, s.nextMinLevelWindowLen = level, 1
	default:
		s.nextMinLevel = min(s.nextMinLevel, level)
		s.nextMinLevelWindowLen++
		if s.nextMinLevelWindowLen >= dsMinLevelWindowLen {
			v := math.Sqrt(float64(int(s.minLevel) * int(s.nextMinLevel)))
			s.minLevel = uint8(min(max(v, dsMinLevel), dsMaxLevel))
			s.nextMinLevel, s.nextMinLevelWindowLen = dsMinLevel, 0
		}
	}
}

// evalActivityScores recomputes the scores whose inputs changed.
func (s *speaker) evalActivityScores() {
	if !s.computeImmediates() {
		return
	}
	s.immediateScore = activityScore(s.immediates[0], dsN1, 0.5, 0.78)
	if !computeBigs(s.immediates[:], s.mediums[:], dsMediumThreshold) {
		return
	}
	s.mediumScore = activityScore(s.mediums[0], dsN2, 0.5, 24)
	if computeBigs(s.mediums[:], s.longs[:], dsLongThreshold) {
		s.longScore = activityScore(s.longs[0], dsN3, 0.5, 47)
	}
}

func (s *speaker) score(window int) float64 {
	switch window {
	case 0:
		return s.immediateScore
	case 1:
		return s.mediumScore
	default:
		return s.longScore
	}
}

// computeImmediates quantises the last levels above the noise floor into
// subunits, the most recent first; it reports a change.
func (s *speaker) computeImmediates() bool {
	// mediasoup keeps this threshold in an int8_t: above 127 it wraps
	// negative and every level passes.
	floor := int(int8(s.minLevel + dsSubunitLengthN1))
	changed := false
	for i := range dsImmediateBuffLen {
		idx := s.nextLevelIndex - i - 1
		if idx < 0 {
			idx += dsLevelsBuffLen
		}
		level := s.levels[idx]
		if int(level) < floor {
			level = dsMinLevel
		}
		if v := level / dsSubunitLengthN1; s.immediates[i] != v {
			s.immediates[i], changed = v, true
		}
	}
	return changed
}

// computeBigs counts, for each big, its littles above threshold.
func computeBigs(littles, bigs []uint8, threshold uint8) bool {
	per := len(littles) / len(bigs)
	changed := false
	for b, l := 0, 0; b < len(bigs); b++ {
		var sum uint8
		for end := l + per; l < end; l++ {
			if littles[l] > threshold {
				sum++
			}
		}
		if bigs[b] != sum {
			bigs[b], changed = sum, true
		}
	}
	return changed
}

func activityScore(vL uint8, nR int, p, lambda float64) float64 {
	v := float64(vL)
	score := math.Log(float64(binomial(nR, int(vL)))) + v*math.Log(p) + float64(nR-int(vL))*math.Log(1-p) -
		math.Log(lambda) + lambda*v
	return max(score, dsMinActivityScore)
}

func binomial(n, r int) int64 {
	if m := n - r; r < m {
		r = m
	}
	t := int64(1)
	for i, j := int64(n), int64(1); i > int64(r); i, j = i-1, j+1 {
		t = t * i / j
	}
	return t
}

// dominantSpeakers elects the dominant one of a set of speakers, keyed by
// K (a producer), in the order they were added (mediasoup iterates a hash
// map; the order only matters for the first election among silent
// speakers). It is not safe for concurrent use.
type dominantSpeakers[K comparable] struct {
	keys            []K
	speakers        map[K]*speaker
	dominant        K
	hasDominant     bool
	lastLevelIdleMs int64
}

func newDominantSpeakers[K comparable]() *dominantSpeakers[K] {
	return &dominantSpeakers[K]{speakers: map[K]*speaker{}}
}

func (d *dominantSpeakers[K]) add(k K, now int64, paused bool) {
	if _, ok := d.speakers[k]; ok {
		return
	}
	d.keys = append(d.keys, k)
	d.speakers[k] = newSpeaker(now, paused)
}

// remove drops k; when it was the dominant one, a new election runs at
// once (as mediasoup): it reports the new dominant speaker, if any.
func (d *dominantSpeakers[K]) remove(k K, now int64) (K, bool) {
	var zero K
	if _, ok := d.speakers[k]; !ok {
		return zero, false
	}
	delete(d.speakers, k)
	for i, x := range d.keys {
		if x == k {
			d.keys = append(d.keys[:i], d.keys[i+1:]...)
			break
		}
	}
	if !d.hasDominant || d.dominant != k {
		return zero, false
	}
	d.dominant, d.hasDominant = zero, false
	return d.update(now)
}

func (d *dominantSpeakers[K]) setPaused(k K, paused bool) {
	if s := d.speakers[k]; s != nil {
		s.paused = paused
	}
}

// level records a packet's volume (127 - its audio level).
func (d *dominantSpeakers[K]) level(k K, volume int, now int64) {
	if s := d.speakers[k]; s != nil {
		s.levelChanged(volume, now)
	}
}

// update is one tick of the observer's interval: idle speakers' levels
// time out, and an election runs. It reports a new dominant speaker.
func (d *dominantSpeakers[K]) update(now int64) (K, bool) {
	if now-d.lastLevelIdleMs >= dsLevelIdleTimeout {
		if d.lastLevelIdleMs != 0 {
			d.timeoutIdleLevels(now)
		}
		d.lastLevelIdleMs = now
	}
	var zero K
	if len(d.keys) == 0 {
		return zero, false
	}
	k, ok := d.elect()
	if !ok || (d.hasDominant && k == d.dominant) {
		return zero, false
	}
	d.dominant, d.hasDominant = k, true
	return k, true
}

// elect is mediasoup's CalculateActiveSpeaker: the speaker whose scores
// beat the dominant's by C1, C2 and C3, the best medium one among several.
func (d *dominantSpeakers[K]) elect() (K, bool) {
	if len(d.keys) == 1 {
		return d.keys[0], true
	}
	var elected K
	found := false
	var dom *speaker
	if d.hasDominant {
		dom = d.speakers[d.dominant]
	} else {
		elected, found = d.keys[0], true
		dom = d.speakers[elected]
	}
	dom.evalActivityScores()
	bestC2 := dsC2
	for _, k := range d.keys {
		s := d.speakers[k]
		if (d.hasDominant && k == d.dominant) || s.paused {
			continue
		}
		s.evalActivityScores()
		c1 := math.Log(s.score(0) / dom.score(0))
		c2 := math.Log(s.score(1) / dom.score(1))
		c3 := math.Log(s.score(2) / dom.score(2))
		if c1 > dsC1 && c2 > dsC2 && c3 > dsC3 && c2 > bestC2 {
			bestC2, elected, found = c2, k, true
		}
	}
	return elected, found
}

func (d *dominantSpeakers[K]) timeoutIdleLevels(now int64) {
	for _, k := range d.keys {
		s := d.speakers[k]
		idle := now - s.lastLevelChange
		if dsSpeakerIdleTimeout < idle && (!d.hasDominant || k != d.dominant) {
			s.paused = true
		} else if dsLevelIdleTimeout < idle {
			s.levelTimedOut(now)
		}
	}
}
