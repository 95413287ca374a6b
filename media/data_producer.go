package media

import "context"

// DataType is "sctp" (SCTP transports) or "direct" (DirectTransport).
type DataType string

// Data producer and consumer types.
const (
	DataSCTP   DataType = "sctp"
	DataDirect DataType = "direct"
)

// Payload protocol identifiers of data messages (WebRTC data channels).
const (
	PPIDString      = 51
	PPIDBinary      = 53
	PPIDStringEmpty = 56
	PPIDBinaryEmpty = 57
)

// DataProducerOptions configure Transport.ProduceData.
type DataProducerOptions struct {
	// ID defaults to a new UUID (pipe transports: the piped id).
	ID string `json:"id,omitempty"`
	// SctpStreamParameters are required on SCTP transports and ignored on
	// a DirectTransport.
	SctpStreamParameters *SctpStreamParameters `json:"sctpStreamParameters,omitempty"`
	// Label and Protocol default to "".
	Label    string `json:"label,omitempty"`
	Protocol string `json:"protocol,omitempty"`
	// Paused defaults to false.
	Paused bool `json:"paused,omitempty"`
	// AppData defaults to an empty map.
	AppData AppData `json:"appData,omitempty"`
}

// DataSendOptions qualify one message sent with DataProducer.Send.
type DataSendOptions struct {
	// PPID defaults to PPIDBinary (PPIDBinaryEmpty for an empty message).
	PPID int
	// Subchannels: only data consumers subscribed to one of them receive
	// the message; default all.
	Subchannels []uint16
	// RequiredSubchannel: only data consumers subscribed to it receive
	// the message; default none.
	RequiredSubchannel *uint16
}

// DataProducer is a data message source entering a router.
type DataProducer interface {
	ID() string
	Type() DataType
	SctpStreamParameters() *SctpStreamParameters
	Label() string
	Protocol() string
	Paused() bool
	Closed() bool
	AppData() AppData
	SetAppData(AppData)

	Close(ctx context.Context) error
	Dump(ctx context.Context) (*DataProducerDump, error)
	GetStats(ctx context.Context) ([]DataProducerStats, error)
	Pause(ctx context.Context) error
	Resume(ctx context.Context) error
	// Send injects a message; only on a DirectTransport. It does not
	// block and does not keep message.
	Send(message []byte, options *DataSendOptions) error

	OnClose(func()) (off func())
	OnTransportClose(func()) (off func())
	OnPause(func()) (off func())
	OnResume(func()) (off func())
}

// DataProducerDump is DataProducer.Dump's result.
type DataProducerDump struct {
	ID                   string                `json:"id"`
	Type                 DataType              `json:"type"`
	SctpStreamParameters *SctpStreamParameters `json:"sctpStreamParameters,omitempty"`
	Label                string                `json:"label"`
	Protocol             string                `json:"protocol"`
	Paused               bool                  `json:"paused"`
}

// DataProducerStats are a data producer's statistics.
type DataProducerStats struct {
	Type             string `json:"type"` // "data-producer"
	Timestamp        int64  `json:"timestamp"`
	Label            string `json:"label"`
	Protocol         string `json:"protocol"`
	MessagesReceived uint64 `json:"messagesReceived"`
	BytesReceived    uint64 `json:"bytesReceived"`
}
