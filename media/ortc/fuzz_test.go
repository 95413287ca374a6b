package ortc

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/ropehq/rope/media"
)

var rtpParametersSeeds = []string{
	h264ProducerParams,
	`{"codecs":[{"mimeType":"audio/opus","payloadType":111,"clockRate":48000,"channels":2}],"encodings":[{"ssrc":1}]}`,
	`{"codecs":[{"mimeType":"video/VP8","payloadType":96,"clockRate":90000},
	  {"mimeType":"video/rtx","payloadType":97,"clockRate":90000,"parameters":{"apt":96}}],
	  "encodings":[{"rid":"r0","scalabilityMode":"L1T3"},{"rid":"r1"}],"headerExtensions":[{"uri":"urn:ietf:params:rtp-hdrext:sdes:mid","id":1}]}`,
	`{"codecs":[{"mimeType":"video/rtx","payloadType":97,"clockRate":90000,"parameters":{"apt":97}}]}`,
	`{"codecs":[{"mimeType":"video/H264","payloadType":96,"clockRate":90000,"parameters":{"profile-level-id":640032,"packetization-mode":"1"}}]}`,
	`{"codecs":null,"encodings":[{"codecPayloadType":0,"rtx":{"ssrc":0}}],"rtcp":{"reducedSize":false}}`,
	`{}`, `[]`, `null`,
}

// FuzzValidateRtpParameters decodes arbitrary JSON into RtpParameters and
// validates it: it must never panic, errors must be ParamErrors, and
// accepted parameters must be normalised and stay valid after a JSON
// round trip.
func FuzzValidateRtpParameters(f *testing.F) {
	for _, s := range rtpParametersSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p media.RtpParameters
		if json.Unmarshal(data, &p) != nil {
			return
		}
		if err := ValidateRtpParameters(&p); err != nil {
			var pe *media.ParamError
			if !errors.As(err, &pe) || pe.Field == "" {
				t.Fatalf("error %v (%T) is not a ParamError with a field", err, err)
			}
			return
		}
		if p.HeaderExtensions == nil || p.Encodings == nil || p.Rtcp.ReducedSize == nil {
			t.Fatalf("not normalised: %+v", p)
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshal valid parameters: %v", err)
		}
		var back media.RtpParameters
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("unmarshal: %v", err)
		}
		if err := ValidateRtpParameters(&back); err != nil {
			t.Fatalf("valid parameters invalid after round trip: %v\n%s", err, b)
		}
	})
}

// FuzzNegotiation runs the whole produce and consume path on arbitrary
// producer parameters and remote capabilities: it must never panic, and
// whatever it produces must itself validate.
func FuzzNegotiation(f *testing.F) {
	for _, s := range rtpParametersSeeds {
		f.Add([]byte(s), []byte(h264RemoteCaps))
	}
	f.Fuzz(func(t *testing.T, paramsJSON, capsJSON []byte) {
		var params media.RtpParameters
		var remote media.RtpCapabilities
		if json.Unmarshal(paramsJSON, &params) != nil || json.Unmarshal(capsJSON, &remote) != nil {
			return
		}
		router, err := GenerateRouterRtpCapabilities(fuzzRouterCodecs)
		if err != nil {
			t.Fatal(err)
		}
		unvalidatedMustNotPanic(params.Clone(), remote.Clone(), router)
		if ValidateRtpParameters(&params) != nil {
			return
		}
		kind := media.KindVideo
		if k, _ := validateMimeType(params.Codecs[0].MimeType, ""); k == media.KindAudio {
			kind = media.KindAudio
		}
		mapping, err := GetProducerRtpParametersMapping(&params, router)
		if err != nil {
			return
		}
		consumable, err := GetConsumableRtpParameters(kind, params, router, mapping)
		if err != nil {
			t.Fatalf("consumable after a successful mapping: %v", err)
		}
		checkValid(t, "consumable", consumable)
		checkValid(t, "pipe consumer", GetPipeConsumerRtpParameters(consumable, true))
		if ok, err := CanConsume(consumable, &remote); err != nil || !ok {
			return
		}
		consumer, err := GetConsumerRtpParameters(consumable, remote, ConsumerParamsOptions{EnableRtx: kind == media.KindVideo})
		if err != nil {
			t.Fatalf("GetConsumerRtpParameters after CanConsume: %v", err)
		}
		checkValid(t, "consumer", consumer)
	})
}

// unvalidatedMustNotPanic feeds raw input to the derivation functions: a
// caller that forgets to validate gets errors or garbage, never a panic.
func unvalidatedMustNotPanic(params media.RtpParameters, remote, router media.RtpCapabilities) {
	m, err := GetProducerRtpParametersMapping(&params, router)
	if err == nil {
		_, _ = GetConsumableRtpParameters(media.KindVideo, params, router, m)
	}
	_, _ = GetConsumableRtpParameters(media.KindAudio, params, remote, RtpMapping{})
	_, _ = GetConsumerRtpParameters(params, remote, ConsumerParamsOptions{EnableRtx: true})
	_, _ = GetConsumerRtpParameters(params, remote, ConsumerParamsOptions{Pipe: true})
	_ = GetPipeConsumerRtpParameters(params, true)
	_, _ = CanConsume(params, &remote)
}

var fuzzRouterCodecs = []media.RtpCodecCapability{
	{MimeType: "audio/opus", ClockRate: 48000, Channels: 2},
	{MimeType: "audio/PCMU", ClockRate: 8000},
	{MimeType: "video/VP8", ClockRate: 90000},
	{MimeType: "video/VP9", ClockRate: 90000, Parameters: media.Parameters{"profile-id": 2}},
	{MimeType: "video/H264", ClockRate: 90000, Parameters: media.Parameters{"packetization-mode": 1, "profile-level-id": "4d0032", "level-asymmetry-allowed": 1}},
	{MimeType: "video/H264", ClockRate: 90000, Parameters: media.Parameters{"packetization-mode": 1, "profile-level-id": "42e01f", "level-asymmetry-allowed": 1}},
	{MimeType: "video/H265", ClockRate: 90000},
	{MimeType: "video/AV1", ClockRate: 90000},
}

func checkValid(t *testing.T, what string, p media.RtpParameters) {
	t.Helper()
	c := p.Clone()
	if err := ValidateRtpParameters(&c); err != nil {
		t.Fatalf("%s parameters invalid: %v\n%+v", what, err, p)
	}
}

// FuzzValidateRtpCapabilities: validation of arbitrary capabilities must
// not panic and must leave accepted capabilities normalised.
func FuzzValidateRtpCapabilities(f *testing.F) {
	f.Add([]byte(h264RemoteCaps))
	f.Add([]byte(`{"codecs":[{"mimeType":"audio/opus","clockRate":48000,"preferredPayloadType":-1}]}`))
	f.Add([]byte(`{"headerExtensions":[{"kind":"audio","uri":"x","preferredId":1,"direction":""}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var caps media.RtpCapabilities
		if json.Unmarshal(data, &caps) != nil {
			return
		}
		if err := ValidateRtpCapabilities(&caps); err != nil {
			if !errors.Is(err, media.ErrInvalidParams) {
				t.Fatalf("error %v does not match ErrInvalidParams", err)
			}
			return
		}
		for _, c := range caps.Codecs {
			if !c.Kind.Valid() || c.Parameters == nil || c.RtcpFeedback == nil {
				t.Fatalf("codec not normalised: %+v", c)
			}
		}
		_, _ = GenerateRouterRtpCapabilities(caps.Codecs)
	})
}

// FuzzValidateSctpStreamParameters: never panics; accepted parameters have
// ordered set and are consistent.
func FuzzValidateSctpStreamParameters(f *testing.F) {
	f.Add([]byte(`{"streamId":1}`))
	f.Add([]byte(`{"streamId":1,"ordered":true,"maxRetransmits":0}`))
	f.Add([]byte(`{"streamId":1,"maxPacketLifeTime":5}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p media.SctpStreamParameters
		if json.Unmarshal(data, &p) != nil {
			return
		}
		if ValidateSctpStreamParameters(&p) != nil {
			return
		}
		partial := p.MaxPacketLifeTime != nil || p.MaxRetransmits != nil
		if p.Ordered == nil || (*p.Ordered && partial) || (p.MaxPacketLifeTime != nil && p.MaxRetransmits != nil) {
			t.Fatalf("inconsistent accepted parameters: %+v", p)
		}
	})
}
