package demo_test

import (
	"testing"

	"github.com/ropehq/rope/internal/toolcheck"
)

// requireTools skips or fails where node, this package's npm packages or
// (with chromium) Chromium are missing (internal/toolcheck).
func requireTools(t *testing.T, chromium bool) { toolcheck.Require(t, "demo", chromium) }
