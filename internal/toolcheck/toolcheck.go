// Package toolcheck decides, for tests that drive node or Chromium,
// whether the tools are here: a missing one skips the test, except under
// ROPE_REQUIRE_BROWSER=1 (make test sets it) or CI=true, where it fails
// (media/browsertest's rule).
package toolcheck

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Chromium is Debian's Chromium, the only browser the tests use.
const Chromium = "/usr/bin/chromium"

// Require checks for node, the npm packages of the test's package
// directory (named pkg in the message: "demo", "monitor") and, when
// chromium is set, Chromium.
func Require(t *testing.T, pkg string, chromium bool) {
	t.Helper()
	var missing []string
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node")
	}
	if _, err := os.Stat("node_modules/.package-lock.json"); err != nil {
		missing = append(missing, pkg+"/node_modules (npm ci here)")
	}
	if _, err := os.Stat(Chromium); chromium && err != nil {
		missing = append(missing, Chromium)
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("ROPE_REQUIRE_BROWSER") == "1" || os.Getenv("CI") == "true" {
		t.Fatalf("missing %s (ROPE_REQUIRE_BROWSER=1 or CI=true: this test may not skip)", strings.Join(missing, ", "))
	}
	t.Skipf("missing %s", strings.Join(missing, ", "))
}
