package ortc

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ropehq/rope/media"
)

func routerCaps(t *testing.T, codecsJSON string) media.RtpCapabilities {
	t.Helper()
	caps, err := GenerateRouterRtpCapabilities(fromJSON[[]media.RtpCodecCapability](t, codecsJSON))
	if err != nil {
		t.Fatal(err)
	}
	return caps
}

const h264RouterCodecs = `[
	{"kind":"audio","mimeType":"audio/opus","clockRate":48000,"channels":2},
	{"kind":"video","mimeType":"video/H264","clockRate":90000,
	 "parameters":{"level-asymmetry-allowed":1,"packetization-mode":1,"profile-level-id":"4d0032","bar":"lalala"}}]`

const h264ProducerParams = `{
	"codecs":[
		{"mimeType":"video/H264","payloadType":111,"clockRate":90000,
		 "parameters":{"foo":1234,"packetization-mode":1,"profile-level-id":"4d0032"},
		 "rtcpFeedback":[{"type":"nack","parameter":""},{"type":"nack","parameter":"pli"},{"type":"goog-remb","parameter":""}]},
		{"mimeType":"video/rtx","payloadType":112,"clockRate":90000,"parameters":{"apt":111},"rtcpFeedback":[]}],
	"headerExtensions":[
		{"uri":"urn:ietf:params:rtp-hdrext:sdes:mid","id":1},
		{"uri":"urn:3gpp:video-orientation","id":2}],
	"encodings":[
		{"ssrc":11111111,"rtx":{"ssrc":11111112},"maxBitrate":111111,"scalabilityMode":"L1T3"},
		{"ssrc":21111111,"rtx":{"ssrc":21111112},"maxBitrate":222222,"scalabilityMode":"L1T3"},
		{"rid":"high","maxBitrate":333333,"scalabilityMode":"L1T3"}],
	"rtcp":{"cname":"qwerty1234"}}`

const h264RemoteCaps = `{
	"codecs":[
		{"kind":"audio","mimeType":"audio/opus","preferredPayloadType":100,"clockRate":48000,"channels":2,
		 "parameters":{},"rtcpFeedback":[]},
		{"kind":"video","mimeType":"video/H264","preferredPayloadType":101,"clockRate":90000,
		 "parameters":{"packetization-mode":1,"profile-level-id":"4d0032","baz":"LOLOLO"},
		 "rtcpFeedback":[{"type":"nack","parameter":""},{"type":"nack","parameter":"pli"},{"type":"foo","parameter":"FOO"}]},
		{"kind":"video","mimeType":"video/rtx","preferredPayloadType":102,"clockRate":90000,
		 "parameters":{"apt":101},"rtcpFeedback":[]}],
	"headerExtensions":[
		{"kind":"audio","uri":"urn:ietf:params:rtp-hdrext:sdes:mid","preferredId":1,"preferredEncrypt":false,"direction":"sendrecv"},
		{"kind":"video","uri":"urn:ietf:params:rtp-hdrext:sdes:mid","preferredId":1,"preferredEncrypt":false,"direction":"sendrecv"},
		{"kind":"video","uri":"urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id","preferredId":2,"preferredEncrypt":false,"direction":"sendrecv"},
		{"kind":"audio","uri":"urn:ietf:params:rtp-hdrext:ssrc-audio-level","preferredId":8,"preferredEncrypt":false,"direction":"sendrecv"},
		{"kind":"video","uri":"urn:3gpp:video-orientation","preferredId":11,"preferredEncrypt":false,"direction":"sendrecv"},
		{"kind":"video","uri":"urn:ietf:params:rtp-hdrext:toffset","preferredId":12,"preferredEncrypt":false,"direction":"sendrecv"}]}`

// negotiated runs produce-side negotiation of h264ProducerParams.
func negotiated(t *testing.T) (media.RtpParameters, RtpMapping, media.RtpParameters) {
	t.Helper()
	caps := routerCaps(t, h264RouterCodecs)
	params := fromJSON[media.RtpParameters](t, h264ProducerParams)
	if err := ValidateRtpParameters(&params); err != nil {
		t.Fatal(err)
	}
	mapping, err := GetProducerRtpParametersMapping(&params, caps)
	if err != nil {
		t.Fatal(err)
	}
	consumable, err := GetConsumableRtpParameters(media.KindVideo, params, caps, mapping)
	if err != nil {
		t.Fatal(err)
	}
	return params, mapping, consumable
}

var producerH264Params = media.Parameters{"foo": 1234, "packetization-mode": 1, "profile-level-id": "4d0032"}

// Mirrors mediasoup's test-ortc mapping/consumable/consumer/pipe test.
func TestProducerMappingAndConsumable(t *testing.T) {
	t.Parallel()
	_, mapping, consumable := negotiated(t)

	if diff := cmp.Diff([]CodecMapping{{111, 101}, {112, 102}}, mapping.Codecs); diff != "" {
		t.Errorf("codec mapping (-want +got):\n%s", diff)
	}
	encs := mapping.Encodings
	if len(encs) != 3 || encs[0].SSRC != 11111111 || encs[0].RID != "" || encs[1].SSRC != 21111111 ||
		encs[2].SSRC != 0 || encs[2].RID != "high" || encs[2].ScalabilityMode != "L1T3" {
		t.Fatalf("encoding mapping = %+v", encs)
	}
	for i := range encs {
		if encs[i].MappedSSRC != encs[0].MappedSSRC+uint32(i) || encs[0].MappedSSRC < 100_000_000 {
			t.Errorf("mapped SSRCs not consecutive from a mediasoup-range base: %+v", encs)
		}
	}

	want := media.RtpParameters{
		Codecs: []media.RtpCodecParameters{
			{MimeType: "video/H264", PayloadType: 101, ClockRate: 90000, Parameters: producerH264Params, RtcpFeedback: videoFeedback},
			{MimeType: "video/rtx", PayloadType: 102, ClockRate: 90000, Parameters: media.Parameters{"apt": 101},
				RtcpFeedback: []media.RtcpFeedback{}},
		},
		HeaderExtensions: routerVideoSendExtensions(t),
		Encodings: []media.RtpEncodingParameters{
			{SSRC: encs[0].MappedSSRC, MaxBitrate: 111111, ScalabilityMode: "L1T3"},
			{SSRC: encs[1].MappedSSRC, MaxBitrate: 222222, ScalabilityMode: "L1T3"},
			{SSRC: encs[2].MappedSSRC, MaxBitrate: 333333, ScalabilityMode: "L1T3"},
		},
		Rtcp: media.RtcpParameters{CNAME: "qwerty1234", ReducedSize: new(true)},
	}
	if diff := cmp.Diff(want, consumable, numbersEqual); diff != "" {
		t.Errorf("consumable (-want +got):\n%s", diff)
	}
}

// routerVideoSendExtensions is what consumable parameters carry: the
// supported video extensions a consumer can send.
func routerVideoSendExtensions(t *testing.T) []media.RtpHeaderExtensionParameters {
	t.Helper()
	var out []media.RtpHeaderExtensionParameters
	for _, e := range SupportedRtpCapabilities().HeaderExtensions {
		if e.Kind == media.KindVideo && e.Direction != media.DirectionRecvOnly {
			out = append(out, media.RtpHeaderExtensionParameters{URI: e.URI, ID: e.PreferredID, Parameters: media.Parameters{}})
		}
	}
	if len(out) == 0 || out[0].URI != media.ExtMid {
		t.Fatalf("unexpected supported extensions: %+v", out)
	}
	return out
}

func TestGetConsumerRtpParameters(t *testing.T) {
	t.Parallel()
	_, _, consumable := negotiated(t)
	remote := fromJSON[media.RtpCapabilities](t, h264RemoteCaps)
	if ok, err := CanConsume(consumable, &remote); !ok || err != nil {
		t.Fatalf("CanConsume = %v, %v", ok, err)
	}
	before := consumable.Clone()

	got, err := GetConsumerRtpParameters(consumable, remote, ConsumerParamsOptions{EnableRtx: true})
	if err != nil {
		t.Fatal(err)
	}
	wantCodecs := []media.RtpCodecParameters{
		{MimeType: "video/H264", PayloadType: 101, ClockRate: 90000, Parameters: producerH264Params,
			RtcpFeedback: []media.RtcpFeedback{fb("nack", ""), fb("nack", "pli"), fb("foo", "FOO")}},
		{MimeType: "video/rtx", PayloadType: 102, ClockRate: 90000, Parameters: media.Parameters{"apt": 101},
			RtcpFeedback: []media.RtcpFeedback{}},
	}
	if diff := cmp.Diff(wantCodecs, got.Codecs, numbersEqual); diff != "" {
		t.Errorf("codecs (-want +got):\n%s", diff)
	}
	wantExts := []media.RtpHeaderExtensionParameters{
		{URI: media.ExtMid, ID: 1, Parameters: media.Parameters{}},
		{URI: media.ExtVideoOrientation, ID: 11, Parameters: media.Parameters{}},
		{URI: media.ExtTimeOffset, ID: 12, Parameters: media.Parameters{}},
	}
	if diff := cmp.Diff(wantExts, got.HeaderExtensions); diff != "" {
		t.Errorf("header extensions (-want +got):\n%s", diff)
	}
	if len(got.Encodings) != 1 {
		t.Fatalf("encodings = %+v, want one", got.Encodings)
	}
	enc := got.Encodings[0]
	if enc.SSRC == 0 || enc.RTX == nil || enc.RTX.SSRC != enc.SSRC+1 || enc.ScalabilityMode != "L3T3" || enc.MaxBitrate != 333333 {
		t.Errorf("encoding = %+v, want fresh SSRC, RTX SSRC+1, L3T3, maxBitrate 333333", enc)
	}
	if diff := cmp.Diff(media.RtcpParameters{CNAME: "qwerty1234", ReducedSize: new(true)}, got.Rtcp); diff != "" {
		t.Errorf("rtcp (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, consumable); diff != "" {
		t.Errorf("consumable modified (-before +after):\n%s", diff)
	}
}

func TestGetPipeConsumerRtpParameters(t *testing.T) {
	t.Parallel()
	_, _, consumable := negotiated(t)
	got := GetPipeConsumerRtpParameters(consumable, false)
	wantCodecs := []media.RtpCodecParameters{
		{MimeType: "video/H264", PayloadType: 101, ClockRate: 90000, Parameters: producerH264Params,
			RtcpFeedback: []media.RtcpFeedback{fb("nack", "pli"), fb("ccm", "fir")}},
	}
	if diff := cmp.Diff(wantCodecs, got.Codecs, numbersEqual); diff != "" {
		t.Errorf("codecs (-want +got):\n%s", diff)
	}
	if len(got.Encodings) != 3 {
		t.Fatalf("encodings = %+v, want 3", got.Encodings)
	}
	for i, e := range got.Encodings {
		if e.SSRC != got.Encodings[0].SSRC+uint32(i) || e.RTX != nil || e.MaxBitrate == 0 || e.ScalabilityMode != "L1T3" {
			t.Errorf("encodings[%d] = %+v", i, e)
		}
	}
	var ids []int
	dd := false
	for _, e := range got.HeaderExtensions {
		if e.URI == media.ExtMid || e.URI == media.ExtAbsSendTime || e.URI == media.ExtTransportWideCC01 {
			t.Errorf("pipe consumer kept %s", e.URI)
		}
		dd = dd || (e.URI == media.ExtDependencyDescriptor && e.ID == 8)
		ids = append(ids, e.ID)
	}
	if !dd || !slices.IsSorted(ids) {
		t.Errorf("pipe consumer extensions lack the dependency descriptor or are unsorted: %+v", got.HeaderExtensions)
	}
	if got.Rtcp.CNAME != "qwerty1234" || got.Rtcp.ReducedSize == nil || !*got.Rtcp.ReducedSize {
		t.Errorf("rtcp = %+v", got.Rtcp)
	}

	withRtx := GetPipeConsumerRtpParameters(consumable, true)
	if len(withRtx.Codecs) != 2 || withRtx.Encodings[0].RTX == nil ||
		!cmp.Equal(withRtx.Codecs[0].RtcpFeedback, []media.RtcpFeedback{fb("nack", ""), fb("nack", "pli"), fb("ccm", "fir")}) {
		t.Errorf("pipe with RTX = %+v", withRtx)
	}
}

func TestGetConsumerRtpParametersPipe(t *testing.T) {
	t.Parallel()
	_, _, consumable := negotiated(t)
	remote := fromJSON[media.RtpCapabilities](t, h264RemoteCaps)
	got, err := GetConsumerRtpParameters(consumable, remote, ConsumerParamsOptions{Pipe: true, EnableRtx: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Encodings) != 3 {
		t.Fatalf("pipe encodings = %+v", got.Encodings)
	}
	for i, e := range got.Encodings {
		if e.SSRC != got.Encodings[0].SSRC+uint32(i) || e.RTX == nil || e.RTX.SSRC != got.Encodings[0].RTX.SSRC+uint32(i) {
			t.Errorf("encodings[%d] = %+v", i, e)
		}
	}
}

func TestGetConsumerRtpParametersFeedbackReduction(t *testing.T) {
	t.Parallel()
	caps := routerCaps(t, `[{"kind":"video","mimeType":"video/VP8","clockRate":90000}]`)
	params := fromJSON[media.RtpParameters](t, `{"codecs":[
		{"mimeType":"video/VP8","payloadType":96,"clockRate":90000},
		{"mimeType":"video/rtx","payloadType":97,"clockRate":90000,"parameters":{"apt":96}}],
		"encodings":[{"ssrc":1}]}`)
	if err := ValidateRtpParameters(&params); err != nil {
		t.Fatal(err)
	}
	mapping, err := GetProducerRtpParametersMapping(&params, caps)
	if err != nil {
		t.Fatal(err)
	}
	consumable, err := GetConsumableRtpParameters(media.KindVideo, params, caps, mapping)
	if err != nil {
		t.Fatal(err)
	}
	remoteCaps := func(exts ...media.RtpHeaderExtensionURI) media.RtpCapabilities {
		c := media.RtpCapabilities{Codecs: cloneCodecs(caps.Codecs)}
		for _, e := range consumable.HeaderExtensions {
			for _, want := range exts {
				if e.URI == want {
					c.HeaderExtensions = append(c.HeaderExtensions, media.RtpHeaderExtension{Kind: "video", URI: e.URI, PreferredID: e.ID})
				}
			}
		}
		return c
	}
	types := func(fbs []media.RtcpFeedback) []string {
		var out []string
		for _, f := range fbs {
			out = append(out, f.Type+"/"+f.Parameter)
		}
		return out
	}
	tests := []struct {
		name      string
		exts      []media.RtpHeaderExtensionURI
		enableRtx bool
		want      []string
		codecs    int
	}{
		{"transport-cc wins", []media.RtpHeaderExtensionURI{media.ExtTransportWideCC01, media.ExtAbsSendTime}, true,
			[]string{"nack/", "nack/pli", "ccm/fir", "transport-cc/"}, 2},
		{"abs-send-time gives REMB", []media.RtpHeaderExtensionURI{media.ExtAbsSendTime}, true,
			[]string{"nack/", "nack/pli", "ccm/fir", "goog-remb/"}, 2},
		{"no BWE extension", nil, true, []string{"nack/", "nack/pli", "ccm/fir"}, 2},
		{"without RTX drops plain NACK", nil, false, []string{"nack/pli", "ccm/fir"}, 1},
	}
	for _, tt := range tests {
		got, err := GetConsumerRtpParameters(consumable, remoteCaps(tt.exts...), ConsumerParamsOptions{EnableRtx: tt.enableRtx})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, types(got.Codecs[0].RtcpFeedback)); diff != "" || len(got.Codecs) != tt.codecs {
			t.Errorf("%s: %d codecs, feedback (-want +got):\n%s", tt.name, len(got.Codecs), diff)
		}
		if !tt.enableRtx && got.Encodings[0].RTX != nil {
			t.Errorf("%s: RTX SSRC without RTX", tt.name)
		}
		if got.Encodings[0].ScalabilityMode != "" {
			t.Errorf("%s: unexpected scalabilityMode %q", tt.name, got.Encodings[0].ScalabilityMode)
		}
	}
}

func TestGetConsumerRtpParametersNoCompatibleCodecs(t *testing.T) {
	t.Parallel()
	_, _, consumable := negotiated(t)
	remote := fromJSON[media.RtpCapabilities](t, `{"codecs":[
		{"kind":"video","mimeType":"video/VP8","preferredPayloadType":96,"clockRate":90000},
		{"kind":"video","mimeType":"video/rtx","preferredPayloadType":102,"clockRate":90000,"parameters":{"apt":101}}]}`)
	if ok, err := CanConsume(consumable, &remote); ok || err != nil {
		t.Errorf("CanConsume = %v, %v; want false, nil", ok, err)
	}
	_, err := GetConsumerRtpParameters(consumable, remote, ConsumerParamsOptions{EnableRtx: true})
	if !errors.Is(err, media.ErrUnsupported) {
		t.Errorf("err = %v, want ErrUnsupported", err)
	}
	bad := media.RtpCapabilities{Codecs: []media.RtpCodecCapability{{MimeType: "nope"}}}
	if _, err := GetConsumerRtpParameters(consumable, bad, ConsumerParamsOptions{}); err == nil {
		t.Error("invalid remote caps accepted")
	}
	if ok, err := CanConsume(consumable, &bad); ok || !errors.Is(err, media.ErrInvalidParams) {
		t.Errorf("CanConsume(invalid) = %v, %v", ok, err)
	}
}

// Mirrors mediasoup's "getProducerRtpParametersMapping() with incompatible
// params throws UnsupportedError", plus H264 and RTX variants.
func TestGetProducerRtpParametersMappingErrors(t *testing.T) {
	t.Parallel()
	caps := routerCaps(t, `[
		{"kind":"audio","mimeType":"audio/opus","clockRate":48000,"channels":2},
		{"kind":"video","mimeType":"video/H264","clockRate":90000,
		 "parameters":{"packetization-mode":1,"profile-level-id":"640032"}}]`)
	tests := []struct {
		name        string
		params      string
		unsupported bool
		field       string
	}{
		{name: "VP8 not in router", unsupported: true, params: `{"codecs":[{"mimeType":"video/VP8","payloadType":120,"clockRate":90000,
			"rtcpFeedback":[{"type":"nack"},{"type":"nack","parameter":"fir"}]}],"encodings":[{"ssrc":11111111}],"rtcp":{"cname":"x"}}`},
		{name: "H264 other profile", unsupported: true, params: `{"codecs":[{"mimeType":"video/H264","payloadType":96,"clockRate":90000,
			"parameters":{"packetization-mode":1,"profile-level-id":"42e01f"}}],"encodings":[{"ssrc":1}]}`},
		{name: "H264 other packetization-mode", unsupported: true, params: `{"codecs":[{"mimeType":"video/H264","payloadType":96,"clockRate":90000,
			"parameters":{"profile-level-id":"640032"}}],"encodings":[{"ssrc":1}]}`},
		{name: "opus other channels", unsupported: true, params: `{"codecs":[{"mimeType":"audio/opus","payloadType":111,"clockRate":48000}]}`},
		{name: "RTX without router RTX", unsupported: true, params: `{"codecs":[
			{"mimeType":"audio/opus","payloadType":111,"clockRate":48000,"channels":2},
			{"mimeType":"audio/rtx","payloadType":112,"clockRate":48000,"parameters":{"apt":111}}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			params := fromJSON[media.RtpParameters](t, tt.params)
			if err := ValidateRtpParameters(&params); err != nil {
				t.Fatal(err)
			}
			_, err := GetProducerRtpParametersMapping(&params, caps)
			if !errors.Is(err, media.ErrUnsupported) {
				t.Fatalf("err = %v, want ErrUnsupported", err)
			}
		})
	}
}

func TestH264LevelNegotiation(t *testing.T) {
	t.Parallel()
	caps := routerCaps(t, `[{"kind":"video","mimeType":"video/H264","clockRate":90000,
		"parameters":{"packetization-mode":1,"profile-level-id":"42e01f","level-asymmetry-allowed":1}}]`)
	tests := []struct {
		name     string
		params   string
		wantPLID any // nil: key removed
	}{
		{"lower producer level without asymmetry", `{"packetization-mode":1,"profile-level-id":"42e00a"}`, "42e00a"},
		{"higher producer level without asymmetry", `{"packetization-mode":1,"profile-level-id":"42e034"}`, "42e01f"},
		{"asymmetry on both keeps producer level", `{"packetization-mode":1,"profile-level-id":"42e034","level-asymmetry-allowed":1}`, "42e034"},
		{"absent uses default 3.1 baseline", `{"packetization-mode":1}`, "42e01f"},
	}
	for _, tt := range tests {
		params := fromJSON[media.RtpParameters](t, `{"codecs":[{"mimeType":"video/H264","payloadType":96,"clockRate":90000,"parameters":`+tt.params+`}]}`)
		if err := ValidateRtpParameters(&params); err != nil {
			t.Fatal(err)
		}
		if _, err := GetProducerRtpParametersMapping(&params, caps); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := params.Codecs[0].Parameters["profile-level-id"]; got != tt.wantPLID {
			t.Errorf("%s: profile-level-id = %v, want %v", tt.name, got, tt.wantPLID)
		}
	}
}

func TestStrictMatching(t *testing.T) {
	t.Parallel()
	v := func(mime string, params media.Parameters) codecView {
		return codecView{mimeType: mime, clockRate: 90000, params: params}
	}
	tests := []struct {
		name string
		a, b codecView
		want bool
	}{
		{"VP9 profile-id default 0", v("video/VP9", nil), v("video/vp9", media.Parameters{"profile-id": 0}), true},
		{"VP9 profile-id differs", v("video/VP9", media.Parameters{"profile-id": 2}), v("video/VP9", nil), false},
		{"VP9 profile-id number vs string", v("video/VP9", media.Parameters{"profile-id": 2}), v("video/VP9", media.Parameters{"profile-id": "2"}), false},
		{"H265 defaults", v("video/H265", nil), v("video/H265", media.Parameters{"profile-id": 1, "level-id": 93}), true},
		{"H265 profile differs", v("video/H265", media.Parameters{"profile-id": 2}), v("video/H265", nil), false},
		{"H265 string profile", v("video/H265", media.Parameters{"profile-id": "2"}), v("video/H265", media.Parameters{"profile-id": 2.0}), true},
		{"H265 tier differs", v("video/H265", media.Parameters{"tier-flag": 1}), v("video/H265", nil), false},
		{"H264 packetization 0 == absent", v("video/H264", media.Parameters{"packetization-mode": 0}), v("video/H264", nil), true},
		{"H264 invalid profile-level-id", v("video/H264", media.Parameters{"profile-level-id": "zzzzzz"}), v("video/H264", nil), false},
		{"H264-SVC like H264", v("video/H264-SVC", media.Parameters{"profile-level-id": "640032"}), v("video/H264-SVC", nil), false},
		{"clock rate differs", v("video/VP8", nil), codecView{mimeType: "video/VP8", clockRate: 9000}, false},
		{"AV1", v("video/AV1", nil), v("video/av1", media.Parameters{"x": 1}), true},
	}
	for _, tt := range tests {
		if got, _ := matchCodecs(tt.a, tt.b, true); got != tt.want {
			t.Errorf("%s: matchCodecs = %v, want %v", tt.name, got, tt.want)
		}
	}
	if ok, _ := matchCodecs(v("video/H265", media.Parameters{"profile-id": 2}), v("video/H265", nil), false); !ok {
		t.Error("loose matching compared H265 profiles")
	}
}

func TestGetConsumableRtpParametersInconsistentMapping(t *testing.T) {
	t.Parallel()
	params, mapping, _ := negotiated(t)
	caps := routerCaps(t, h264RouterCodecs)
	short := mapping
	short.Encodings = short.Encodings[:1]
	if _, err := GetConsumableRtpParameters(media.KindVideo, params, caps, short); !errors.Is(err, media.ErrInvalidParams) {
		t.Errorf("short encodings mapping: err = %v", err)
	}
	if _, err := GetConsumableRtpParameters(media.KindVideo, params, caps, RtpMapping{}); !errors.Is(err, media.ErrInvalidParams) {
		t.Errorf("empty mapping: err = %v", err)
	}
	wrongPT := RtpMapping{Codecs: []CodecMapping{{111, 55}, {112, 56}}, Encodings: mapping.Encodings}
	if _, err := GetConsumableRtpParameters(media.KindVideo, params, caps, wrongPT); !errors.Is(err, media.ErrInvalidParams) {
		t.Errorf("mapping to unknown router payload type: err = %v", err)
	}
	_, err := GetConsumableRtpParameters("data", params, caps, mapping)
	wantParamError(t, err, "kind", "audio or video")
}

func TestParseScalabilityMode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want ScalabilityMode
	}{
		{"L1T3", ScalabilityMode{1, 3, false}},
		{"L3T3_KEY", ScalabilityMode{3, 3, true}},
		{"S2T1", ScalabilityMode{2, 1, false}},
		{"L12T10h", ScalabilityMode{12, 10, false}},
		{"L3T3_KEY_SHIFT", ScalabilityMode{3, 3, true}},
		{"", ScalabilityMode{1, 1, false}},
		{"L0T1", ScalabilityMode{1, 1, false}},
		{"X1T1", ScalabilityMode{1, 1, false}},
		{"L1T", ScalabilityMode{1, 1, false}},
		{"L100T1", ScalabilityMode{1, 1, false}},
	}
	for _, tt := range tests {
		if got := ParseScalabilityMode(tt.in); got != tt.want {
			t.Errorf("ParseScalabilityMode(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestMsidAndAudioPipe(t *testing.T) {
	t.Parallel()
	caps := routerCaps(t, h264RouterCodecs)
	params := fromJSON[media.RtpParameters](t, `{"codecs":[{"mimeType":"audio/opus","payloadType":111,"clockRate":48000,"channels":2}],
		"headerExtensions":[{"uri":"urn:ietf:params:rtp-hdrext:ssrc-audio-level","id":10}],
		"encodings":[{"ssrc":5,"dtx":true}],"msid":"stream track"}`)
	if err := ValidateRtpParameters(&params); err != nil {
		t.Fatal(err)
	}
	mapping, err := GetProducerRtpParametersMapping(&params, caps)
	if err != nil {
		t.Fatal(err)
	}
	consumable, err := GetConsumableRtpParameters(media.KindAudio, params, caps, mapping)
	if err != nil {
		t.Fatal(err)
	}
	pipe := GetPipeConsumerRtpParameters(consumable, false)
	remote := caps.Clone()
	consumer, err := GetConsumerRtpParameters(consumable, remote, ConsumerParamsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]media.RtpParameters{"consumable": consumable, "pipe": pipe, "consumer": consumer} {
		if p.Msid != "stream track" {
			t.Errorf("%s msid = %q", name, p.Msid)
		}
	}
	if !consumable.Encodings[0].DTX {
		t.Error("consumable lost dtx")
	}
	if hasExtension(pipe.HeaderExtensions, media.ExtDependencyDescriptor) {
		t.Error("audio pipe consumer got the dependency descriptor")
	}
	if len(consumer.Codecs) != 1 || consumer.Encodings[0].RTX != nil {
		t.Errorf("audio consumer = %+v", consumer)
	}
}
