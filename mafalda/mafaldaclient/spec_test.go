package mafaldaclient_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	specType = regexp.MustCompile("^### 4\\.\\d+ `(\\w+)`$")
	specLine = regexp.MustCompile("^- (Properties|Methods|Events): (.*)$")
	specName = regexp.MustCompile("`(\\w+)`")
)

// specCatalogue reads the Properties/Methods/Events lines of each type of
// spec/mafalda-v1.md §4.
func specCatalogue(t *testing.T) map[string]map[string][]string {
	data, err := os.ReadFile("../../spec/mafalda-v1.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string][]string{}
	var cur string
	for _, line := range strings.Split(string(data), "\n") {
		if m := specType.FindStringSubmatch(line); m != nil {
			cur = m[1]
			out[cur] = map[string][]string{}
			continue
		}
		if m := specLine.FindStringSubmatch(line); m != nil && cur != "" {
			names := []string{}
			for _, n := range specName.FindAllStringSubmatch(m[2], -1) {
				names = append(names, n[1])
			}
			slices.Sort(names)
			out[cur][m[1]] = names
		}
	}
	return out
}

// TestSpecCatalogueMatchesServer: the catalogue of spec/mafalda-v1.md §4
// is exactly what the server announces in rope.init's types.
func TestSpecCatalogueMatchesServer(t *testing.T) {
	spec := specCatalogue(t)
	c := startServer(t, nil).dial(t)
	if len(spec) != 2 {
		t.Fatalf("spec lists %d types", len(spec))
	}
	for name, want := range spec {
		info, ok := c.ROPE().Type(name)
		if !ok {
			t.Errorf("server has no type %s", name)
			continue
		}
		for what, got := range map[string][]string{"Properties": info.Properties, "Methods": info.Methods, "Events": info.Events} {
			got = slices.Sorted(slices.Values(got))
			if !slices.Equal(got, want[what]) {
				t.Errorf("%s %s: server %v, spec %v", name, what, got, want[what])
			}
		}
	}
}
