package h264

import "testing"

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		want   ProfileLevelID
		wantOK bool
	}{
		{"42e01f", ProfileLevelID{ProfileConstrainedBaseline, Level31}, true},
		{"42E01F", ProfileLevelID{ProfileConstrainedBaseline, Level31}, true},
		{"4d0032", ProfileLevelID{ProfileMain, Level5}, true},
		{"640032", ProfileLevelID{ProfileHigh, Level5}, true},
		{"640c1f", ProfileLevelID{ProfileConstrainedHigh, Level31}, true},
		{"42001f", ProfileLevelID{ProfileBaseline, Level31}, true},
		{"4d001f", ProfileLevelID{ProfileMain, Level31}, true},
		{"f4001f", ProfileLevelID{ProfilePredictiveHigh444, Level31}, true},
		{"58a01f", ProfileLevelID{ProfileBaseline, Level31}, true},
		{"58f01f", ProfileLevelID{ProfileConstrainedBaseline, Level31}, true},
		{"4d801f", ProfileLevelID{ProfileConstrainedBaseline, Level31}, true},
		{"42f00b", ProfileLevelID{ProfileConstrainedBaseline, Level1b}, true},
		{"42100b", ProfileLevelID{ProfileBaseline, Level1b}, true},
		{"42e00b", ProfileLevelID{ProfileConstrainedBaseline, Level11}, true},
		{"", ProfileLevelID{}, false},
		{"42e01", ProfileLevelID{}, false},
		{"42e01f0", ProfileLevelID{}, false},
		{"000000", ProfileLevelID{}, false},
		{"42e0zz", ProfileLevelID{}, false},
		{"42e0ff", ProfileLevelID{}, false}, // unknown level
		{"64011f", ProfileLevelID{}, false}, // high with constraint bits
		{"ff001f", ProfileLevelID{}, false}, // unknown profile_idc
		{"+42e01", ProfileLevelID{}, false},
	}
	for _, tt := range tests {
		got, ok := Parse(tt.in)
		if ok != tt.wantOK || got != tt.want {
			t.Errorf("Parse(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestStringRoundTrip(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"42e01f", "42001f", "4d0032", "640c1f", "640034", "f4001f", "42f00b", "42100b", "4d100b"} {
		p, ok := Parse(s)
		if !ok || p.String() != s {
			t.Errorf("Parse(%q).String() = %q (ok %v)", s, p.String(), ok)
		}
	}
	if s := (ProfileLevelID{ProfileHigh, Level1b}).String(); s != "" {
		t.Errorf("high 1b = %q, want empty", s)
	}
}

func p(plid string, asym bool) Params {
	return Params{ProfileLevelID: plid, Present: plid != "", LevelAsymmetryAllowed: asym}
}

func TestAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		local, remote Params
		want          string
		wantErr       error
	}{
		{"both absent", p("", true), p("", true), "", nil},
		{"local absent uses default", p("", false), p("42e01f", false), "42e01f", nil},
		{"min level without asymmetry", p("4d0032", true), p("4d001f", false), "4d001f", nil},
		{"local level with asymmetry", p("4d0032", true), p("4d001f", true), "4d0032", nil},
		{"lower local level", p("42e00a", false), p("42e01f", false), "42e00a", nil},
		{"1b below 1.1", p("42f00b", false), p("42e00b", false), "42f00b", nil},
		// libwebrtc's IsLess says neither 1 < 1b nor 1b < 1, so the
		// minimum is the second argument; mediasoup inherits this.
		{"1 vs 1b", p("42e00a", false), p("42f00b", false), "42f00b", nil},
		{"1b vs 1", p("42f00b", false), p("42e00a", false), "42e00a", nil},
		{"profile mismatch", p("42e01f", false), p("640032", false), "", ErrProfileMismatch},
		{"invalid local", p("zzzzzz", false), p("42e01f", false), "", ErrInvalidLocal},
		{"invalid remote", p("42e01f", false), p("123", false), "", ErrInvalidRemote},
	}
	for _, tt := range tests {
		got, err := AnswerProfileLevelID(tt.local, tt.remote)
		if got != tt.want || err != tt.wantErr {
			t.Errorf("%s: got %q, %v; want %q, %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestSameProfile(t *testing.T) {
	t.Parallel()
	if !SameProfile(p("", false), p("42e01f", false)) {
		t.Error("absent should equal constrained baseline")
	}
	if SameProfile(p("42e01f", false), p("42001f", false)) {
		t.Error("constrained baseline == baseline")
	}
	if SameProfile(p("bogus", false), p("bogus", false)) {
		t.Error("invalid ids matched")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"42e01f", "640c34", "42f00b", "zzzzzz", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := Parse(s)
		if !ok {
			return
		}
		if out := p.String(); out != "" {
			if q, ok := Parse(out); !ok || q != p {
				t.Fatalf("Parse(%q)=%v, String=%q reparses to %v %v", s, p, out, q, ok)
			}
		}
	})
}
