package conformance_test

import (
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/ropehq/rope/conformance"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeserver"
)

// knownServerBugs are cases ropeserver fails today (see
// TestReferenceServer); the variant tests leave them out of their baseline.
// Fixed so far: rope/3.1.4/1 (invalid UTF-8 is -32700), rope/4.2.1/4 (a
// malformed Authorization header fails), rope/4.1.3/2-3 (every presented
// token counts), the second edition's exact and repeated names, fixture
// ranges and repeated resume keys.
var knownServerBugs []string

// variant is a deliberately broken server and the cases that must catch it.
type variant struct {
	name  string
	proxy *proxy // upstream filled in by the test; nil: no proxy
	opts  *ropeserver.Options
	cases []string // globs of the cases to run
	catch []string // case ids that must fail
	// warnOnly: only SHOULD cases catch it, so the run must not fail.
	warnOnly bool
}

func variants() []variant {
	return []variant{
		{name: "drops one rope.updated per connection",
			proxy: &proxy{newFilter: func() filter { return &dropOneUpdated{} }},
			cases: []string{"rope/6.*", "rope/8.2.2/*", "rope/15.3.1/*", "rope/7.3.2/*"},
			catch: []string{"rope/6.1.1/1", "rope/6.2.2/1", "rope/6.7.1/1", "rope/7.3.2/1", "rope/8.2.2/1", "rope/15.3.1/1"}},
		{name: "holds a call's notifications until after its response",
			proxy: &proxy{newFilter: func() filter { return &holdUntilResponse{} }},
			cases: []string{"rope/6.*", "rope/8.*", "rope/15.3.*"},
			catch: []string{"rope/6.7.1/1", "rope/8.2.2/1", "rope/15.3.1/1", "rope/6.5.1/1", "rope/6.5.2/1"}},
		{name: "answers -32002 instead of -32001",
			proxy: &proxy{newFilter: func() filter { return rewriteCode{"-32001", "-32002"} }},
			cases: []string{"rope/6.5.*", "rope/8.*"},
			catch: []string{"rope/6.5.1/1", "rope/8.1.2/2", "rope/8.1.2/5", "rope/8.2.1/1"}},
		{name: "answers -32600 instead of -32700",
			proxy: &proxy{newFilter: func() filter { return rewriteCode{"-32700", "-32600"} }},
			cases: []string{"rope/3.*"},
			catch: []string{"rope/3.1.3/1"}},
		{name: "strips resumed from rope.init",
			proxy: &proxy{newFilter: func() filter { return stripResumed{} }},
			cases: []string{"rope/5.*", "rope/7.*"},
			catch: []string{"rope/5.2.1/1", "rope/7.3.1/1", "rope/7.3.2/1", "rope/7.2.1/4", "rope/7.1.2/2"}},
		{name: "answers a resume within the window with a snapshot",
			proxy: &proxy{query: func(q url.Values) { q.Del(rope.QueryEpoch); q.Del(rope.QuerySeq) }},
			cases: []string{"rope/7.*"},
			catch: []string{"rope/7.3.1/1", "rope/7.3.2/1", "rope/7.2.1/4", "rope/7.1.2/2"}},
		{name: "closes a connection that asks to resume",
			proxy: &proxy{closeOnResume: true},
			cases: []string{"rope/7.*"},
			catch: []string{"rope/7.3.1/1", "rope/7.3.2/1", "rope/7.2.1/1", "rope/7.2.1/2", "rope/7.2.1/3", "rope/7.2.1/4", "rope/7.1.2/1", "rope/7.1.2/2"}},
		{name: "leaves data.method out of -32601",
			proxy:    &proxy{newFilter: func() filter { return stripErrorMethod{} }},
			cases:    []string{"rope/8.4.*", "rope/9.2/*"},
			catch:    []string{"rope/9.2/1"},
			warnOnly: true},
		{name: "reads member names case-insensitively",
			proxy: &proxy{newFilter: func() filter { return foldNames{} }},
			cases: []string{"rope/1.4.1/1"},
			catch: []string{"rope/1.4.1/1"}},
		{name: "keeps the last of repeated names",
			proxy: &proxy{newFilter: func() filter { return lastNameWins{} }},
			cases: []string{"rope/1.4.1/3"},
			catch: []string{"rope/1.4.1/3"}},
		{name: "compares strings without decoding escapes",
			proxy: &proxy{newFilter: func() filter { return replaceUp{`\u00`, `\\u00`} }},
			cases: []string{"rope/1.4.1/2"},
			catch: []string{"rope/1.4.1/2"}},
		{name: "answers -32601 to a null method",
			proxy: &proxy{newFilter: func() filter { return replaceUp{`"method":null`, `"method":""`} }},
			cases: []string{"rope/3.3.1/*"},
			catch: []string{"rope/3.3.1/4"}},
		{name: "takes ints beyond the fixture's ranges",
			proxy: &proxy{newFilter: func() filter {
				return replaceUp{"9007199254740992", "9007199254740991", `"times":1001`, `"times":1000`}
			}},
			cases: []string{"rope/15.1.3/*"},
			catch: []string{"rope/15.1.3/2"}},
		{name: "takes a null member for a wrong type",
			proxy: &proxy{newFilter: func() filter { return replaceUp{`"value":null`, `"value":"null"`} }},
			cases: []string{"rope/15.1.3/*"},
			catch: []string{"rope/15.1.3/3"}},
		{name: "answers sleep at once",
			proxy: &proxy{newFilter: func() filter { return replaceUp{`"ms":300`, `"ms":0`} }},
			cases: []string{"rope/15.2/*"},
			catch: []string{"rope/15.2/1"}},
		{name: "answers Child.ping with another value",
			proxy: &proxy{newFilter: func() filter { return replaceDown{`"result":"pong"`, `"result":"ping"`} }},
			cases: []string{"rope/15.4/*"},
			catch: []string{"rope/15.4/1"}},
		{name: "announces a replay window one larger than it keeps",
			proxy: &proxy{newFilter: func() filter { return widenWindow{} }},
			cases: []string{"rope/7.2.1/5"},
			catch: []string{"rope/7.2.1/5"}},
		{name: "reads the first of repeated resume keys",
			proxy: &proxy{query: func(q url.Values) {
				for k, vs := range q {
					q[k] = vs[:1]
				}
			}},
			cases: []string{"rope/7.1.2/*"},
			catch: []string{"rope/7.1.2/3"}},
		{name: "refuses an empty subprotocol header",
			proxy: &proxy{refuseEmptySubprotocol: true},
			cases: []string{"rope/2.2.2/*"},
			catch: []string{"rope/2.2.2/4"}},
		{name: "closes a slow consumer at 100 queued messages",
			opts:  &ropeserver.Options{SendQueueLimit: 100},
			cases: []string{"rope/10.3.1/*"},
			catch: []string{"rope/10.3.1/1"}},
		{name: "sends full internal errors",
			opts:  &ropeserver.Options{SendFullErrors: true},
			cases: []string{"rope/9.*"},
			catch: []string{"rope/9.3.3/1"}},
	}
}

// TestProxyBaseline checks that the pass-through proxy changes nothing:
// every case passes through it but ropeserver's known bugs.
func TestProxyBaseline(t *testing.T) {
	t.Parallel()
	url := startProxy(t, &proxy{upstream: startServer(t, nil)})
	rep := run(t, &conformance.Target{URL: url}, &conformance.Options{Exclude: knownServerBugs})
	requirePass(t, rep)
}

// TestBrokenVariantsAreCaught runs the suite against broken servers and
// checks that each fails the cases that should catch it, and only MUST
// cases fail the run.
func TestBrokenVariantsAreCaught(t *testing.T) {
	t.Parallel()
	for _, v := range variants() {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			target := startServer(t, v.opts)
			if v.proxy != nil {
				v.proxy.upstream = target
				target = startProxy(t, v.proxy)
			}
			rep := run(t, &conformance.Target{URL: target}, &conformance.Options{Cases: v.cases, Timeout: 5 * time.Second})
			var failed []string
			for _, c := range rep.Cases {
				if c.Result == conformance.Fail || c.Result == conformance.Warn {
					failed = append(failed, c.ID)
				}
			}
			t.Logf("caught by %v", failed)
			for _, id := range v.catch {
				if !slices.Contains(failed, id) {
					t.Errorf("%s passed against a server that %s", id, v.name)
				}
			}
			if rep.Failed() == v.warnOnly {
				t.Errorf("run failed = %v with summary %+v, want %v", rep.Failed(), rep.Summary, !v.warnOnly)
			}
		})
	}
}
