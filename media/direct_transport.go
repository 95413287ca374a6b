package media

// DirectTransportOptions configure Router.CreateDirectTransport.
type DirectTransportOptions struct {
	// MaxMessageSize of data messages; default 262144.
	MaxMessageSize int `json:"maxMessageSize,omitempty"`
	// AppData defaults to an empty map.
	AppData AppData `json:"appData,omitempty"`
}

// DirectTransport lets the application itself send and receive media:
// RTP through Producer.Send and Consumer.OnRtp, data messages through
// DataProducer.Send and DataConsumer.OnMessage, RTCP through SendRtcp and
// OnRtcp.
type DirectTransport interface {
	Transport
	// SendRtcp hands an RTCP (compound) packet to the transport as if
	// received from the remote side. It does not block.
	SendRtcp(packet []byte) error
	// OnRtcp ("rtcp") receives the RTCP the transport would send; the
	// slice is valid during the call only.
	OnRtcp(func(packet []byte)) (off func())
}
