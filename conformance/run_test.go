package conformance

import (
	"slices"
	"testing"
)

func TestGlobs(t *testing.T) {
	res, err := compileGlobs([]string{"rope/6.*", " rope/7.2.1/? ", ""})
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{
		"rope/6.7.1/1": true, "rope/6.1.1/12": true, "rope/7.2.1/3": true,
		"rope/7.2.1/10": false, "rope/16.1/1": false, "rope/7.3.1/1": false,
	} {
		if got := matchAny(res, id); got != want {
			t.Errorf("%s: match %v, want %v", id, got, want)
		}
	}
}

func TestCasesAreWellFormed(t *testing.T) {
	seen := map[string]bool{}
	var ids []string
	for _, c := range Cases() {
		if seen[c.ID] {
			t.Errorf("duplicate id %s", c.ID)
		}
		seen[c.ID] = true
		ids = append(ids, c.ID)
		if c.Section() == "" || c.Title == "" || c.Expect == "" || c.Run == nil {
			t.Errorf("%s: incomplete case", c.ID)
		}
		if c.Level != MUST && c.Level != SHOULD && c.Level != MAY {
			t.Errorf("%s: level %q", c.ID, c.Level)
		}
	}
	if !slices.IsSortedFunc(ids, compareIDs) || compareIDs("rope/10.1.1/1", "rope/9.5/1") <= 0 {
		t.Errorf("cases not in spec order: %v", ids)
	}
}
