// Package h264 parses and negotiates H264 "profile-level-id" values (RFC
// 6184 section 8.1) the way libwebrtc and mediasoup do: the profile is
// derived from profile_idc plus the constraint-set bits of profile_iop,
// and level 1b is encoded either as level_idc 11 with constraint_set3 or
// as level_idc 9.
package h264

import (
	"errors"
	"fmt"
	"strconv"
)

// Profile is an H264 profile as WebRTC distinguishes them.
type Profile int

// Profiles.
const (
	ProfileConstrainedBaseline Profile = iota + 1
	ProfileBaseline
	ProfileMain
	ProfileConstrainedHigh
	ProfileHigh
	ProfilePredictiveHigh444
)

// Level is an H264 level_idc; Level1b is a synthetic value.
type Level int

// Levels.
const (
	Level1b Level = 0
	Level1  Level = 10
	Level11 Level = 11
	Level12 Level = 12
	Level13 Level = 13
	Level2  Level = 20
	Level21 Level = 21
	Level22 Level = 22
	Level3  Level = 30
	Level31 Level = 31
	Level32 Level = 32
	Level4  Level = 40
	Level41 Level = 41
	Level42 Level = 42
	Level5  Level = 50
	Level51 Level = 51
	Level52 Level = 52
)

// ProfileLevelID is a parsed profile-level-id.
type ProfileLevelID struct {
	Profile Profile
	Level   Level
}

// Default is what an absent profile-level-id means (42e01f).
var Default = ProfileLevelID{ProfileConstrainedBaseline, Level31}

const constraintSet3 = 0x10

// bitPattern matches a byte against an 8-character pattern of '0', '1'
// and 'x' (don't care), most significant bit first.
type bitPattern struct{ mask, value byte }

func pattern(s string) bitPattern {
	var p bitPattern
	for i := 0; i < 8; i++ {
		bit := byte(1) << (7 - i)
		if s[i] != 'x' {
			p.mask |= bit
		}
		if s[i] == '1' {
			p.value |= bit
		}
	}
	return p
}

func (p bitPattern) match(b byte) bool { return b&p.mask == p.value }

var profilePatterns = []struct {
	idc     byte
	iop     bitPattern
	profile Profile
}{
	{0x42, pattern("x1xx0000"), ProfileConstrainedBaseline},
	{0x4d, pattern("1xxx0000"), ProfileConstrainedBaseline},
	{0x58, pattern("11xx0000"), ProfileConstrainedBaseline},
	{0x42, pattern("x0xx0000"), ProfileBaseline},
	{0x58, pattern("10xx0000"), ProfileBaseline},
	{0x4d, pattern("0x0x0000"), ProfileMain},
	{0x64, pattern("00000000"), ProfileHigh},
	{0x64, pattern("00001100"), ProfileConstrainedHigh},
	{0xf4, pattern("00000000"), ProfilePredictiveHigh444},
}

// Parse parses six hex digits. ok is false for anything that is not a
// recognised profile and level.
func Parse(s string) (ProfileLevelID, bool) {
	if len(s) != 6 {
		return ProfileLevelID{}, false
	}
	n, err := strconv.ParseUint(s, 16, 32)
	if err != nil || n == 0 {
		return ProfileLevelID{}, false
	}
	levelIDC, iop, idc := byte(n), byte(n>>8), byte(n>>16)
	level, ok := parseLevel(levelIDC, iop)
	if !ok {
		return ProfileLevelID{}, false
	}
	for _, p := range profilePatterns {
		if p.idc == idc && p.iop.match(iop) {
			return ProfileLevelID{p.profile, level}, true
		}
	}
	return ProfileLevelID{}, false
}

func parseLevel(levelIDC, iop byte) (Level, bool) {
	switch l := Level(levelIDC); l {
	case Level11:
		if iop&constraintSet3 != 0 {
			return Level1b, true
		}
		return Level11, true
	case Level1, Level12, Level13, Level2, Level21, Level22, Level3, Level31,
		Level32, Level4, Level41, Level42, Level5, Level51, Level52:
		return l, true
	}
	return 0, false
}

// String returns the canonical six hex digits, or "" for combinations
// that have none (level 1b outside the baseline and main profiles).
func (p ProfileLevelID) String() string {
	if p.Level == Level1b {
		switch p.Profile {
		case ProfileConstrainedBaseline:
			return "42f00b"
		case ProfileBaseline:
			return "42100b"
		case ProfileMain:
			return "4d100b"
		}
		return ""
	}
	prefix := map[Profile]string{
		ProfileConstrainedBaseline: "42e0",
		ProfileBaseline:            "4200",
		ProfileMain:                "4d00",
		ProfileConstrainedHigh:     "640c",
		ProfileHigh:                "6400",
		ProfilePredictiveHigh444:   "f400",
	}[p.Profile]
	if prefix == "" {
		return ""
	}
	return fmt.Sprintf("%s%02x", prefix, int(p.Level))
}

// Params is the view of codec parameters this package needs: the
// profile-level-id text (present reports whether the key is set to a
// non-empty value) and whether level-asymmetry-allowed is 1.
type Params struct {
	ProfileLevelID        string
	Present               bool
	LevelAsymmetryAllowed bool
}

// FromSDP returns the profile-level-id of p: Default when absent, ok
// false when present but invalid.
func FromSDP(p Params) (ProfileLevelID, bool) {
	if !p.Present {
		return Default, true
	}
	return Parse(p.ProfileLevelID)
}

// SameProfile reports whether both parameter sets have a valid
// profile-level-id of the same profile (levels may differ).
func SameProfile(a, b Params) bool {
	pa, okA := FromSDP(a)
	pb, okB := FromSDP(b)
	return okA && okB && pa.Profile == pb.Profile
}

// Errors of AnswerProfileLevelID.
var (
	ErrInvalidLocal    = errors.New("h264: invalid local profile-level-id")
	ErrInvalidRemote   = errors.New("h264: invalid remote profile-level-id")
	ErrProfileMismatch = errors.New("h264: profile mismatch")
)

// AnswerProfileLevelID returns the profile-level-id to answer with given
// the local supported and the remote offered parameters. It returns ""
// and no error when neither side has one (both use the default). Without
// level asymmetry on both sides the answer level is the lower one.
func AnswerProfileLevelID(local, remote Params) (string, error) {
	if !local.Present && !remote.Present {
		return "", nil
	}
	l, ok := FromSDP(local)
	if !ok {
		return "", ErrInvalidLocal
	}
	r, ok := FromSDP(remote)
	if !ok {
		return "", ErrInvalidRemote
	}
	if l.Profile != r.Profile {
		return "", ErrProfileMismatch
	}
	level := minLevel(l.Level, r.Level)
	if local.LevelAsymmetryAllowed && remote.LevelAsymmetryAllowed {
		level = l.Level
	}
	return ProfileLevelID{l.Profile, level}.String(), nil
}

// lessLevel compares levels, placing 1b between 1 and 1.1.
func lessLevel(a, b Level) bool {
	switch {
	case a == Level1b:
		return b != Level1 && b != Level1b
	case b == Level1b:
		return a != Level1
	}
	return a < b
}

func minLevel(a, b Level) Level {
	if lessLevel(a, b) {
		return a
	}
	return b
}
