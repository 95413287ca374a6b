package conformance_test

import (
	"strings"
	"testing"

	"github.com/ropehq/rope/conformance"
	"github.com/ropehq/rope/ropeserver"
	"github.com/ropehq/rope/ropeserver/fixture"
)

// testToken holds a "+" so that rope/4.4.2/1 can tell a raw "+" (a space)
// from "%2B".
const testToken = "s3cr+t"

// TestReferenceServer runs every case against ropeserver in process but
// the known server bugs, which TestKnownServerBugs reports.
func TestReferenceServer(t *testing.T) {
	t.Parallel()
	rep := run(t, &conformance.Target{URL: startServer(t, nil)}, &conformance.Options{Exclude: knownServerBugs})
	requirePass(t, rep)
	if rep.Summary.Pass+rep.Summary.Skip != rep.Summary.Total {
		t.Errorf("summary %+v", rep.Summary)
	}
}

// TestReferenceServerWithToken runs the auth cases and a few others against
// a server that requires a token.
func TestReferenceServerWithToken(t *testing.T) {
	t.Parallel()
	url := startServer(t, &ropeserver.Options{Token: testToken})
	rep := run(t, &conformance.Target{URL: url, Token: testToken}, &conformance.Options{
		Cases: []string{"rope/4.*", "rope/5.1.1/*", "rope/7.3.*"}, Exclude: knownServerBugs,
	})
	requirePass(t, rep)
	if c, _ := rep.Result("rope/4.2.1/1"); c.Result != conformance.Pass {
		t.Errorf("rope/4.2.1/1 %s, want pass with a token", c.Result)
	}
}

// TestReferenceServerViews runs the view cases (§18), and the sync and
// resume cases beside them, against a server with the fixture's views;
// TestReferenceServer skips the view cases.
func TestReferenceServerViews(t *testing.T) {
	t.Parallel()
	url := startServer(t, &ropeserver.Options{Authorize: fixture.Authorize})
	rep := run(t, &conformance.Target{URL: url}, &conformance.Options{
		Cases: []string{"rope/18.*", "rope/6.*", "rope/7.*"}, Exclude: knownServerBugs,
	})
	requirePass(t, rep)
	for _, c := range rep.Cases {
		if c.Result != conformance.Pass && strings.HasPrefix(c.ID, "rope/18.") {
			t.Errorf("%s %s, want pass with fixture views", c.ID, c.Result)
		}
	}
}
