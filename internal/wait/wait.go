// Package wait polls a condition in tests until it holds or a deadline
// passes: the one way our tests wait for something asynchronous, instead
// of sleeping for a guessed time.
package wait

import (
	"testing"
	"time"
)

// Timeout is how long Until polls before failing the test. It is generous
// because it only matters when something is broken, and a loaded CI
// machine running -race is slow.
const Timeout = 20 * time.Second

// Until polls cond every few milliseconds and fails t, naming what it
// waited for, if cond does not hold within Timeout.
func Until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
