package conformance

import (
	"bytes"
	"fmt"
	"net/url"
	"strconv"

	"github.com/ropehq/rope/rope"
)

func resumeCases() []*Case {
	return []*Case{
		{ID: "rope/7.3.1/1", Level: MUST,
			Title:  `resuming within the window after an abrupt drop, rope.init MUST have "resumed": true, "seq": s, the epoch and no objects`,
			Expect: "after a drop without close frame and changes by another client: resumed true, seq s, same epoch, no objects member",
			Run:    func(t *T) { runResumeWithin(t, false) }},
		{ID: "rope/7.3.2/1", Level: MUST,
			Title:  "a resumed connection then gets every notification in (s, S] in order, byte-equivalent in params, then live ones without gap",
			Expect: "the missed updated/event/closed replayed as first sent, then a live notification with seq S+1",
			Run:    func(t *T) { runResumeWithin(t, true) }},
		{ID: "rope/7.2.1/1", Level: MUST,
			Title:  "past the replay window the server MUST send a full snapshot with the current state",
			Expect: "after more than replayWindow notifications: resumed false, seq S, objects with the counter's value and appData, the closed child gone",
			Run:    runResumePastWindow},
		{ID: "rope/7.2.1/2", Level: MUST,
			Title:  "a resume request for another epoch MUST get a full snapshot",
			Expect: "resumed false, the server's epoch, seq S, objects present",
			Run:    runResumeOtherEpoch},
		{ID: "rope/7.2.1/3", Level: MUST,
			Title:  "a resume request with s > S (a seq the server has not issued) MUST get a full snapshot",
			Expect: "resumed false, seq S, objects present, also for a seq of 30 digits",
			Run:    runResumeFuture},
		{ID: "rope/7.2.1/4", Level: MUST,
			Title:  "a resume request with s = S MUST resume, with nothing to replay",
			Expect: "resumed true, seq S, then no notification until something changes",
			Run:    runResumeAtHead},
		{ID: "rope/7.2.1/5", Level: MUST,
			Title:  "s = S − W, the window's edge, MUST resume; s = S − W − 1 MUST get a full snapshot",
			Expect: "with S > W: resumed true with seq S − W, the replay starting at S − W + 1; one lower: a snapshot",
			Run:    runResumeEdge},
		{ID: "rope/7.1.2/3", Level: MUST,
			Title:  "a resume request that repeats epoch or seq, even with equal values, is treated as absent: full snapshot",
			Expect: "resumed false with objects for seq twice (equal and different) and epoch twice (equal and different)",
			Run:    runResumeRepeatedKeys},
		{ID: "rope/7.1.2/1", Level: MUST,
			Title:  "a missing, empty or malformed epoch or seq is treated as absent: full snapshot, handshake not refused",
			Expect: `resumed false with objects for seq "abc", "-1", "1.5", "+s", "", no seq, and an empty epoch`,
			Run:    runResumeMalformed},
		{ID: "rope/7.1.2/2", Level: MUST,
			Title:  "a seq of one or more ASCII digits is well-formed, leading zeros allowed",
			Expect: `seq "00<s>" within the window resumes: resumed true, seq s`,
			Run:    runResumeLeadingZeros},
	}
}

func resumeQuery(epoch string, seq uint64) url.Values {
	return url.Values{rope.QueryEpoch: {epoch}, rope.QuerySeq: {strconv.FormatUint(seq, 10)}}
}

// dropAfterCounter connects a, creates a counter, and drops a abruptly (no
// close frame). It returns the epoch, a's last seq and the counter.
func dropAfterCounter(t *T) (epoch string, s uint64, counter string) {
	a, in := t.Connect("a")
	counter = a.CreateCounter(0)
	s = a.LastSeq
	a.Drop()
	return in.Epoch, s, counter
}

func runResumeWithin(t *T, checkReplay bool) {
	epoch, s, counter := dropAfterCounter(t)
	b, _ := t.Connect("b")
	b.CatchUp(s)
	b.MustCall(counter, "increment", map[string]any{"by": 2, "times": 2})
	kid := childOf(t, b, counter, "k")
	b.MustCall(kid, "close", nil)
	S, _ := b.Ping()
	r := t.Dial("a2", DialOptions{Query: resumeQuery(epoch, s)})
	in := r.Init()
	if !in.Resumed || in.Seq != s || in.Epoch != epoch {
		t.Fatalf("rope.init resumed=%v seq=%d epoch=%q, want resumed=true seq=%d epoch=%q", in.Resumed, in.Seq, in.Epoch, s, epoch)
	}
	if _, ok := in.Members["objects"]; ok {
		t.Fatalf("a resumed rope.init carries objects")
	}
	for _, m := range []string{"protocol", "maxMessageSize", "replayWindow", "types"} {
		if _, ok := in.Members[m]; !ok {
			t.Fatalf("a resumed rope.init lacks %q (§7.3.1: all other members as in §5.2.1)", m)
		}
	}
	if !checkReplay {
		return
	}
	for seq := s + 1; seq <= S; seq++ {
		m := r.Read()
		got, _ := m.Seq()
		orig := b.Seen[seq]
		if got != seq || orig == nil || m.Method != orig.Method || !bytes.Equal(m.Params, orig.Params) {
			t.Fatalf("replay: got %s, want %s", rawOf(m), rawOf(orig))
		}
	}
	b.MustCall(counter, "increment", nil)
	if m := r.Read(); r.Gap != "" || m.Method != rope.MethodUpdated {
		t.Fatalf("after the replay: %s (%s), want the live rope.updated of seq %d", rawOf(m), r.Gap, S+1)
	}
}

func runResumePastWindow(t *T) {
	a, in := t.Connect("a")
	w := in.ReplayWindow
	if w+1 > t.target.maxDrive() {
		t.Skipf("replayWindow %d: driving past it would take more than %d notifications", w, t.target.maxDrive())
	}
	counter := a.CreateCounter(0)
	kid := childOf(t, a, counter, "k")
	s := a.LastSeq
	a.Drop()
	b, _ := t.Connect("b")
	b.Until(b.Request(rope.MethodSetAppData, map[string]any{"object": counter, "appData": map[string]any{"v": 1}}))
	b.MustCall(kid, "close", nil)
	// 2 notifications per iteration, so S − s > w; times ≤ 1000 (§15.3).
	total := (w + 2) / 2
	for left := total; left > 0; left -= min(left, 1000) {
		b.MustCall(counter, "increment", map[string]any{"times": min(left, 1000)})
	}
	S, _ := b.Ping()
	snap := t.Dial("a2", DialOptions{Query: resumeQuery(in.Epoch, s)}).Init()
	expectSnapshot(t, snap, in.Epoch, S)
	o, ok := snap.Object(counter)
	if !ok || string(o.Props["value"]) != strconv.Itoa(total) || !jsonEqual(o.AppData, []byte(`{"v":1}`)) {
		t.Fatalf("snapshot counter %+v, want value %d and appData {\"v\":1}", o, total)
	}
	if _, ok := snap.Object(kid); ok {
		t.Fatalf("the snapshot holds the closed child %s", kid)
	}
}

func expectSnapshot(t *T, in *Init, epoch string, S uint64) {
	if in.Resumed {
		t.Fatalf("rope.init resumed=true (seq %d), want a full snapshot", in.Seq)
	}
	if _, ok := in.Members["objects"]; !ok {
		t.Fatalf("snapshot without objects")
	}
	if in.Epoch != epoch || in.Seq != S {
		t.Fatalf("snapshot epoch %q seq %d, want epoch %q seq %d", in.Epoch, in.Seq, epoch, S)
	}
}

func runResumeOtherEpoch(t *T) {
	epoch, s, counter := dropAfterCounter(t)
	b, _ := t.Connect("b")
	S, _ := b.Ping()
	snap := t.Dial("a2", DialOptions{Query: resumeQuery(epoch+"x", s)}).Init()
	expectSnapshot(t, snap, epoch, S)
	if _, ok := snap.Object(counter); !ok {
		t.Fatalf("snapshot lacks the live counter %s", counter)
	}
}

func runResumeFuture(t *T) {
	epoch, _, _ := dropAfterCounter(t)
	b, _ := t.Connect("b")
	S, _ := b.Ping()
	snap := t.Dial("a2", DialOptions{Query: resumeQuery(epoch, S+1000)}).Init()
	expectSnapshot(t, snap, epoch, S)
	huge := url.Values{rope.QueryEpoch: {epoch}, rope.QuerySeq: {"123456789012345678901234567890"}}
	expectSnapshot(t, t.Dial("a3", DialOptions{Query: huge}).Init(), epoch, S)
}

func runResumeAtHead(t *T) {
	epoch, s, _ := dropAfterCounter(t)
	r := t.Dial("a2", DialOptions{Query: resumeQuery(epoch, s)})
	in := r.Init()
	if !in.Resumed || in.Seq != s {
		t.Fatalf("rope.init resumed=%v seq=%d, want resumed=true seq=%d", in.Resumed, in.Seq, s)
	}
	if S, notes := r.Ping(); len(notes) > 0 && S == s {
		t.Fatalf("replayed %s though nothing was missed", rawOf(notes[0]))
	}
}

func runResumeMalformed(t *T) {
	epoch, s, _ := dropAfterCounter(t)
	for _, q := range []url.Values{
		{rope.QueryEpoch: {epoch}, rope.QuerySeq: {"abc"}},
		{rope.QueryEpoch: {epoch}, rope.QuerySeq: {"-1"}},
		{rope.QueryEpoch: {epoch}, rope.QuerySeq: {"1.5"}},
		{rope.QueryEpoch: {epoch}, rope.QuerySeq: {fmt.Sprintf("+%d", s)}},
		{rope.QueryEpoch: {epoch}, rope.QuerySeq: {""}},
		{rope.QueryEpoch: {epoch}},
		{rope.QueryEpoch: {""}, rope.QuerySeq: {strconv.FormatUint(s, 10)}},
	} {
		p, err := t.TryDial("q", DialOptions{Query: q})
		if err != nil {
			t.Fatalf("?%s: handshake refused: %v", q.Encode(), err)
		}
		if in := p.Init(); in.Resumed || in.Members["objects"] == nil {
			t.Fatalf("?%s: resumed=%v, want a full snapshot", q.Encode(), in.Resumed)
		}
		p.Drop()
	}
}

func runResumeLeadingZeros(t *T) {
	epoch, s, _ := dropAfterCounter(t)
	q := url.Values{rope.QueryEpoch: {epoch}, rope.QuerySeq: {fmt.Sprintf("00%d", s)}}
	in := t.Dial("a2", DialOptions{Query: q}).Init()
	if !in.Resumed || in.Seq != s {
		t.Fatalf("rope.init resumed=%v seq=%d, want resumed=true seq=%d", in.Resumed, in.Seq, s)
	}
}

func runResumeEdge(t *T) {
	a, in := t.Connect("a")
	w := uint64(in.ReplayWindow)
	S, _ := a.Ping()
	if S <= w {
		need := w + 1 - S
		if need > uint64(t.target.maxDrive()) {
			t.Skipf("replayWindow %d: reaching seq %d would take %d notifications, more than %d", w, w+1, need, t.target.maxDrive())
		}
		counter := a.CreateCounter(0)
		for left := need/2 + 1; left > 0; left -= min(left, 1000) {
			a.MustCall(counter, "increment", map[string]any{"times": min(left, 1000)})
		}
		S, _ = a.Ping()
	}
	edge := S - w
	r := t.Dial("edge", DialOptions{Query: resumeQuery(in.Epoch, edge)})
	if ri := r.Init(); !ri.Resumed || ri.Seq != edge {
		t.Fatalf("resume at s = S − W = %d − %d: resumed=%v seq=%d, want resumed=true seq=%d", S, w, ri.Resumed, ri.Seq, edge)
	}
	if m := r.Read(); r.Gap != "" || r.LastSeq != edge+1 {
		t.Fatalf("resumed at the window's edge %d, the replay starts with %s (%s), want seq %d", edge, rawOf(m), r.Gap, edge+1)
	}
	below := t.Dial("below", DialOptions{Query: resumeQuery(in.Epoch, edge-1)}).Init()
	expectSnapshot(t, below, in.Epoch, S)
}

func runResumeRepeatedKeys(t *T) {
	epoch, s, _ := dropAfterCounter(t)
	seq := strconv.FormatUint(s, 10)
	for _, q := range []url.Values{
		{rope.QueryEpoch: {epoch}, rope.QuerySeq: {seq, seq}},
		{rope.QueryEpoch: {epoch}, rope.QuerySeq: {seq, "0"}},
		{rope.QueryEpoch: {epoch, epoch}, rope.QuerySeq: {seq}},
		{rope.QueryEpoch: {epoch, epoch + "x"}, rope.QuerySeq: {seq}},
	} {
		p, err := t.TryDial("q", DialOptions{Query: q})
		if err != nil {
			t.Fatalf("?%s: handshake refused: %v", q.Encode(), err)
		}
		if in := p.Init(); in.Resumed || in.Members["objects"] == nil {
			t.Fatalf("?%s: resumed=%v, want a full snapshot", q.Encode(), in.Resumed)
		}
		p.Drop()
	}
}
