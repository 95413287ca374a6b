//go:build race

package srtpsession

// raceEnabled: sync.Pool drops items at random under the race detector,
// so pion's pooled HMAC state allocates now and then.
const raceEnabled = true
