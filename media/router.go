package media

import "context"

// RouterOptions configure a new router.
type RouterOptions struct {
	// MediaCodecs are the codecs the router supports; payload types and
	// RTX codecs are assigned by the router. Required for RTP media.
	MediaCodecs []RtpCodecCapability `json:"mediaCodecs,omitempty"`
	// AppData defaults to an empty map.
	AppData AppData `json:"appData,omitempty"`
}

// Router routes media between the transports it owns.
type Router interface {
	ID() string
	Closed() bool
	// RtpCapabilities are the router's capabilities, to be given to
	// endpoints (mediasoup-client Device.load).
	RtpCapabilities() RtpCapabilities
	AppData() AppData
	SetAppData(AppData)

	// Close closes every transport and observer and the router.
	Close(ctx context.Context) error
	Dump(ctx context.Context) (*RouterDump, error)

	CreateWebRtcTransport(ctx context.Context, options *WebRtcTransportOptions) (WebRtcTransport, error)
	CreatePlainTransport(ctx context.Context, options *PlainTransportOptions) (PlainTransport, error)
	CreatePipeTransport(ctx context.Context, options *PipeTransportOptions) (PipeTransport, error)
	CreateDirectTransport(ctx context.Context, options *DirectTransportOptions) (DirectTransport, error)
	CreateActiveSpeakerObserver(ctx context.Context, options *ActiveSpeakerObserverOptions) (ActiveSpeakerObserver, error)
	CreateAudioLevelObserver(ctx context.Context, options *AudioLevelObserverOptions) (AudioLevelObserver, error)

	// PipeToRouter makes a producer or data producer of this router
	// available in another router (same or other worker) through a pair
	// of pipe transports, keeping the producer's id.
	PipeToRouter(ctx context.Context, options *PipeToRouterOptions) (*PipeToRouterResult, error)

	// CanConsume reports whether an endpoint with rtpCapabilities can
	// consume the producer.
	CanConsume(producerID string, rtpCapabilities *RtpCapabilities) bool

	// OnClose (observer "close") fires once the router has closed.
	OnClose(func()) (off func())
	// OnWorkerClose ("workerclose") fires when the router closed because
	// its worker closed.
	OnWorkerClose(func()) (off func())
	// OnNewTransport (observer "newtransport").
	OnNewTransport(func(Transport)) (off func())
	// OnNewRtpObserver (observer "newrtpobserver").
	OnNewRtpObserver(func(RtpObserver)) (off func())
}

// PipeToRouterOptions configure Router.PipeToRouter. Exactly one of
// ProducerID and DataProducerID is set.
type PipeToRouterOptions struct {
	ProducerID     string `json:"producerId,omitempty"`
	DataProducerID string `json:"dataProducerId,omitempty"`
	// Router is the destination router.
	Router Router `json:"-"`
	// ListenInfo of both pipe transports; default UDP on 127.0.0.1.
	ListenInfo *TransportListenInfo `json:"listenInfo,omitempty"`
	// EnableSctp defaults to true.
	EnableSctp *bool `json:"enableSctp,omitempty"`
	// NumSctpStreams defaults to {OS: 1024, MIS: 1024}.
	NumSctpStreams *NumSctpStreams `json:"numSctpStreams,omitempty"`
	// EnableRtx defaults to false.
	EnableRtx bool `json:"enableRtx,omitempty"`
	// EnableSrtp defaults to false.
	EnableSrtp bool `json:"enableSrtp,omitempty"`
}

// PipeToRouterResult holds the objects PipeToRouter created: for a
// producer, a pipe consumer in this router and a pipe producer (same id)
// in the destination router; for a data producer, their data variants.
type PipeToRouterResult struct {
	PipeConsumer     Consumer
	PipeProducer     Producer
	PipeDataConsumer DataConsumer
	PipeDataProducer DataProducer
}

// RouterDump is Router.Dump's result.
type RouterDump struct {
	ID                               string      `json:"id"`
	TransportIDs                     []string    `json:"transportIds"`
	RtpObserverIDs                   []string    `json:"rtpObserverIds"`
	MapProducerIDConsumerIDs         []KeyValues `json:"mapProducerIdConsumerIds"`
	MapConsumerIDProducerID          []KeyValue  `json:"mapConsumerIdProducerId"`
	MapProducerIDObserverIDs         []KeyValues `json:"mapProducerIdObserverIds"`
	MapDataProducerIDDataConsumerIDs []KeyValues `json:"mapDataProducerIdDataConsumerIds"`
	MapDataConsumerIDDataProducerID  []KeyValue  `json:"mapDataConsumerIdDataProducerId"`
}
