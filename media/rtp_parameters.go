package media

import (
	"encoding/json"
	"math"
	"strconv"
)

// MediaKind is the kind of media a codec, header extension, producer or
// consumer carries: "audio" or "video".
type MediaKind string

// Media kinds.
const (
	KindAudio MediaKind = "audio"
	KindVideo MediaKind = "video"
)

// Valid reports whether k is "audio" or "video".
func (k MediaKind) Valid() bool { return k == KindAudio || k == KindVideo }

// RtpCapabilities is what mediasoup or an endpoint can receive at media
// level: codecs (media and RTX) and RTP header extensions.
type RtpCapabilities struct {
	Codecs           []RtpCodecCapability `json:"codecs,omitempty"`
	HeaderExtensions []RtpHeaderExtension `json:"headerExtensions,omitempty"`
}

// RtpCodecCapability describes a codec an endpoint or router supports.
type RtpCodecCapability struct {
	Kind     MediaKind `json:"kind"`
	MimeType string    `json:"mimeType"`
	// PreferredPayloadType is optional in media codecs given to a router
	// and always set in router capabilities. A pointer because 0 (PCMU)
	// is a valid payload type.
	PreferredPayloadType *int `json:"preferredPayloadType,omitempty"`
	ClockRate            int  `json:"clockRate"`
	// Channels is the number of audio channels; 0 means unset (1 for
	// audio after validation, absent for video).
	Channels     int            `json:"channels,omitempty"`
	Parameters   Parameters     `json:"parameters"`
	RtcpFeedback []RtcpFeedback `json:"rtcpFeedback,omitempty"`
}

// RtpHeaderExtensionDirection is the direction of an RTP header extension
// in capabilities.
type RtpHeaderExtensionDirection string

// Header extension directions.
const (
	DirectionSendRecv RtpHeaderExtensionDirection = "sendrecv"
	DirectionSendOnly RtpHeaderExtensionDirection = "sendonly"
	DirectionRecvOnly RtpHeaderExtensionDirection = "recvonly"
	DirectionInactive RtpHeaderExtensionDirection = "inactive"
)

// RtpHeaderExtensionURI is the URI naming an RTP header extension.
type RtpHeaderExtensionURI string

// Well-known RTP header extension URIs (the ones mediasoup supports).
const (
	ExtMid                   RtpHeaderExtensionURI = "urn:ietf:params:rtp-hdrext:sdes:mid"
	ExtRtpStreamID           RtpHeaderExtensionURI = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
	ExtRepairedRtpStreamID   RtpHeaderExtensionURI = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
	ExtFrameMarking07        RtpHeaderExtensionURI = "http://tools.ietf.org/html/draft-ietf-avtext-framemarking-07"
	ExtFrameMarking          RtpHeaderExtensionURI = "urn:ietf:params:rtp-hdrext:framemarking"
	ExtAudioLevel            RtpHeaderExtensionURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
	ExtVideoOrientation      RtpHeaderExtensionURI = "urn:3gpp:video-orientation"
	ExtTimeOffset            RtpHeaderExtensionURI = "urn:ietf:params:rtp-hdrext:toffset"
	ExtTransportWideCC01     RtpHeaderExtensionURI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
	ExtAbsSendTime           RtpHeaderExtensionURI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
	ExtAbsCaptureTime        RtpHeaderExtensionURI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time"
	ExtPlayoutDelay          RtpHeaderExtensionURI = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"
	ExtDependencyDescriptor  RtpHeaderExtensionURI = "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension"
	ExtVideoLayersAllocation RtpHeaderExtensionURI = "http://www.webrtc.org/experiments/rtp-hdrext/video-layers-allocation00"
)

// RtpHeaderExtension describes an RTP header extension an endpoint or
// router supports.
type RtpHeaderExtension struct {
	Kind             MediaKind                   `json:"kind"`
	URI              RtpHeaderExtensionURI       `json:"uri"`
	PreferredID      int                         `json:"preferredId"`
	PreferredEncrypt bool                        `json:"preferredEncrypt"`
	Direction        RtpHeaderExtensionDirection `json:"direction,omitempty"`
}

// RtpParameters describe what a producer sends or a consumer receives:
// codecs, header extensions, encodings and RTCP.
type RtpParameters struct {
	Mid              string                         `json:"mid,omitempty"`
	Codecs           []RtpCodecParameters           `json:"codecs"`
	HeaderExtensions []RtpHeaderExtensionParameters `json:"headerExtensions,omitempty"`
	Encodings        []RtpEncodingParameters        `json:"encodings,omitempty"`
	Rtcp             RtcpParameters                 `json:"rtcp,omitzero"`
	// Msid is the optional "stream-id track-id" pair (newer mediasoup).
	Msid string `json:"msid,omitempty"`
}

// RtpCodecParameters is one negotiated codec within RtpParameters.
type RtpCodecParameters struct {
	MimeType    string `json:"mimeType"`
	PayloadType int    `json:"payloadType"`
	ClockRate   int    `json:"clockRate"`
	// Channels is the number of audio channels; 0 means unset.
	Channels     int            `json:"channels,omitempty"`
	Parameters   Parameters     `json:"parameters"`
	RtcpFeedback []RtcpFeedback `json:"rtcpFeedback,omitempty"`
}

// RtcpFeedback is one RTCP feedback mechanism ("nack", "nack pli",
// "ccm fir", "goog-remb", "transport-cc").
type RtcpFeedback struct {
	Type      string `json:"type"`
	Parameter string `json:"parameter"`
}

// RtpHeaderExtensionParameters is one negotiated header extension within
// RtpParameters.
type RtpHeaderExtensionParameters struct {
	URI        RtpHeaderExtensionURI `json:"uri"`
	ID         int                   `json:"id"`
	Encrypt    bool                  `json:"encrypt"`
	Parameters Parameters            `json:"parameters"`
}

// RtpEncodingParameters describes one RTP stream (simulcast layer, SVC
// stream or plain stream) of RtpParameters.
type RtpEncodingParameters struct {
	SSRC uint32 `json:"ssrc,omitempty"`
	RID  string `json:"rid,omitempty"`
	// CodecPayloadType pins the encoding to one codec; nil means unset.
	CodecPayloadType      *int           `json:"codecPayloadType,omitempty"`
	RTX                   *RtxParameters `json:"rtx,omitempty"`
	DTX                   bool           `json:"dtx,omitempty"`
	ScalabilityMode       string         `json:"scalabilityMode,omitempty"`
	ScaleResolutionDownBy float64        `json:"scaleResolutionDownBy,omitempty"`
	MaxBitrate            int            `json:"maxBitrate,omitempty"`
}

// RtxParameters holds the SSRC of an encoding's RTX stream.
type RtxParameters struct {
	SSRC uint32 `json:"ssrc"`
}

// RtcpParameters are the RTCP settings of RtpParameters.
type RtcpParameters struct {
	CNAME string `json:"cname,omitempty"`
	// ReducedSize (RFC 5506) defaults to true when nil after validation.
	ReducedSize *bool `json:"reducedSize,omitempty"`
	// Mux (RTCP-mux) is kept for compatibility with older peers.
	Mux *bool `json:"mux,omitempty"`
}

// Parameters holds codec or header extension format parameters
// ("profile-level-id", "apt", "packetization-mode"...). Values are JSON
// strings or numbers; after json.Unmarshal numbers are float64, and Go
// callers may also store ints. Read them with the typed helpers.
type Parameters map[string]any

// MarshalJSON writes nil as {} so that "parameters" is always an object,
// as mediasoup sends it.
func (p Parameters) MarshalJSON() ([]byte, error) {
	if p == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(map[string]any(p))
}

// Has reports whether key is set.
func (p Parameters) Has(key string) bool {
	_, ok := p[key]
	return ok
}

// String returns the value of key if it is a string.
func (p Parameters) String(key string) (string, bool) {
	s, ok := p[key].(string)
	return s, ok
}

// Number returns the value of key if it is a number.
func (p Parameters) Number(key string) (float64, bool) {
	return toFloat(p[key])
}

// Int returns the value of key if it is a number with an integer value.
func (p Parameters) Int(key string) (int, bool) {
	f, ok := toFloat(p[key])
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int(f), true
}

// IntOr returns Int(key), or def when key is unset or not an integer.
func (p Parameters) IntOr(key string, def int) int {
	if v, ok := p.Int(key); ok {
		return v
	}
	return def
}

// Text returns the value of key as text: strings as they are, integers in
// decimal. SDP parsers turn numeric-looking values into numbers, so this
// is the right reader for values such as "profile-level-id".
func (p Parameters) Text(key string) (string, bool) {
	if s, ok := p.String(key); ok {
		return s, true
	}
	if n, ok := p.Int(key); ok {
		return strconv.Itoa(n), true
	}
	return "", false
}

// Clone returns a shallow copy of p (values are scalars). Nil stays nil.
func (p Parameters) Clone() Parameters {
	if p == nil {
		return nil
	}
	c := make(Parameters, len(p))
	for k, v := range p {
		c[k] = v
	}
	return c
}

// Equal reports whether a and b hold the same keys with equal values,
// comparing numbers by value whatever their Go type.
func (p Parameters) Equal(o Parameters) bool {
	if len(p) != len(o) {
		return false
	}
	for k, v := range p {
		w, ok := o[k]
		if !ok || !ValuesEqual(v, w) {
			return false
		}
	}
	return true
}

// ValuesEqual compares two parameter values: numbers by value, anything
// else with ==. Unknown non-comparable values are never equal.
func ValuesEqual(a, b any) bool {
	fa, aNum := toFloat(a)
	fb, bNum := toFloat(b)
	if aNum || bNum {
		return aNum && bNum && fa == fb
	}
	sa, aStr := a.(string)
	sb, bStr := b.(string)
	if aStr || bStr {
		return aStr && bStr && sa == sb
	}
	ba, aBool := a.(bool)
	bb, bBool := b.(bool)
	return aBool && bBool && ba == bb
}

// NumberValue returns v as a float64 if it is a number of any Go numeric
// type or a json.Number.
func NumberValue(v any) (float64, bool) { return toFloat(v) }

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int8:
		return float64(n), true
	case int16:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint8:
		return float64(n), true
	case uint16:
		return float64(n), true
	case uint32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// Clone returns a deep copy of c.
func (c RtpCapabilities) Clone() RtpCapabilities {
	out := RtpCapabilities{
		Codecs:           cloneSlice(c.Codecs, RtpCodecCapability.Clone),
		HeaderExtensions: cloneSlice(c.HeaderExtensions, func(e RtpHeaderExtension) RtpHeaderExtension { return e }),
	}
	return out
}

// Clone returns a deep copy of c.
func (c RtpCodecCapability) Clone() RtpCodecCapability {
	if c.PreferredPayloadType != nil {
		c.PreferredPayloadType = new(*c.PreferredPayloadType)
	}
	c.Parameters = c.Parameters.Clone()
	c.RtcpFeedback = cloneSlice(c.RtcpFeedback, func(f RtcpFeedback) RtcpFeedback { return f })
	return c
}

// Clone returns a deep copy of p.
func (p RtpParameters) Clone() RtpParameters {
	p.Codecs = cloneSlice(p.Codecs, RtpCodecParameters.Clone)
	p.HeaderExtensions = cloneSlice(p.HeaderExtensions, RtpHeaderExtensionParameters.Clone)
	p.Encodings = cloneSlice(p.Encodings, RtpEncodingParameters.Clone)
	p.Rtcp = p.Rtcp.Clone()
	return p
}

// Clone returns a deep copy of c.
func (c RtpCodecParameters) Clone() RtpCodecParameters {
	c.Parameters = c.Parameters.Clone()
	c.RtcpFeedback = cloneSlice(c.RtcpFeedback, func(f RtcpFeedback) RtcpFeedback { return f })
	return c
}

// Clone returns a deep copy of e.
func (e RtpHeaderExtensionParameters) Clone() RtpHeaderExtensionParameters {
	e.Parameters = e.Parameters.Clone()
	return e
}

// Clone returns a deep copy of e.
func (e RtpEncodingParameters) Clone() RtpEncodingParameters {
	if e.CodecPayloadType != nil {
		e.CodecPayloadType = new(*e.CodecPayloadType)
	}
	if e.RTX != nil {
		e.RTX = &RtxParameters{SSRC: e.RTX.SSRC}
	}
	return e
}

// Clone returns a deep copy of r.
func (r RtcpParameters) Clone() RtcpParameters {
	if r.ReducedSize != nil {
		r.ReducedSize = new(*r.ReducedSize)
	}
	if r.Mux != nil {
		r.Mux = new(*r.Mux)
	}
	return r
}

// cloneSlice copies s element by element with clone; nil stays nil.
func cloneSlice[T any](s []T, clone func(T) T) []T {
	if s == nil {
		return nil
	}
	out := make([]T, len(s))
	for i, v := range s {
		out[i] = clone(v)
	}
	return out
}
