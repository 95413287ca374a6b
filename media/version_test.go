package media

import (
	"regexp"
	"testing"
)

func TestVersion(t *testing.T) {
	// Semver with build metadata: x.y.z+rope.<ids>.
	re := regexp.MustCompile(`^\d+\.\d+\.\d+\+rope\.[0-9A-Za-z.-]+$`)
	if v := Version(); !re.MatchString(v) || v[:len(MediasoupVersion)] != MediasoupVersion {
		t.Fatalf("Version() = %q", v)
	}
	for in, want := range map[string]string{"": "devel", "(devel)": "devel", "v0.4.0": "v0.4.0",
		"v0.0.0-20261207001500-0123456789ab": "v0.0.0-20261207001500-0123456789ab", "v1.0.0+incompatible": "v1.0.0-incompatible"} {
		if got := buildMetadata(in); got != want {
			t.Errorf("buildMetadata(%q) = %q, want %q", in, got, want)
		}
	}
}
