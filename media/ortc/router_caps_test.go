package ortc

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ropehq/rope/media"
)

// Mirrors mediasoup's test-ortc "generateRouterRtpCapabilities() succeeds".
func TestGenerateRouterRtpCapabilities(t *testing.T) {
	t.Parallel()
	mediaCodecs := fromJSON[[]media.RtpCodecCapability](t, `[
		{"kind":"audio","mimeType":"audio/opus","clockRate":48000,"channels":2,
		 "parameters":{"useinbandfec":1,"foo":"bar"}},
		{"kind":"video","mimeType":"video/VP8","preferredPayloadType":125,"clockRate":90000},
		{"kind":"video","mimeType":"video/H264","clockRate":90000,
		 "parameters":{"level-asymmetry-allowed":1,"profile-level-id":"42e01f","foo":"bar"},
		 "rtcpFeedback":[]}]`)
	before := cloneCodecs(mediaCodecs)

	caps, err := GenerateRouterRtpCapabilities(mediaCodecs)
	if err != nil {
		t.Fatal(err)
	}
	want := []media.RtpCodecCapability{
		{Kind: "audio", MimeType: "audio/opus", PreferredPayloadType: new(100), ClockRate: 48000, Channels: 2,
			Parameters:   media.Parameters{"useinbandfec": 1.0, "foo": "bar"},
			RtcpFeedback: []media.RtcpFeedback{fb("nack", ""), fb("transport-cc", "")}},
		{Kind: "video", MimeType: "video/VP8", PreferredPayloadType: new(125), ClockRate: 90000,
			Parameters: media.Parameters{}, RtcpFeedback: videoFeedback},
		{Kind: "video", MimeType: "video/rtx", PreferredPayloadType: new(101), ClockRate: 90000,
			Parameters: media.Parameters{"apt": 125}, RtcpFeedback: []media.RtcpFeedback{}},
		{Kind: "video", MimeType: "video/H264", PreferredPayloadType: new(102), ClockRate: 90000,
			Parameters:   media.Parameters{"level-asymmetry-allowed": 1.0, "profile-level-id": "42e01f", "foo": "bar"},
			RtcpFeedback: videoFeedback},
		{Kind: "video", MimeType: "video/rtx", PreferredPayloadType: new(103), ClockRate: 90000,
			Parameters: media.Parameters{"apt": 102}, RtcpFeedback: []media.RtcpFeedback{}},
	}
	if diff := cmp.Diff(want, caps.Codecs, numbersEqual); diff != "" {
		t.Errorf("codecs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(SupportedRtpCapabilities().HeaderExtensions, caps.HeaderExtensions); diff != "" {
		t.Errorf("header extensions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, mediaCodecs); diff != "" {
		t.Errorf("input modified (-before +after):\n%s", diff)
	}
}

// numbersEqual compares parameter values as mediasoup does (1 == 1.0).
var numbersEqual = cmp.Comparer(func(a, b media.Parameters) bool { return a.Equal(b) && (a == nil) == (b == nil) })

func cloneCodecs(cs []media.RtpCodecCapability) []media.RtpCodecCapability {
	out := make([]media.RtpCodecCapability, len(cs))
	for i := range cs {
		out[i] = cs[i].Clone()
	}
	return out
}

func TestGenerateRouterRtpCapabilitiesPayloadTypes(t *testing.T) {
	t.Parallel()
	caps, err := GenerateRouterRtpCapabilities([]media.RtpCodecCapability{
		{MimeType: "audio/PCMU", ClockRate: 8000},                                // static 0
		{MimeType: "audio/PCMA", ClockRate: 8000, PreferredPayloadType: new(96)}, // caller wins
		{MimeType: "audio/opus", ClockRate: 48000, Channels: 2},                  // first dynamic
		{MimeType: "audio/multiopus", ClockRate: 48000, Channels: 6,
			Parameters: media.Parameters{"num_streams": 4, "coupled_streams": 2}},
		{MimeType: "video/AV1", ClockRate: 90000},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, c := range caps.Codecs {
		got = append(got, *c.PreferredPayloadType)
	}
	if diff := cmp.Diff([]int{0, 96, 100, 101, 102, 103}, got); diff != "" {
		t.Errorf("payload types (-want +got):\n%s", diff)
	}
	if caps.Codecs[0].Kind != media.KindAudio || caps.Codecs[0].Channels != 1 {
		t.Errorf("PCMU not normalised: %+v", caps.Codecs[0])
	}
	if mapping, _ := caps.Codecs[3].Parameters.String("channel_mapping"); mapping != "0,4,1,2,3,5" {
		t.Errorf("multiopus 5.1 channel_mapping = %q", mapping)
	}
}

func TestGenerateRouterRtpCapabilitiesErrors(t *testing.T) {
	t.Parallel()
	tooMany := make([]media.RtpCodecCapability, 100)
	for i := range tooMany {
		tooMany[i] = media.RtpCodecCapability{Kind: "audio", MimeType: "audio/opus", ClockRate: 48000, Channels: 2}
	}
	tests := []struct {
		name        string
		codecs      []media.RtpCodecCapability
		unsupported bool
		field       string
		reason      string
	}{
		{name: "unknown codec", unsupported: true,
			codecs: []media.RtpCodecCapability{{Kind: "audio", MimeType: "audio/chicken", ClockRate: 8000, Channels: 4}}},
		{name: "opus mono", unsupported: true,
			codecs: []media.RtpCodecCapability{{Kind: "audio", MimeType: "audio/opus", ClockRate: 48000, Channels: 1}}},
		{name: "multiopus unknown layout", unsupported: true,
			codecs: []media.RtpCodecCapability{{MimeType: "audio/multiopus", ClockRate: 48000, Channels: 6,
				Parameters: media.Parameters{"num_streams": 3, "coupled_streams": 2}}}},
		{name: "too many codecs", codecs: tooMany, field: "mediaCodecs[32]", reason: "cannot allocate"},
		{name: "duplicated preferred payload type", field: "mediaCodecs[1].preferredPayloadType", reason: "duplicated",
			codecs: []media.RtpCodecCapability{
				{MimeType: "video/VP8", ClockRate: 90000},
				{MimeType: "video/VP9", ClockRate: 90000, PreferredPayloadType: new(101)}}},
		{name: "missing mimeType", field: "mediaCodecs[0].mimeType", reason: "missing",
			codecs: []media.RtpCodecCapability{{ClockRate: 90000}}},
		{name: "bad mimeType", field: "mediaCodecs[0].mimeType", reason: "invalid",
			codecs: []media.RtpCodecCapability{{MimeType: "text/plain", ClockRate: 90000}}},
		{name: "missing clockRate", field: "mediaCodecs[0].clockRate", reason: "missing",
			codecs: []media.RtpCodecCapability{{MimeType: "video/VP8"}}},
		{name: "preferred payload type range", field: "mediaCodecs[0].preferredPayloadType", reason: "0..127",
			codecs: []media.RtpCodecCapability{{MimeType: "video/VP8", ClockRate: 90000, PreferredPayloadType: new(128)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := GenerateRouterRtpCapabilities(tt.codecs)
			if tt.unsupported {
				if !errors.Is(err, media.ErrUnsupported) || media.ErrorName(err) != media.NameUnsupportedError {
					t.Fatalf("err = %v, want ErrUnsupported", err)
				}
				return
			}
			wantParamError(t, err, tt.field, tt.reason)
		})
	}
}

func TestGenerateRouterRtpCapabilitiesEmpty(t *testing.T) {
	t.Parallel()
	caps, err := GenerateRouterRtpCapabilities(nil)
	if err != nil || caps.Codecs == nil || len(caps.Codecs) != 0 || len(caps.HeaderExtensions) == 0 {
		t.Fatalf("caps = %+v, err = %v", caps, err)
	}
}

func TestSupportedRtpCapabilities(t *testing.T) {
	t.Parallel()
	caps := SupportedRtpCapabilities()
	mimes := map[string]bool{}
	for _, c := range caps.Codecs {
		mimes[c.MimeType] = true
		if c.Kind == media.KindAudio && c.Channels < 1 {
			t.Errorf("%s has no channels after normalisation", c.MimeType)
		}
	}
	for _, m := range []string{"audio/opus", "audio/multiopus", "audio/PCMU", "audio/PCMA", "audio/G722",
		"audio/CN", "audio/telephone-event", "video/VP8", "video/VP9", "video/H264", "video/H265", "video/AV1"} {
		if !mimes[m] {
			t.Errorf("missing supported codec %s", m)
		}
	}
	caps.Codecs[0].MimeType = "audio/changed"
	caps.Codecs[0].RtcpFeedback[0].Type = "changed"
	if again := SupportedRtpCapabilities(); again.Codecs[0].MimeType != "audio/opus" || again.Codecs[0].RtcpFeedback[0].Type != "nack" {
		t.Error("SupportedRtpCapabilities returned shared state")
	}
}
