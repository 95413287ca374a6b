package media

import "context"

// ProducerType is "simple", "simulcast", "svc" or "pipe".
type ProducerType string

// Producer types.
const (
	ProducerSimple    ProducerType = "simple"
	ProducerSimulcast ProducerType = "simulcast"
	ProducerSVC       ProducerType = "svc"
	ProducerPipe      ProducerType = "pipe"
)

// ProducerOptions configure Transport.Produce (mediasoup ProducerOptions).
type ProducerOptions struct {
	// ID is the producer id; default a new UUID. Pipe transports use the
	// piped producer's id.
	ID string `json:"id,omitempty"`
	// Kind is required.
	Kind MediaKind `json:"kind"`
	// RtpParameters are what the endpoint sends; required.
	RtpParameters RtpParameters `json:"rtpParameters"`
	// Paused starts the producer paused; default false.
	Paused bool `json:"paused,omitempty"`
	// KeyFrameRequestDelay in ms between key frame requests; default 0.
	KeyFrameRequestDelay int `json:"keyFrameRequestDelay,omitempty"`
	// AppData defaults to an empty map.
	AppData AppData `json:"appData,omitempty"`
}

// ProducerScore is the score of one of the producer's RTP streams.
type ProducerScore struct {
	EncodingIdx int    `json:"encodingIdx"`
	SSRC        uint32 `json:"ssrc"`
	RID         string `json:"rid,omitempty"`
	// Score is 0..10.
	Score int `json:"score"`
}

// ProducerVideoOrientation is a "videoorientationchange" event.
type ProducerVideoOrientation struct {
	Camera   bool `json:"camera"`
	Flip     bool `json:"flip"`
	Rotation int  `json:"rotation"`
}

// ProducerTraceEventType selects producer trace events ("rtp",
// "keyframe", "nack", "pli", "fir", "sr").
type ProducerTraceEventType string

// ProducerTraceEventData is a producer or consumer "trace" event.
type ProducerTraceEventData struct {
	Type      ProducerTraceEventType `json:"type"`
	Timestamp int64                  `json:"timestamp"`
	Direction string                 `json:"direction"`
	Info      any                    `json:"info"`
}

// RtpPacketTraceInfo is the info of an "rtp" or "keyframe" trace event:
// mediasoup's RtpPacket dump plus isRtx.
type RtpPacketTraceInfo struct {
	PayloadType    uint8  `json:"payloadType"`
	SequenceNumber uint16 `json:"sequenceNumber"`
	Timestamp      uint32 `json:"timestamp"`
	Marker         bool   `json:"marker"`
	SSRC           uint32 `json:"ssrc"`
	IsKeyFrame     bool   `json:"isKeyFrame"`
	Size           int    `json:"size"`
	PayloadSize    int    `json:"payloadSize"`
	IsRtx          bool   `json:"isRtx"`
}

// SsrcTraceInfo is the info of a "pli" or "fir" trace event.
type SsrcTraceInfo struct {
	SSRC uint32 `json:"ssrc"`
}

// SrTraceInfo is the info of a producer's "sr" trace event: the RTCP
// sender report one of its streams received (mediasoup's SrTraceInfo).
type SrTraceInfo struct {
	SSRC         uint32 `json:"ssrc"`
	NTPSec       uint32 `json:"ntpSec"`
	NTPFrac      uint32 `json:"ntpFrac"`
	RTPTimestamp uint32 `json:"rtpTs"`
	PacketCount  uint32 `json:"packetCount"`
	OctetCount   uint32 `json:"octetCount"`
}

// Producer is a media source entering a router.
type Producer interface {
	ID() string
	Kind() MediaKind
	RtpParameters() RtpParameters
	Type() ProducerType
	// ConsumableRtpParameters are the parameters consumers derive theirs
	// from (router payload types, new SSRCs).
	ConsumableRtpParameters() RtpParameters
	Paused() bool
	Score() []ProducerScore
	Closed() bool
	AppData() AppData
	SetAppData(AppData)

	Close(ctx context.Context) error
	Dump(ctx context.Context) (*ProducerDump, error)
	GetStats(ctx context.Context) ([]RtpStreamStats, error)
	Pause(ctx context.Context) error
	Resume(ctx context.Context) error
	EnableTraceEvent(ctx context.Context, types []ProducerTraceEventType) error
	// Send injects an RTP packet; only for producers of a DirectTransport.
	// It does not block and does not keep packet.
	Send(packet []byte) error

	// OnClose (observer "close").
	OnClose(func()) (off func())
	// OnTransportClose ("transportclose").
	OnTransportClose(func()) (off func())
	// OnPause and OnResume (observer "pause", "resume").
	OnPause(func()) (off func())
	OnResume(func()) (off func())
	// OnScore ("score").
	OnScore(func([]ProducerScore)) (off func())
	// OnVideoOrientationChange ("videoorientationchange").
	OnVideoOrientationChange(func(ProducerVideoOrientation)) (off func())
	// OnTrace ("trace").
	OnTrace(func(ProducerTraceEventData)) (off func())
}

// RtpStreamStats is one RTP stream's statistics: "inbound-rtp" for a
// producer stream, "outbound-rtp" for a consumer stream (mediasoup
// RtpStreamRecvStats / RtpStreamSendStats).
type RtpStreamStats struct {
	Type                 string         `json:"type"`
	Timestamp            int64          `json:"timestamp"`
	SSRC                 uint32         `json:"ssrc"`
	RtxSSRC              uint32         `json:"rtxSsrc,omitempty"`
	RID                  string         `json:"rid,omitempty"`
	Kind                 MediaKind      `json:"kind"`
	MimeType             string         `json:"mimeType"`
	PacketsLost          int64          `json:"packetsLost"`
	FractionLost         int            `json:"fractionLost"`
	PacketsDiscarded     uint64         `json:"packetsDiscarded"`
	PacketsRetransmitted uint64         `json:"packetsRetransmitted"`
	PacketsRepaired      uint64         `json:"packetsRepaired"`
	NackCount            uint64         `json:"nackCount"`
	NackPacketCount      uint64         `json:"nackPacketCount"`
	PliCount             uint64         `json:"pliCount"`
	FirCount             uint64         `json:"firCount"`
	Score                int            `json:"score"`
	PacketCount          uint64         `json:"packetCount"`
	ByteCount            uint64         `json:"byteCount"`
	Bitrate              uint64         `json:"bitrate"`
	RoundTripTime        *float64       `json:"roundTripTime,omitempty"`
	RtxPacketsDiscarded  uint64         `json:"rtxPacketsDiscarded,omitempty"`
	Jitter               *uint32        `json:"jitter,omitempty"`
	BitrateByLayer       map[string]int `json:"bitrateByLayer,omitempty"`
	// KeyFrames counts the key frames the stream received (inbound) or
	// sent (outbound), for video codecs whose key frames the SFU
	// recognises (VP8, VP9, H264); not in mediasoup's stats.
	KeyFrames uint64 `json:"keyFrames,omitempty"`
}

// ProducerDump is Producer.Dump's result.
type ProducerDump struct {
	ID              string          `json:"id"`
	Kind            MediaKind       `json:"kind"`
	Type            ProducerType    `json:"type"`
	RtpParameters   RtpParameters   `json:"rtpParameters"`
	RtpMapping      RtpMapping      `json:"rtpMapping"`
	RtpStreams      []RtpStreamDump `json:"rtpStreams"`
	TraceEventTypes []string        `json:"traceEventTypes"`
	Paused          bool            `json:"paused"`
}

// RtpMapping maps a producer's payload types and SSRCs to the router's.
type RtpMapping struct {
	Codecs    []RtpMappingCodec    `json:"codecs"`
	Encodings []RtpMappingEncoding `json:"encodings"`
}

// RtpMappingCodec maps one payload type.
type RtpMappingCodec struct {
	PayloadType       int `json:"payloadType"`
	MappedPayloadType int `json:"mappedPayloadType"`
}

// RtpMappingEncoding maps one encoding to its consumable SSRC.
type RtpMappingEncoding struct {
	SSRC            uint32 `json:"ssrc,omitempty"`
	RID             string `json:"rid,omitempty"`
	ScalabilityMode string `json:"scalabilityMode,omitempty"`
	MappedSSRC      uint32 `json:"mappedSsrc"`
}

// RtpStreamDump describes one RTP stream inside a dump.
type RtpStreamDump struct {
	Params RtpStreamParams `json:"params"`
	Score  int             `json:"score"`
}

// RtpStreamParams are an RTP stream's parameters.
type RtpStreamParams struct {
	EncodingIdx    int    `json:"encodingIdx"`
	SSRC           uint32 `json:"ssrc"`
	PayloadType    int    `json:"payloadType"`
	MimeType       string `json:"mimeType"`
	ClockRate      int    `json:"clockRate"`
	RID            string `json:"rid,omitempty"`
	CNAME          string `json:"cname"`
	RtxSSRC        uint32 `json:"rtxSsrc,omitempty"`
	RtxPayloadType int    `json:"rtxPayloadType,omitempty"`
	UseNack        bool   `json:"useNack"`
	UsePli         bool   `json:"usePli"`
	UseFir         bool   `json:"useFir"`
	UseInBandFec   bool   `json:"useInBandFec"`
	UseDtx         bool   `json:"useDtx"`
	SpatialLayers  int    `json:"spatialLayers"`
	TemporalLayers int    `json:"temporalLayers"`
}
