package conformance

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// Options select and pace the cases of a run. The zero value runs every case
// with the default timeout.
type Options struct {
	// Cases are globs over case ids ("*" matches any run of characters);
	// empty selects every case.
	Cases []string
	// Exclude are globs of case ids not to run; they are reported as skipped.
	Exclude []string
	// Timeout bounds each case. Default 30 s.
	Timeout time.Duration
	// Progress, when set, receives one line per finished case.
	Progress io.Writer
}

// Report is the machine-readable outcome of a run.
type Report struct {
	Tool        string       `json:"tool"`
	ToolVersion string       `json:"toolVersion"`
	Spec        string       `json:"spec"`
	SpecEdition string       `json:"specEdition"`
	Target      string       `json:"target"`
	Started     time.Time    `json:"started"`
	DurationMS  float64      `json:"durationMs"`
	Summary     Summary      `json:"summary"`
	Cases       []CaseResult `json:"cases"`
	Excluded    []Exclusion  `json:"excluded"`
}

// Summary counts the results of a run.
type Summary struct {
	Total int `json:"total"`
	Pass  int `json:"pass"`
	Fail  int `json:"fail"`
	Warn  int `json:"warn"`
	Skip  int `json:"skip"`
}

// CaseResult is the outcome of one case.
type CaseResult struct {
	ID         string  `json:"id"`
	Section    string  `json:"section"`
	Level      Level   `json:"level"`
	Title      string  `json:"title"`
	Result     Result  `json:"result"`
	DurationMS float64 `json:"durationMs"`
	Expected   string  `json:"expected"`
	Actual     string  `json:"actual"`
	Frames     []Frame `json:"frames"`
}

// Failed reports whether a MUST case failed.
func (r *Report) Failed() bool { return r.Summary.Fail > 0 }

// Result returns the result of the case with the id.
func (r *Report) Result(id string) (CaseResult, bool) {
	for _, c := range r.Cases {
		if c.ID == id {
			return c, true
		}
	}
	return CaseResult{}, false
}

// Run runs the selected cases against the target, one after another.
func Run(ctx context.Context, target *Target, opts *Options) (*Report, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	include, err := compileGlobs(o.Cases)
	if err != nil {
		return nil, err
	}
	exclude, err := compileGlobs(o.Exclude)
	if err != nil {
		return nil, err
	}
	rep := &Report{
		Tool: "rope-conformance", ToolVersion: Version, Spec: SpecProtocol, SpecEdition: SpecEdition,
		Target: target.URL, Started: time.Now().UTC(), Excluded: Excluded(), Cases: []CaseResult{},
	}
	for _, c := range Cases() {
		if len(o.Cases) > 0 && !matchAny(include, c.ID) {
			continue
		}
		var r CaseResult
		switch {
		case matchAny(exclude, c.ID):
			r = CaseResult{ID: c.ID, Section: c.Section(), Level: c.Level, Title: c.Title,
				Result: Skip, Expected: c.Expect, Actual: "excluded by --exclude", Frames: []Frame{}}
		case ctx.Err() != nil:
			return nil, fmt.Errorf("conformance: run: %w", ctx.Err())
		default:
			r = runCase(ctx, target, c, o.Timeout)
		}
		rep.add(r)
		if o.Progress != nil {
			fmt.Fprintln(o.Progress, r.line())
		}
	}
	rep.DurationMS = float64(time.Since(rep.Started).Microseconds()) / 1000
	return rep, nil
}

func (r *Report) add(c CaseResult) {
	if c.Frames == nil {
		c.Frames = []Frame{}
	}
	r.Cases = append(r.Cases, c)
	r.Summary.Total++
	switch c.Result {
	case Pass:
		r.Summary.Pass++
	case Fail:
		r.Summary.Fail++
	case Warn:
		r.Summary.Warn++
	case Skip:
		r.Summary.Skip++
	}
}

func (c *CaseResult) line() string {
	return fmt.Sprintf("%-4s %-16s %-6s %s (%.0f ms)", strings.ToUpper(string(c.Result)), c.ID, c.Level, c.Title, c.DurationMS)
}

// WriteSummary writes a readable summary: failures and warnings with what
// was expected and what happened, then the counts.
func (r *Report) WriteSummary(w io.Writer) {
	fmt.Fprintf(w, "rope-conformance %s against %s (%s, %s)\n", r.ToolVersion, r.Target, r.Spec, r.SpecEdition)
	for _, c := range r.Cases {
		if c.Result != Fail && c.Result != Warn && c.Result != Skip {
			continue
		}
		fmt.Fprintln(w, c.line())
		if c.Result == Skip {
			fmt.Fprintf(w, "     reason:   %s\n", c.Actual)
			continue
		}
		fmt.Fprintf(w, "     expected: %s\n     actual:   %s\n", c.Expected, c.Actual)
	}
	s := r.Summary
	fmt.Fprintf(w, "%d cases: %d pass, %d fail (MUST), %d warn (SHOULD/MAY), %d skip; %d requirements excluded; %.1f s\n",
		s.Total, s.Pass, s.Fail, s.Warn, s.Skip, len(r.Excluded), r.DurationMS/1000)
}

func compileGlobs(globs []string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for _, g := range globs {
		if g = strings.TrimSpace(g); g == "" {
			continue
		}
		var b strings.Builder
		b.WriteString("^")
		for _, r := range g {
			switch r {
			case '*':
				b.WriteString(".*")
			case '?':
				b.WriteString(".")
			default:
				b.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		b.WriteString("$")
		re, err := regexp.Compile(b.String())
		if err != nil {
			return nil, fmt.Errorf("conformance: glob %q: %w", g, err)
		}
		out = append(out, re)
	}
	return out, nil
}

func matchAny(res []*regexp.Regexp, id string) bool {
	for _, re := range res {
		if re.MatchString(id) {
			return true
		}
	}
	return false
}
