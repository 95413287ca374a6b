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
		`"headerExtensions":[{"uri":"urn:ietf:params:rtp-hdrext:sdes:mid","id":1,"encrypt":false,"parameters":{}}],` +
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

// Normalised values marshal the way mediasoup sends them: parameters is
// always an object, encrypt and feedback parameter are always present.
func TestMarshalLikeMediasoup(t *testing.T) {
	t.Parallel()
	c := RtpCodecParameters{MimeType: "video/rtx", PayloadType: 97, ClockRate: 90000,
		RtcpFeedback: []RtcpFeedback{{Type: "nack"}}}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"mimeType":"video/rtx","payloadType":97,"clockRate":90000,"parameters":{},"rtcpFeedback":[{"type":"nack","parameter":""}]}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	e, _ := json.Marshal(RtpHeaderExtensionParameters{URI: ExtMid, ID: 1})
	if got := `{"uri":"urn:ietf:params:rtp-hdrext:sdes:mid","id":1,"encrypt":false,"parameters":{}}`; string(e) != got {
		t.Errorf("extension = %s", e)
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

func TestRtpParametersCloneIsDeep(t *testing.T) {
	t.Parallel()
	orig := RtpParameters{
		Codecs: []RtpCodecParameters{{MimeType: "video/VP8", PayloadType: 96, ClockRate: 90000,
			Parameters: Parameters{"x": 1}, RtcpFeedback: []RtcpFeedback{{Type: "nack"}}}},
		HeaderExtensions: []RtpHeaderExtensionParameters{{URI: ExtMid, ID: 1, Parameters: Parameters{}}},
		Encodings:        []RtpEncodingParameters{{SSRC: 1, CodecPayloadType: new(96), RTX: &RtxParameters{SSRC: 2}}},
		Rtcp:             RtcpParameters{CNAME: "c", ReducedSize: new(true), Mux: new(true)},
	}
	c := orig.Clone()
	if diff := cmp.Diff(orig, c); diff != "" {
		t.Fatalf("clone differs:\n%s", diff)
	}
	c.Codecs[0].Parameters["x"] = 2
	c.Codecs[0].RtcpFeedback[0].Type = "ccm"
	c.HeaderExtensions[0].Parameters["y"] = 1
	*c.Encodings[0].CodecPayloadType = 97
	c.Encodings[0].RTX.SSRC = 3
	*c.Rtcp.ReducedSize = false
	*c.Rtcp.Mux = false
	if orig.Codecs[0].Parameters["x"] != 1 || orig.Codecs[0].RtcpFeedback[0].Type != "nack" || len(orig.HeaderExtensions[0].Parameters) != 0 ||
		*orig.Encodings[0].CodecPayloadType != 96 || orig.Encodings[0].RTX.SSRC != 2 || !*orig.Rtcp.ReducedSize || !*orig.Rtcp.Mux {
		t.Errorf("mutating the clone changed the original: %+v", orig)
	}
	caps := RtpCapabilities{
		Codecs:           []RtpCodecCapability{{MimeType: "audio/PCMU", PreferredPayloadType: new(0), Parameters: Parameters{"a": "b"}}},
		HeaderExtensions: []RtpHeaderExtension{{Kind: KindAudio, URI: ExtMid, PreferredID: 1}},
	}
	cc := caps.Clone()
	*cc.Codecs[0].PreferredPayloadType = 5
	cc.Codecs[0].Parameters["a"] = "c"
	cc.HeaderExtensions[0].PreferredID = 2
	if *caps.Codecs[0].PreferredPayloadType != 0 || caps.Codecs[0].Parameters["a"] != "b" || caps.HeaderExtensions[0].PreferredID != 1 {
		t.Error("capability clone shares state")
	}
	if (RtpParameters{}).Clone().Codecs != nil || Parameters(nil).Clone() != nil {
		t.Error("nil should stay nil")
	}
}

func TestMediaKindValid(t *testing.T) {
	t.Parallel()
	if !KindAudio.Valid() || !KindVideo.Valid() || MediaKind("data").Valid() || MediaKind("").Valid() {
		t.Error("MediaKind.Valid wrong")
	}
}

func TestParameterNumbers(t *testing.T) {
	t.Parallel()
	values := []any{float64(7), float32(7), int(7), int8(7), int16(7), int32(7), int64(7),
		uint(7), uint8(7), uint16(7), uint32(7), uint64(7), json.Number("7")}
	for _, v := range values {
		if n, ok := NumberValue(v); !ok || n != 7 {
			t.Errorf("NumberValue(%T) = %v, %v", v, n, ok)
		}
		if !ValuesEqual(v, 7) {
			t.Errorf("ValuesEqual(%T(7), 7) = false", v)
		}
	}
	for _, v := range []any{"7", nil, true, json.Number("x"), []int{7}} {
		if _, ok := NumberValue(v); ok {
			t.Errorf("NumberValue(%#v) accepted", v)
		}
	}
	if !ValuesEqual(true, true) || ValuesEqual(true, 1) || ValuesEqual(nil, nil) || ValuesEqual([]int{}, []int{}) {
		t.Error("ValuesEqual on non-numbers")
	}
	p := Parameters{"n": 2.5, "s": "x"}
	if !p.Has("n") || p.Has("z") {
		t.Error("Has")
	}
	if n, ok := p.Number("n"); !ok || n != 2.5 {
		t.Error("Number")
	}
	if _, ok := p.Text("missing"); ok {
		t.Error("Text on missing key")
	}
	if _, ok := p.Int("s"); ok || p.IntOr("s", 3) != 3 {
		t.Error("Int on a string")
	}
	if v, ok := (Parameters{"big": 1e300}).Int("big"); ok {
		t.Errorf("Int accepted 1e300 as %d", v)
	}
}
