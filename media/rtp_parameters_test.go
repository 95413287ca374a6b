package media

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRtpParametersJSONRoundTrip(t *testing.T) {
	t.Parallel()
	in := `{"mid":"0","codecs":[{"mimeType":"audio/PCMU","payloadType":0,"clockRate":8000,` +
		`"parameters":{"foo":"bar","n":1},"rtcpFeedback":[{"type":"nack","parameter":"pli"}]}],` +
		`"headerExtensions":[{"uri":"urn:ietf:params:rtp-hdrext:sdes:mid","id":1}],` +
		`"encodings":[{"ssrc":1111,"codecPayloadType":0,"rtx":{"ssrc":2222},"scalabilityMode":"L1T3"}],` +
		`"rtcp":{"cname":"abc","reducedSize":false}}`
	var p RtpParameters
	if err := json.Unmarshal([]byte(in), &p); err != nil {
		t.Fatal(err)
	}
	if *p.Encodings[0].CodecPayloadType != 0 || p.Rtcp.ReducedSize == nil || *p.Rtcp.ReducedSize {
		t.Fatalf("optional zero values lost: %+v", p)
	}
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	_ = json.Unmarshal([]byte(in), &a)
	_ = json.Unmarshal(out, &b)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("round trip (-in +out):\n%s", diff)
	}
}

func TestParametersHelpers(t *testing.T) {
	t.Parallel()
	var p Parameters
	if err := json.Unmarshal([]byte(`{"apt":96,"profile-level-id":"42e01f","x":1.5,"plid":640032}`), &p); err != nil {
		t.Fatal(err)
	}
	if v, ok := p.Int("apt"); !ok || v != 96 {
		t.Errorf("Int(apt) = %v, %v", v, ok)
	}
	if _, ok := p.Int("x"); ok {
		t.Error("Int(x) accepted 1.5")
	}
	if _, ok := p.Int("profile-level-id"); ok {
		t.Error("Int accepted a string")
	}
	if s, ok := p.Text("plid"); !ok || s != "640032" {
		t.Errorf("Text(plid) = %q, %v", s, ok)
	}
	if !p.Equal(Parameters{"apt": 96, "profile-level-id": "42e01f", "x": 1.5, "plid": uint32(640032)}) {
		t.Error("Equal: numbers of different Go types differ")
	}
	if p.Equal(Parameters{"apt": "96", "profile-level-id": "42e01f", "x": 1.5, "plid": 640032}) {
		t.Error("Equal: string equals number")
	}
	if p.IntOr("missing", 7) != 7 {
		t.Error("IntOr default")
	}
}
