package mediatest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// errors records what valid reports.
type errs struct{ got []string }

func (e *errs) Helper() {}
func (e *errs) Errorf(format string, args ...any) {
	e.got = append(e.got, fmt.Sprintf(format, args...))
}

// TestTable: README.md's table parses, names only steps that exist and
// implementations that run the suite.
func TestTable(t *testing.T) {
	table, err := parseTable(readme)
	if err != nil {
		t.Fatal(err)
	}
	names := StepNames()
	for impl, rows := range table {
		for step := range rows {
			if !slices.Contains(names, step) {
				t.Errorf("README.md: %s skips %q, which is no step", impl, step)
			}
		}
	}
	for _, impl := range []string{"engine", "workerproc", "mediaclient", "mafalda", "mafalda-stacked",
		"mafalda-workerproc", "mafaldaclient", "horizontal", "horizontal-mafalda"} {
		if _, ok := table[impl]; !ok {
			t.Errorf("README.md: no rows for %s", impl)
		}
	}
}

// TestSkipChecks: Run refuses an unknown step, a missing reason, a step
// skipped twice and a Skip list that differs from the table.
func TestSkipChecks(t *testing.T) {
	table, err := parseTable(readme)
	if err != nil {
		t.Fatal(err)
	}
	var opts []Option
	for step, why := range table["mafalda"] {
		opts = append(opts, Skip(step, why))
	}
	for _, tc := range []struct {
		name string
		opts []Option
		want string // "" for valid
	}{
		{"no skips", nil, ""},
		{"unknown step", []Option{Skip("no-such-step", "why")}, `names no step: "no-such-step"`},
		{"no reason", []Option{Skip("worker", " ")}, "gives no reason"},
		{"twice", []Option{Skip("worker", "a"), Skip("worker", "b")}, "skipped twice"},
		{"table agrees", append([]Option{As("mafalda")}, opts...), ""},
		{"not in table", []Option{As("engine"), Skip("worker", "why")}, "README.md's table does not say so"},
		{"unknown implementation", []Option{As("nope")}, "not in README.md's table"},
		{"reason differs", []Option{As("mafalda"), Skip("webrtc-server", "other")}, "README.md's table says"},
	} {
		var c config
		for _, o := range tc.opts {
			o(&c)
		}
		var e errs
		ok := c.valid(&e)
		if tc.want == "" {
			if !ok || len(e.got) != 0 {
				t.Errorf("%s: %v", tc.name, e.got)
			}
			continue
		}
		if ok || !strings.Contains(strings.Join(e.got, "\n"), tc.want) {
			t.Errorf("%s: valid %v, errors %q, want one with %q", tc.name, ok, e.got, tc.want)
		}
	}
}
