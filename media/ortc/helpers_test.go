package ortc

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/ropehq/rope/media"
)

// fromJSON decodes s into a T, failing the test on error. Numbers in
// parameters decode as float64, as they do off the wire.
func fromJSON[T any](t testing.TB, s string) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %T: %v\n%s", v, err, s)
	}
	return v
}

// wantParamError checks that err is a *media.ParamError for field whose
// reason contains reason, and that it matches media.ErrInvalidParams.
func wantParamError(t testing.TB, err error, field, reason string) {
	t.Helper()
	var pe *media.ParamError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v (%T), want *media.ParamError for %q", err, err, field)
	}
	if pe.Field != field || !strings.Contains(pe.Reason, reason) {
		t.Fatalf("err = %q, want field %q with reason containing %q", err, field, reason)
	}
	if !errors.Is(err, media.ErrInvalidParams) {
		t.Fatalf("errors.Is(%v, ErrInvalidParams) = false", err)
	}
}

func fb(typ, param string) media.RtcpFeedback { return media.RtcpFeedback{Type: typ, Parameter: param} }

var videoFeedback = []media.RtcpFeedback{fb("nack", ""), fb("nack", "pli"), fb("ccm", "fir"), fb("goog-remb", ""), fb("transport-cc", "")}
