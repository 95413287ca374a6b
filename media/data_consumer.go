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
	// Send sends a message from the server to the data consumer's
	// endpoint (mediasoup DataConsumer.send): on its SCTP stream, or, on
	// a DirectTransport, to its OnMessage listeners. ppid 0 means
	// PPIDBinary (PPIDBinaryEmpty for an empty message); PPIDStringEmpty
	// and PPIDBinaryEmpty send an empty message (one byte on SCTP, as
	// WebRTC does). Subchannels do not filter it. It fails with a
	// ParamError beyond the transport's maxMessageSize, with
	// ErrInvalidState while the consumer or its data producer is paused
	// or SCTP is not connected, and with ErrSctpSendBufferFull (after
	// "sctpsendbufferfull") when the association's send buffer cannot
	// take it. It does not keep message.
	Send(ctx context.Context, message []byte, ppid int) error
	// SetBufferedAmountLowThreshold sets the level at or below which
	// "bufferedamountlow" fires: at once if the buffered amount is
	// already there, else when it falls to it.
	SetBufferedAmountLowThreshold(ctx context.Context, threshold int) error
	// GetBufferedAmount is the bytes the consumer's SCTP stream holds
	// unsent or unacknowledged (mediasoup reports the association's,
	// the same when the transport has one data consumer); always 0 on a
	// DirectTransport, which delivers at once.
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
	// OnSctpSendBufferFull ("sctpsendbufferfull") fires when a message
	// is dropped because the SCTP send buffer is full.
	OnSctpSendBufferFull(func()) (off func())
	// OnBufferedAmountLow ("bufferedamountlow") fires when the buffered
	// amount falls to the threshold or below (see
	// SetBufferedAmountLowThreshold; default 0: when the stream drains).
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
