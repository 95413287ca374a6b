package conformance

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Level is the requirement level of the sentence a case checks.
type Level string

// Requirement levels (BCP 14).
const (
	MUST   Level = "MUST"
	SHOULD Level = "SHOULD"
	MAY    Level = "MAY"
)

// Result is the outcome of one case.
type Result string

// Results. A failed MUST case is "fail"; a failed SHOULD or MAY case is
// "warn".
const (
	Pass Result = "pass"
	Fail Result = "fail"
	Warn Result = "warn"
	Skip Result = "skip"
)

// Case is one scripted conformance check.
type Case struct {
	// ID is "rope/<section>/<n>".
	ID string
	// Level is the level of the requirement checked.
	Level Level
	// Title quotes the requirement in one line.
	Title string
	// Expect says, in one line, what a conforming server does.
	Expect string
	// Run drives the target; it reports failure through T.
	Run func(t *T)
}

// Section is the spec section the case checks, taken from its id.
func (c *Case) Section() string {
	parts := strings.Split(c.ID, "/")
	if len(parts) < 3 {
		return ""
	}
	return parts[1]
}

// Cases lists every case of the suite, in spec order.
func Cases() []*Case {
	var all []*Case
	for _, group := range [][]*Case{
		handshakeCases(), authCases(), initCases(), framingCases(), nameCases(),
		callCases(), errorCases(), syncCases(), resumeCases(), limitCases(), fixtureCases(), sessionCases(), viewCases(),
	} {
		all = append(all, group...)
	}
	slices.SortStableFunc(all, func(a, b *Case) int { return compareIDs(a.ID, b.ID) })
	return all
}

// compareIDs orders "rope/6.10.1/2" after "rope/6.9.1/3": numerically by
// each dotted or slashed component.
func compareIDs(a, b string) int {
	split := func(s string) []string {
		return strings.FieldsFunc(s, func(r rune) bool { return r == '/' || r == '.' })
	}
	x, y := split(a), split(b)
	for i := 0; i < len(x) && i < len(y); i++ {
		n, errN := strconv.Atoi(x[i])
		m, errM := strconv.Atoi(y[i])
		if errN == nil && errM == nil && n != m {
			return cmp.Compare(n, m)
		}
		if c := strings.Compare(x[i], y[i]); (errN != nil || errM != nil) && c != 0 {
			return c
		}
	}
	return cmp.Compare(len(x), len(y))
}

// Exclusion is a requirement the suite deliberately does not check.
type Exclusion struct {
	Section string `json:"section"`
	Reason  string `json:"reason"`
}

// T is the handle a running case reports through, like testing.T. Fatalf
// and Skipf end the case's goroutine.
type T struct {
	ctx    context.Context
	target *Target

	// mu guards the fields below.
	mu      sync.Mutex
	peers   []*Peer
	failed  bool
	skipped bool
	actual  string
	notes   []string
}

// Context is the case's context; it ends at the case timeout.
func (t *T) Context() context.Context { return t.ctx }

// Target is the server under test.
func (t *T) Target() *Target { return t.target }

// Fatalf records the observed deviation and ends the case.
func (t *T) Fatalf(format string, args ...any) {
	t.mu.Lock()
	t.failed = true
	t.actual = fmt.Sprintf(format, args...)
	t.mu.Unlock()
	runtime.Goexit()
}

// Skipf records why the case does not apply and ends it.
func (t *T) Skipf(format string, args ...any) {
	t.mu.Lock()
	t.skipped = true
	t.actual = fmt.Sprintf(format, args...)
	t.mu.Unlock()
	runtime.Goexit()
}

// Logf adds a note to the case's actual outcome.
func (t *T) Logf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.notes = append(t.notes, fmt.Sprintf(format, args...))
}

func (t *T) addPeer(p *Peer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.peers = append(t.peers, p)
}

// runCase runs c in its own goroutine with a timeout and returns its result.
func runCase(ctx context.Context, target *Target, c *Case, timeout time.Duration) CaseResult {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := &T{ctx: ctx, target: target}
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if r := recover(); r != nil {
				t.mu.Lock()
				t.failed, t.actual = true, fmt.Sprintf("suite panic: %v", r)
				t.mu.Unlock()
			}
		}()
		c.Run(t)
	}()
	<-done
	t.closePeers()
	return t.result(c, time.Since(start))
}

func (t *T) closePeers() {
	t.mu.Lock()
	peers := slices.Clone(t.peers)
	t.mu.Unlock()
	for _, p := range peers {
		p.Drop()
	}
}

func (t *T) result(c *Case, d time.Duration) CaseResult {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := CaseResult{
		ID: c.ID, Section: c.Section(), Level: c.Level, Title: c.Title,
		Result: Pass, DurationMS: float64(d.Microseconds()) / 1000,
		Expected: c.Expect, Actual: t.actual,
	}
	switch {
	case t.skipped:
		r.Result = Skip
	case t.failed && c.Level == MUST:
		r.Result = Fail
	case t.failed:
		r.Result = Warn
	default:
		r.Actual = "as expected"
	}
	if len(t.notes) > 0 {
		r.Actual += " (" + strings.Join(t.notes, "; ") + ")"
	}
	for _, p := range t.peers {
		r.Frames = append(r.Frames, p.Frames()...)
	}
	slices.SortStableFunc(r.Frames, func(a, b Frame) int { return a.At.Compare(b.At) })
	return r
}
