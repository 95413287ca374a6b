package workerproc

import (
	"runtime/debug"
	"testing"
)

// TestChildGCPercent: a worker child collects at childGCPercent unless
// the environment sets GOGC, which then stands.
func TestChildGCPercent(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	gcPercent()
	if got := debug.SetGCPercent(100); got != childGCPercent {
		t.Fatalf("GC percent %d without GOGC, want %d", got, childGCPercent)
	}
	t.Setenv("GOGC", "100")
	gcPercent()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GC percent %d with GOGC=100, want 100", got)
	}
}
