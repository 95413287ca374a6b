package monitor_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// requireTools skips where Chromium, node or the npm packages are
// missing, except under ROPE_REQUIRE_BROWSER=1 (make test sets it) or
// CI=true, where a missing piece is a failure (media/browsertest's rule).
func requireTools(t *testing.T, chromium bool) {
	t.Helper()
	var missing []string
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node")
	}
	if _, err := os.Stat("node_modules/.package-lock.json"); err != nil {
		missing = append(missing, "monitor/node_modules (npm ci here)")
	}
	if _, err := os.Stat("/usr/bin/chromium"); chromium && err != nil {
		missing = append(missing, "/usr/bin/chromium")
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("ROPE_REQUIRE_BROWSER") == "1" || os.Getenv("CI") == "true" {
		t.Fatalf("missing %s (ROPE_REQUIRE_BROWSER=1 or CI=true: this test may not skip)", strings.Join(missing, ", "))
	}
	t.Skipf("missing %s", strings.Join(missing, ", "))
}
