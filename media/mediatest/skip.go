package mediatest

import (
	_ "embed"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Option configures Run.
type Option func(*config)

// config is what Run's options say.
type config struct {
	name  string
	skips map[string]string // step name → why the implementation cannot
	dups  []string          // steps skipped twice
}

// As names the implementation under test (as in README.md's table:
// "engine", "mediaclient", ...). Run then checks that the implementation's
// Skip options are exactly its rows of the table, reasons included, so the
// table stays true.
func As(name string) Option { return func(c *config) { c.name = name } }

// Skip declares that the implementation cannot do step, and why: Run
// reports the step skipped with that reason instead of running it. A
// step name Run does not know fails the test.
func Skip(step, why string) Option {
	return func(c *config) {
		if c.skips == nil {
			c.skips = map[string]string{}
		}
		if _, dup := c.skips[step]; dup {
			c.dups = append(c.dups, step)
		}
		c.skips[step] = why
	}
}

// StepNames lists the suite's steps in the order Run runs them.
func StepNames() []string {
	names := make([]string, len(steps))
	for i, s := range steps {
		names[i] = s.name
	}
	return names
}

// reporter is the part of testing.TB that valid uses.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// valid reports whether the options are consistent with the steps and
// the table, failing t where not.
func (c *config) valid(t reporter) bool {
	t.Helper()
	ok := true
	for _, d := range c.dups {
		t.Errorf("mediatest: step %q skipped twice", d)
		ok = false
	}
	names := StepNames()
	for _, s := range slices.Sorted(maps.Keys(c.skips)) {
		if !slices.Contains(names, s) {
			t.Errorf("mediatest: Skip names no step: %q (steps: %s)", s, strings.Join(names, ", "))
			ok = false
		}
		if strings.TrimSpace(c.skips[s]) == "" {
			t.Errorf("mediatest: Skip(%q) gives no reason", s)
			ok = false
		}
	}
	if c.name == "" {
		return ok
	}
	table, err := parseTable(readme)
	if err != nil {
		t.Errorf("mediatest: README.md: %v", err)
		return false
	}
	rows, known := table[c.name]
	if !known {
		t.Errorf("mediatest: implementation %q is not in README.md's table (add its rows, or a row with step \"(none)\")", c.name)
		return false
	}
	for _, s := range slices.Sorted(maps.Keys(c.skips)) {
		if why, ok2 := rows[s]; !ok2 {
			t.Errorf("mediatest: %s skips %q but README.md's table does not say so; add: | `%s` | `%s` | %s |", c.name, s, c.name, s, c.skips[s])
			ok = false
		} else if why != c.skips[s] {
			t.Errorf("mediatest: %s skips %q because %q, README.md's table says %q", c.name, s, c.skips[s], why)
			ok = false
		}
	}
	for _, s := range slices.Sorted(maps.Keys(rows)) {
		if _, ok2 := c.skips[s]; !ok2 {
			t.Errorf("mediatest: README.md's table says %s cannot do %q, but it runs it (remove the row)", c.name, s)
			ok = false
		}
	}
	return ok
}

//go:embed README.md
var readme string

// tableHeading starts the section of README.md that holds the table.
const tableHeading = "## What each implementation cannot do"

// parseTable reads the table of README.md's section tableHeading: rows
// "| `impl` | `step` | why |", or "| `impl` | (none) | |" for an
// implementation that runs every step. It returns impl → step → why.
func parseTable(doc string) (map[string]map[string]string, error) {
	_, section, found := strings.Cut(doc, tableHeading)
	if !found {
		return nil, fmt.Errorf("no section %q", tableHeading)
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	table := map[string]map[string]string{}
	for _, line := range strings.Split(section, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 3 {
			return nil, fmt.Errorf("row %q: want 3 cells", line)
		}
		impl := strings.Trim(strings.TrimSpace(cells[0]), "`")
		step := strings.Trim(strings.TrimSpace(cells[1]), "`")
		why := strings.TrimSpace(cells[2])
		if table[impl] == nil {
			table[impl] = map[string]string{}
		}
		if step == "(none)" {
			continue
		}
		if _, dup := table[impl][step]; dup {
			return nil, fmt.Errorf("%s %s listed twice", impl, step)
		}
		if why == "" {
			return nil, fmt.Errorf("%s %s: no reason", impl, step)
		}
		table[impl][step] = why
	}
	if len(table) == 0 {
		return nil, fmt.Errorf("no rows under %q", tableHeading)
	}
	return table, nil
}
