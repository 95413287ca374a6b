package ortc

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ropehq/rope/media"
)

func TestValidateRtpParametersDefaults(t *testing.T) {
	t.Parallel()
	params := fromJSON[media.RtpParameters](t, `{"codecs":[
		{"mimeType":"audio/opus","payloadType":111,"clockRate":48000},
		{"mimeType":"video/VP8","payloadType":96,"clockRate":90000,"channels":3,"rtcpFeedback":[{"type":"nack"}]}]}`)
	if err := ValidateRtpParameters(&params); err != nil {
		t.Fatal(err)
	}
	want := media.RtpParameters{
		Codecs: []media.RtpCodecParameters{
			{MimeType: "audio/opus", PayloadType: 111, ClockRate: 48000, Channels: 1,
				Parameters: media.Parameters{}, RtcpFeedback: []media.RtcpFeedback{}},
			{MimeType: "video/VP8", PayloadType: 96, ClockRate: 90000,
				Parameters: media.Parameters{}, RtcpFeedback: []media.RtcpFeedback{{Type: "nack"}}},
		},
		HeaderExtensions: []media.RtpHeaderExtensionParameters{},
		Encodings:        []media.RtpEncodingParameters{},
		Rtcp:             media.RtcpParameters{ReducedSize: new(true)},
	}
	if diff := cmp.Diff(want, params); diff != "" {
		t.Errorf("normalised (-want +got):\n%s", diff)
	}
	explicit := fromJSON[media.RtpParameters](t, `{"codecs":[{"mimeType":"video/VP8","payloadType":96,"clockRate":90000}],
		"rtcp":{"cname":"c","reducedSize":false}}`)
	if err := ValidateRtpParameters(&explicit); err != nil || *explicit.Rtcp.ReducedSize {
		t.Errorf("explicit reducedSize false not kept: %+v, %v", explicit.Rtcp, err)
	}
}

func TestValidateRtpParametersErrors(t *testing.T) {
	t.Parallel()
	const vp8 = `{"mimeType":"video/VP8","payloadType":96,"clockRate":90000}`
	tests := []struct {
		name, params, field, reason string
	}{
		{"no codecs", `{}`, "rtpParameters.codecs", "missing"},
		{"empty codecs", `{"codecs":[]}`, "rtpParameters.codecs", "missing"},
		{"missing mimeType", `{"codecs":[{"payloadType":96,"clockRate":90000}]}`, "rtpParameters.codecs[0].mimeType", "missing"},
		{"bad mimeType", `{"codecs":[{"mimeType":"VP8","payloadType":96,"clockRate":90000}]}`, "rtpParameters.codecs[0].mimeType", "invalid"},
		{"payloadType range", `{"codecs":[{"mimeType":"video/VP8","payloadType":128,"clockRate":90000}]}`,
			"rtpParameters.codecs[0].payloadType", "must be 0..127"},
		{"negative payloadType", `{"codecs":[{"mimeType":"video/VP8","payloadType":-1,"clockRate":90000}]}`,
			"rtpParameters.codecs[0].payloadType", "must be 0..127"},
		{"missing clockRate", `{"codecs":[{"mimeType":"video/VP8","payloadType":96}]}`, "rtpParameters.codecs[0].clockRate", "missing"},
		{"negative channels", `{"codecs":[{"mimeType":"audio/opus","payloadType":96,"clockRate":48000,"channels":-2}]}`,
			"rtpParameters.codecs[0].channels", "negative"},
		{"duplicated payloadType", `{"codecs":[` + vp8 + `,{"mimeType":"video/VP9","payloadType":96,"clockRate":90000}]}`,
			"rtpParameters.codecs[1].payloadType", "duplicated"},
		{"bool parameter", `{"codecs":[{"mimeType":"video/VP8","payloadType":96,"clockRate":90000,"parameters":{"x":true}}]}`,
			`rtpParameters.codecs[0].parameters["x"]`, "string or a number"},
		{"null parameter", `{"codecs":[{"mimeType":"video/VP8","payloadType":96,"clockRate":90000,"parameters":{"x":null}}]}`,
			`rtpParameters.codecs[0].parameters["x"]`, "string or a number"},
		{"string apt", `{"codecs":[` + vp8 + `,{"mimeType":"video/rtx","payloadType":97,"clockRate":90000,"parameters":{"apt":"96"}}]}`,
			`rtpParameters.codecs[1].parameters["apt"]`, "payload type number"},
		{"RTX without apt", `{"codecs":[` + vp8 + `,{"mimeType":"video/rtx","payloadType":97,"clockRate":90000}]}`,
			`rtpParameters.codecs[1].parameters["apt"]`, "missing"},
		{"RTX apt unknown", `{"codecs":[` + vp8 + `,{"mimeType":"video/rtx","payloadType":97,"clockRate":90000,"parameters":{"apt":98}}]}`,
			`rtpParameters.codecs[1].parameters["apt"]`, "no media codec"},
		{"RTX apt to RTX", `{"codecs":[{"mimeType":"video/rtx","payloadType":97,"clockRate":90000,"parameters":{"apt":97}}]}`,
			`rtpParameters.codecs[0].parameters["apt"]`, "not a media codec"},
		{"feedback without type", `{"codecs":[{"mimeType":"video/VP8","payloadType":96,"clockRate":90000,"rtcpFeedback":[{"parameter":"pli"}]}]}`,
			"rtpParameters.codecs[0].rtcpFeedback[0].type", "missing"},
		{"extension without uri", `{"codecs":[` + vp8 + `],"headerExtensions":[{"id":1}]}`, "rtpParameters.headerExtensions[0].uri", "missing"},
		{"extension id 0", `{"codecs":[` + vp8 + `],"headerExtensions":[{"uri":"urn:x","id":0}]}`,
			"rtpParameters.headerExtensions[0].id", "must be 1..255"},
		{"extension bad parameter", `{"codecs":[` + vp8 + `],"headerExtensions":[{"uri":"urn:x","id":3,"parameters":{"a":[1]}}]}`,
			`rtpParameters.headerExtensions[0].parameters["a"]`, "string or a number"},
		{"rtx without ssrc", `{"codecs":[` + vp8 + `],"encodings":[{"ssrc":1},{"ssrc":2,"rtx":{}}]}`,
			"rtpParameters.encodings[1].rtx.ssrc", "missing"},
		{"unknown codecPayloadType", `{"codecs":[` + vp8 + `],"encodings":[{"codecPayloadType":100}]}`,
			"rtpParameters.encodings[0].codecPayloadType", "no media codec"},
		{"negative maxBitrate", `{"codecs":[` + vp8 + `],"encodings":[{"maxBitrate":-1}]}`,
			"rtpParameters.encodings[0].maxBitrate", "negative"},
		{"scaleResolutionDownBy below 1", `{"codecs":[` + vp8 + `],"encodings":[{"scaleResolutionDownBy":0.5}]}`,
			"rtpParameters.encodings[0].scaleResolutionDownBy", ">= 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			params := fromJSON[media.RtpParameters](t, tt.params)
			wantParamError(t, ValidateRtpParameters(&params), tt.field, tt.reason)
		})
	}
	wantParamError(t, ValidateRtpParameters(nil), "rtpParameters", "missing")
}

func TestValidateRtpCapabilities(t *testing.T) {
	t.Parallel()
	caps := fromJSON[media.RtpCapabilities](t, `{"codecs":[{"kind":"video","mimeType":"AUDIO/opus","clockRate":48000}],
		"headerExtensions":[{"kind":"audio","uri":"urn:ietf:params:rtp-hdrext:sdes:mid","preferredId":1}]}`)
	if err := ValidateRtpCapabilities(&caps); err != nil {
		t.Fatal(err)
	}
	if c := caps.Codecs[0]; c.Kind != media.KindAudio || c.Channels != 1 || c.Parameters == nil || c.RtcpFeedback == nil {
		t.Errorf("codec not normalised: %+v", c)
	}
	if e := caps.HeaderExtensions[0]; e.Direction != media.DirectionSendRecv || e.PreferredEncrypt {
		t.Errorf("extension not normalised: %+v", e)
	}
	empty := media.RtpCapabilities{}
	if err := ValidateRtpCapabilities(&empty); err != nil || empty.Codecs == nil || empty.HeaderExtensions == nil {
		t.Errorf("empty caps: %+v, %v", empty, err)
	}

	tests := []struct{ name, caps, field, reason string }{
		{"codec mimeType", `{"codecs":[{"kind":"audio","clockRate":1}]}`, "rtpCapabilities.codecs[0].mimeType", "missing"},
		{"codec clockRate", `{"codecs":[{"kind":"audio","mimeType":"audio/opus"}]}`, "rtpCapabilities.codecs[0].clockRate", "missing"},
		{"codec pt", `{"codecs":[{"mimeType":"audio/opus","clockRate":1,"preferredPayloadType":300}]}`,
			"rtpCapabilities.codecs[0].preferredPayloadType", "0..127"},
		{"codec apt", `{"codecs":[{"mimeType":"video/rtx","clockRate":1,"parameters":{"apt":"x"}}]}`,
			`rtpCapabilities.codecs[0].parameters["apt"]`, "payload type"},
		{"ext kind", `{"headerExtensions":[{"uri":"urn:x","preferredId":1}]}`, "rtpCapabilities.headerExtensions[0].kind", "audio or video"},
		{"ext uri", `{"headerExtensions":[{"kind":"video","preferredId":1}]}`, "rtpCapabilities.headerExtensions[0].uri", "missing"},
		{"ext id", `{"headerExtensions":[{"kind":"video","uri":"urn:x"}]}`, "rtpCapabilities.headerExtensions[0].preferredId", "1..255"},
		{"ext direction", `{"headerExtensions":[{"kind":"video","uri":"urn:x","preferredId":1,"direction":"up"}]}`,
			"rtpCapabilities.headerExtensions[0].direction", "invalid"},
	}
	for _, tt := range tests {
		c := fromJSON[media.RtpCapabilities](t, tt.caps)
		wantParamError(t, ValidateRtpCapabilities(&c), tt.field, tt.reason)
	}
	codec := media.RtpCodecCapability{MimeType: "video/VP8"}
	wantParamError(t, ValidateRtpCodecCapability(&codec), "codec.clockRate", "missing")
}

func TestValidateSctp(t *testing.T) {
	t.Parallel()
	wantParamError(t, ValidateSctpCapabilities(&media.SctpCapabilities{NumStreams: media.NumSctpStreams{OS: 1024}}),
		"sctpCapabilities.numStreams.MIS", "1..65535")
	wantParamError(t, ValidateSctpCapabilities(&media.SctpCapabilities{NumStreams: media.NumSctpStreams{OS: 70000, MIS: 1}}),
		"sctpCapabilities.numStreams.OS", "1..65535")
	wantParamError(t, ValidateSctpCapabilities(nil), "sctpCapabilities", "missing")
	if err := ValidateSctpCapabilities(&media.SctpCapabilities{NumStreams: media.NumSctpStreams{OS: 1024, MIS: 1024}}); err != nil {
		t.Error(err)
	}

	ok := media.SctpParameters{Port: 5000, OS: 1024, MIS: 1024, MaxMessageSize: 262144}
	if err := ValidateSctpParameters(&ok); err != nil {
		t.Error(err)
	}
	for _, tt := range []struct {
		p      media.SctpParameters
		field  string
		reason string
	}{
		{media.SctpParameters{OS: 1, MIS: 1, MaxMessageSize: 1}, "sctpParameters.port", "1..65535"},
		{media.SctpParameters{Port: 5000, MIS: 1, MaxMessageSize: 1}, "sctpParameters.OS", "1..65535"},
		{media.SctpParameters{Port: 5000, OS: 1, MIS: 1}, "sctpParameters.maxMessageSize", "positive"},
	} {
		wantParamError(t, ValidateSctpParameters(&tt.p), tt.field, tt.reason)
	}
}

func TestValidateSctpStreamParameters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		in          string
		wantOrdered bool
		field       string
		reason      string
	}{
		{name: "defaults to ordered", in: `{"streamId":1}`, wantOrdered: true},
		{name: "explicit unordered", in: `{"streamId":1,"ordered":false}`, wantOrdered: false},
		{name: "maxRetransmits implies unordered", in: `{"streamId":1,"maxRetransmits":3}`, wantOrdered: false},
		{name: "maxRetransmits 0 counts", in: `{"streamId":1,"maxRetransmits":0}`, wantOrdered: false},
		{name: "maxPacketLifeTime implies unordered", in: `{"streamId":65534,"maxPacketLifeTime":100}`, wantOrdered: false},
		{name: "unordered partial reliability", in: `{"streamId":1,"ordered":false,"maxPacketLifeTime":100}`, wantOrdered: false},
		{name: "both limits", in: `{"streamId":1,"maxPacketLifeTime":1,"maxRetransmits":1}`,
			field: "sctpStreamParameters", reason: "both"},
		{name: "ordered with limit", in: `{"streamId":1,"ordered":true,"maxRetransmits":1}`,
			field: "sctpStreamParameters.ordered", reason: "cannot be ordered"},
		{name: "stream id range", in: `{"streamId":65535}`, field: "sctpStreamParameters.streamId", reason: "0..65534"},
		{name: "negative stream id", in: `{"streamId":-1}`, field: "sctpStreamParameters.streamId", reason: "0..65534"},
		{name: "negative retransmits", in: `{"streamId":1,"maxRetransmits":-1}`,
			field: "sctpStreamParameters.maxRetransmits", reason: "negative"},
		{name: "negative lifetime", in: `{"streamId":1,"maxPacketLifeTime":-1}`,
			field: "sctpStreamParameters.maxPacketLifeTime", reason: "negative"},
	}
	for _, tt := range tests {
		p := fromJSON[media.SctpStreamParameters](t, tt.in)
		err := ValidateSctpStreamParameters(&p)
		if tt.field != "" {
			wantParamError(t, err, tt.field, tt.reason)
			continue
		}
		if err != nil || p.Ordered == nil || *p.Ordered != tt.wantOrdered {
			t.Errorf("%s: ordered = %v, err = %v; want %v", tt.name, p.Ordered, err, tt.wantOrdered)
		}
	}
	wantParamError(t, ValidateSctpStreamParameters(nil), "sctpStreamParameters", "missing")
}

// The normalised parameters must survive a JSON round trip unchanged:
// what the engine stores is what goes on the wire.
func TestNormalisedParametersJSONRoundTrip(t *testing.T) {
	t.Parallel()
	_, _, consumable := negotiated(t)
	b, err := json.Marshal(consumable)
	if err != nil {
		t.Fatal(err)
	}
	back := fromJSON[media.RtpParameters](t, string(b))
	if err := ValidateRtpParameters(&back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(consumable, back, numbersEqual); diff != "" {
		t.Errorf("round trip (-before +after):\n%s", diff)
	}
}
