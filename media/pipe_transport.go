package media

import "context"

// PipeTransportOptions configure Router.CreatePipeTransport.
type PipeTransportOptions struct {
	// ListenInfo is required.
	ListenInfo *TransportListenInfo `json:"listenInfo"`
	// EnableSctp defaults to false.
	EnableSctp bool `json:"enableSctp,omitempty"`
	// NumSctpStreams defaults to {OS: 1024, MIS: 1024}.
	NumSctpStreams *NumSctpStreams `json:"numSctpStreams,omitempty"`
	// MaxSctpMessageSize defaults to 268435456.
	MaxSctpMessageSize int `json:"maxSctpMessageSize,omitempty"`
	// SctpSendBufferSize defaults to 268435456.
	SctpSendBufferSize int `json:"sctpSendBufferSize,omitempty"`
	// EnableRtx enables RTX and NACK for RTP; default false.
	EnableRtx bool `json:"enableRtx,omitempty"`
	// EnableSrtp defaults to false (AES_CM_128_HMAC_SHA1_80 when on).
	EnableSrtp bool `json:"enableSrtp,omitempty"`
	// AppData defaults to an empty map.
	AppData AppData `json:"appData,omitempty"`
}

// PipeTransportConnectOptions give a pipe transport its remote side.
type PipeTransportConnectOptions struct {
	IP   string `json:"ip"`
	Port uint16 `json:"port"`
	// SrtpParameters are required when SRTP is enabled.
	SrtpParameters *SrtpParameters `json:"srtpParameters,omitempty"`
}

// PipeTransport connects two routers, in one process or across hosts.
// Producers piped through it keep their ids.
type PipeTransport interface {
	Transport
	Tuple() TransportTuple
	SctpParameters() *SctpParameters
	SctpState() SctpState
	SrtpParameters() *SrtpParameters

	Connect(ctx context.Context, options *PipeTransportConnectOptions) error

	// OnSctpStateChange ("sctpstatechange").
	OnSctpStateChange(func(SctpState)) (off func())
}
