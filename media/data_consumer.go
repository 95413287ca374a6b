package media

import "context"

// DataConsumerOptions configure Transport.ConsumeData.
type DataConsumerOptions struct {
	// DataProducerID is required.
	DataProducerID string `json:"dataProducerId"`
	// Ordered, MaxPacketLifeTime and MaxRetransmits default to the data
	// producer's (SCTP transports only).
	Ordered           *bool `json:"ordered,omitempty"`
	MaxPacketLifeTime *int  `json:"maxPacketLifeTime,omitempty"`
	MaxRetransmits    *int  `json:"maxRetransmits,omitempty"`
	// Paused defaults to false.
	Paused bool `json:"paused,omitempty"`
	// Subchannels the consumer subscribes to; default none.
	Subchannels []uint16 `json:"subchannels,omitempty"`
	// AppData defaults to an empty map.
	AppData AppData `json:"appData,omitempty"`
}

// DataConsumer forwards a data producer's messages to its transport.
type DataConsumer interface {
	ID() string
	DataProducerID() string
	Type() DataType
	SctpStreamParameters() *SctpStreamParameters
	Label() string
	Protocol() string
	Paused() bool
	DataProducerPaused() bool
	Subchannels() []uint16
	Closed() bool
	AppData() AppData
	SetAppData(AppData)

	Close(ctx context.Context) error
	Dump(ctx context.Context) (*DataConsumerDump, error)
	GetStats(ctx context.Context) ([]DataConsumerStats, error)
	Pause(ctx context.Context) error
	Resume(ctx context.Context) error
	SetBufferedAmountLowThreshold(ctx context.Context, threshold int) error
	GetBufferedAmount(ctx context.Context) (int, error)
	SetSubchannels(ctx context.Context, subchannels []uint16) error
	AddSubchannel(ctx context.Context, subchannel uint16) error
	RemoveSubchannel(ctx context.Context, subchannel uint16) error

	OnClose(func()) (off func())
	OnTransportClose(func()) (off func())
	OnDataProducerClose(func()) (off func())
	OnDataProducerPause(func()) (off func())
	OnDataProducerResume(func()) (off func())
	OnPause(func()) (off func())
	OnResume(func()) (off func())
	// OnMessage ("message") receives messages on a DirectTransport; the
	// slice is valid during the call only.
	OnMessage(func(message []byte, ppid int)) (off func())
	OnSctpSendBufferFull(func()) (off func())
	OnBufferedAmountLow(func(bufferedAmount int)) (off func())
}

// DataConsumerDump is DataConsumer.Dump's result.
type DataConsumerDump struct {
	ID                         string                `json:"id"`
	DataProducerID             string                `json:"dataProducerId"`
	Type                       DataType              `json:"type"`
	SctpStreamParameters       *SctpStreamParameters `json:"sctpStreamParameters,omitempty"`
	Label                      string                `json:"label"`
	Protocol                   string                `json:"protocol"`
	BufferedAmountLowThreshold int                   `json:"bufferedAmountLowThreshold"`
	Paused                     bool                  `json:"paused"`
	DataProducerPaused         bool                  `json:"dataProducerPaused"`
	Subchannels                []uint16              `json:"subchannels"`
}

// DataConsumerStats are a data consumer's statistics.
type DataConsumerStats struct {
	Type           string `json:"type"` // "data-consumer"
	Timestamp      int64  `json:"timestamp"`
	Label          string `json:"label"`
	Protocol       string `json:"protocol"`
	MessagesSent   uint64 `json:"messagesSent"`
	BytesSent      uint64 `json:"bytesSent"`
	BufferedAmount int    `json:"bufferedAmount"`
}
