package ropeserver_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeserver"
)

// TestEnvelopeParamsExactNames: rope.call and rope.setAppData read their
// params by exact member name (spec §1.4.1); "Object" is not "object".
func TestEnvelopeParamsExactNames(t *testing.T) {
	t.Parallel()
	_, url := startServer(t, nil)
	p := dialPeer(t, url, nil)
	p.init()
	for _, params := range []map[string]any{
		{"Object": "fixture", "Method": "echo"},
		{"object": "fixture", "METHOD": "echo"},
		{"OBJECT": "fixture", "method": "echo"},
	} {
		_, resp := p.until(p.request(rope.MethodCall, params))
		errCode(t, resp, rope.CodeInvalidParams)
	}
	_, resp := p.until(p.request(rope.MethodCall, map[string]any{"object": "fixture", "method": "echo", "Params": []int{1}}))
	if resp.Error != nil || string(resp.Result) != "null" {
		t.Errorf("echo with Params (an unknown member): %v %s, want null", resp.Error, resp.Result)
	}
	_, resp = p.until(p.request(rope.MethodSetAppData, map[string]any{"object": "fixture", "AppData": map[string]any{}}))
	errCode(t, resp, rope.CodeInvalidParams)
}

// TestBindStrict: Call.Bind reads names exactly, refuses repeated names and
// integers beyond ±(2^53−1), with InvalidParams.
func TestBindStrict(t *testing.T) {
	t.Parallel()
	var p struct {
		N int64 `json:"n"`
	}
	for _, tc := range []struct {
		params string
		want   error
	}{
		{`{"n":9007199254740992}`, rope.ErrInvalidParams},
		{`{"n":1,"n":2}`, rope.ErrInvalidParams},
		{`{"N":5}`, nil},
	} {
		p.N = 0
		err := (&ropeserver.Call{Method: "m", Params: json.RawMessage(tc.params)}).Bind(&p)
		if !errors.Is(err, tc.want) || (tc.want == nil && p.N != 0) {
			t.Errorf("Bind(%s): %v, n %d; want %v", tc.params, err, p.N, tc.want)
		}
	}
}
