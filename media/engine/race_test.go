//go:build race

package engine

// raceEnabled: sync.Pool drops items at random under the race detector,
// so pooled scratch (SRTP batch slots, pion's HMAC state) allocates now
// and then.
const raceEnabled = true
