package ropeserver_test

import (
	"strconv"
	"testing"
)

// TestResumeQueryRepeatedKeys: a resume request that repeats epoch or seq,
// even with the same value, or whose query does not parse, gets a full
// snapshot (spec §7.1.2): a proxy and the server might read different
// values.
func TestResumeQueryRepeatedKeys(t *testing.T) {
	t.Parallel()
	srv, url := startServer(t, nil)
	p := dialPeer(t, url, nil)
	p.init()
	p.createCounter(1)
	e, s := srv.Epoch(), strconv.FormatUint(srv.Seq(), 10)
	for _, tc := range []struct {
		query   string
		resumed bool
	}{
		{"epoch=" + e + "&seq=" + s, true},
		{"epoch=" + e + "&seq=" + s + "&seq=" + s, false},
		{"epoch=" + e + "&seq=" + s + "&seq=0", false},
		{"epoch=" + e + "&epoch=" + e + "&seq=" + s, false},
		{"epoch=" + e + "&epoch=other&seq=" + s, false},
		{"epoch=" + e + "&seq=" + s + "&x=%zz", false},
		{"epoch=" + e + "&seq=%2B" + s, false}, // "+s" is not digits
		{"epoch=" + e + "&seq=+" + s, false},   // " s": + is a space
		{"x=1&epoch=" + e + "&seq=0" + s, true},
	} {
		in := dialPeer(t, url+"?"+tc.query, nil).init()
		if in.Resumed != tc.resumed {
			t.Errorf("?%s: resumed %v, want %v", tc.query, in.Resumed, tc.resumed)
		}
	}
}
