// Package speccheck checks in tests that a spec part's object catalogue
// (its "### 4.N `Type`" sections with their "- Properties:", "- Methods:"
// and "- Events:" lines) is exactly what a server announces in rope.init,
// so the spec and the code cannot drift apart.
package speccheck

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ropehq/rope/rope"
)

var (
	typeHeading = regexp.MustCompile("^### 4\\.\\d+ `(\\w+)`$")
	memberLine  = regexp.MustCompile("^- (Properties|Methods|Events): (.*)$")
	name        = regexp.MustCompile("`(\\w+)`")
)

// catalogue reads the §4 catalogue of the spec file at path: per type, per
// "Properties", "Methods" and "Events", the sorted names.
func catalogue(t testing.TB, path string) map[string]map[string][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string][]string{}
	var cur string
	for line := range strings.SplitSeq(string(data), "\n") {
		if m := typeHeading.FindStringSubmatch(line); m != nil {
			cur = m[1]
			out[cur] = map[string][]string{}
			continue
		}
		if m := memberLine.FindStringSubmatch(line); m != nil && cur != "" {
			names := []string{}
			for _, n := range name.FindAllStringSubmatch(m[2], -1) {
				names = append(names, n[1])
			}
			slices.Sort(names)
			out[cur][m[1]] = names
		}
	}
	return out
}

// MatchesServer fails t unless the spec at path lists wantTypes types and
// each is announced by the server (typeInfo, e.g. a ropeclient.Client's
// Type) with exactly its properties, methods and events.
func MatchesServer(t testing.TB, path string, wantTypes int, typeInfo func(string) (rope.TypeInfo, bool)) {
	t.Helper()
	spec := catalogue(t, path)
	if len(spec) != wantTypes {
		t.Fatalf("%s lists %d types, want %d", path, len(spec), wantTypes)
	}
	for typ, want := range spec {
		info, ok := typeInfo(typ)
		if !ok {
			t.Errorf("server has no type %s", typ)
			continue
		}
		for what, got := range map[string][]string{"Properties": info.Properties, "Methods": info.Methods, "Events": info.Events} {
			got = slices.Sorted(slices.Values(got))
			if !slices.Equal(got, want[what]) {
				t.Errorf("%s %s: server %v, spec %v", typ, what, got, want[what])
			}
		}
	}
}
