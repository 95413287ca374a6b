package media

import "context"

// ConsumerType is "simple", "simulcast", "svc" or "pipe".
type ConsumerType string

// Consumer types.
const (
	ConsumerSimple    ConsumerType = "simple"
	ConsumerSimulcast ConsumerType = "simulcast"
	ConsumerSVC       ConsumerType = "svc"
	ConsumerPipe      ConsumerType = "pipe"
)

// ConsumerLayers are spatial and temporal layers.
type ConsumerLayers struct {
	SpatialLayer  int  `json:"spatialLayer"`
	TemporalLayer *int `json:"temporalLayer,omitempty"`
}

// ConsumerOptions configure Transport.Consume (mediasoup ConsumerOptions).
type ConsumerOptions struct {
	// ProducerID is required.
	ProducerID string `json:"producerId"`
	// RtpCapabilities of the consuming endpoint; required except on pipe
	// transports.
	RtpCapabilities *RtpCapabilities `json:"rtpCapabilities,omitempty"`
	// Paused starts the consumer paused; default false.
	Paused bool `json:"paused,omitempty"`
	// Mid for the consumer's RTP parameters; default a counter per
	// transport ("0", "1", ...), as mediasoup; pipe consumers have none.
	// When the consumer's rtpParameters include the MID header extension,
	// every packet it sends carries the mid in it.
	Mid string `json:"mid,omitempty"`
	// PreferredLayers default to the highest.
	PreferredLayers *ConsumerLayers `json:"preferredLayers,omitempty"`
	// EnableRtx defaults to true for video when the endpoint supports it.
	EnableRtx *bool `json:"enableRtx,omitempty"`
	// IgnoreDtx defaults to false.
	IgnoreDtx bool `json:"ignoreDtx,omitempty"`
	// Pipe consumes all the producer's streams (for a plain transport
	// acting as a pipe); default false.
	Pipe bool `json:"pipe,omitempty"`
	// AppData defaults to an empty map.
	AppData AppData `json:"appData,omitempty"`
}

// ConsumerScore is a consumer's "score".
type ConsumerScore struct {
	// Score of the sending stream, 0..10.
	Score int `json:"score"`
	// ProducerScore of the stream being forwarded.
	ProducerScore int `json:"producerScore"`
	// ProducerScores of every producer stream.
	ProducerScores []int `json:"producerScores"`
}

// Consumer forwards one producer's media to its transport's endpoint.
type Consumer interface {
	ID() string
	ProducerID() string
	Kind() MediaKind
	RtpParameters() RtpParameters
	Type() ConsumerType
	Paused() bool
	ProducerPaused() bool
	Priority() int
	Score() ConsumerScore
	PreferredLayers() *ConsumerLayers
	CurrentLayers() *ConsumerLayers
	Closed() bool
	AppData() AppData
	SetAppData(AppData)

	Close(ctx context.Context) error
	Dump(ctx context.Context) (*ConsumerDump, error)
	// GetStats returns the consumer's "outbound-rtp" stats followed by
	// the producer stream's "inbound-rtp" stats.
	GetStats(ctx context.Context) ([]RtpStreamStats, error)
	Pause(ctx context.Context) error
	Resume(ctx context.Context) error
	SetPreferredLayers(ctx context.Context, layers ConsumerLayers) error
	SetPriority(ctx context.Context, priority int) error
	UnsetPriority(ctx context.Context) error
	RequestKeyFrame(ctx context.Context) error
	EnableTraceEvent(ctx context.Context, types []ProducerTraceEventType) error

	// OnClose (observer "close").
	OnClose(func()) (off func())
	// OnTransportClose ("transportclose").
	OnTransportClose(func()) (off func())
	// OnProducerClose ("producerclose"): the consumer closed because its
	// producer closed.
	OnProducerClose(func()) (off func())
	// OnProducerPause and OnProducerResume ("producerpause", ...).
	OnProducerPause(func()) (off func())
	OnProducerResume(func()) (off func())
	// OnPause and OnResume (observer "pause", "resume").
	OnPause(func()) (off func())
	OnResume(func()) (off func())
	// OnScore ("score").
	OnScore(func(ConsumerScore)) (off func())
	// OnLayersChange ("layerschange"); nil layers means none.
	OnLayersChange(func(*ConsumerLayers)) (off func())
	// OnTrace ("trace").
	OnTrace(func(ProducerTraceEventData)) (off func())
	// OnRtp ("rtp") receives the consumer's RTP on a DirectTransport; the
	// slice is valid during the call only.
	OnRtp(func(packet []byte)) (off func())
}

// ConsumerDump is Consumer.Dump's result.
type ConsumerDump struct {
	ID                         string                  `json:"id"`
	ProducerID                 string                  `json:"producerId"`
	Kind                       MediaKind               `json:"kind"`
	Type                       ConsumerType            `json:"type"`
	RtpParameters              RtpParameters           `json:"rtpParameters"`
	ConsumableRtpEncodings     []RtpEncodingParameters `json:"consumableRtpEncodings"`
	SupportedCodecPayloadTypes []int                   `json:"supportedCodecPayloadTypes"`
	TraceEventTypes            []string                `json:"traceEventTypes"`
	Paused                     bool                    `json:"paused"`
	ProducerPaused             bool                    `json:"producerPaused"`
	Priority                   int                     `json:"priority"`
	RtpStreams                 []RtpStreamDump         `json:"rtpStreams"`
	// RtpStream is the consumer's stream (RtpStreams[0]) of a simple,
	// simulcast or SVC consumer, as mediasoup's dump of those has it;
	// nil for pipe consumers.
	RtpStream *RtpStreamDump `json:"rtpStream,omitempty"`
	// The layers of a simulcast or SVC consumer (nil for others), as
	// mediasoup's dump: the preferred ones (setPreferredLayers), the
	// target ones (what the consumer switches to: the preferred ones,
	// or the bitrate distribution's), and the current ones (forwarded);
	// -1 when there is none.
	PreferredSpatialLayer  *int `json:"preferredSpatialLayer,omitempty"`
	TargetSpatialLayer     *int `json:"targetSpatialLayer,omitempty"`
	CurrentSpatialLayer    *int `json:"currentSpatialLayer,omitempty"`
	PreferredTemporalLayer *int `json:"preferredTemporalLayer,omitempty"`
	TargetTemporalLayer    *int `json:"targetTemporalLayer,omitempty"`
	CurrentTemporalLayer   *int `json:"currentTemporalLayer,omitempty"`
}
