package media

import "context"

// PlainTransportOptions configure Router.CreatePlainTransport.
type PlainTransportOptions struct {
	// ListenInfo is required.
	ListenInfo *TransportListenInfo `json:"listenInfo"`
	// RtcpListenInfo is used when RtcpMux is false; default ListenInfo's
	// IP with another port.
	RtcpListenInfo *TransportListenInfo `json:"rtcpListenInfo,omitempty"`
	// RtcpMux multiplexes RTP and RTCP on one port; default true.
	RtcpMux *bool `json:"rtcpMux,omitempty"`
	// Comedia learns the remote address from the first packet received;
	// default false.
	Comedia bool `json:"comedia,omitempty"`
	// EnableSctp defaults to false.
	EnableSctp bool `json:"enableSctp,omitempty"`
	// NumSctpStreams defaults to {OS: 1024, MIS: 1024}.
	NumSctpStreams *NumSctpStreams `json:"numSctpStreams,omitempty"`
	// MaxSctpMessageSize defaults to 262144.
	MaxSctpMessageSize int `json:"maxSctpMessageSize,omitempty"`
	// SctpSendBufferSize defaults to 262144.
	SctpSendBufferSize int `json:"sctpSendBufferSize,omitempty"`
	// EnableSrtp defaults to false.
	EnableSrtp bool `json:"enableSrtp,omitempty"`
	// SrtpCryptoSuite defaults to AES_CM_128_HMAC_SHA1_80.
	SrtpCryptoSuite SrtpCryptoSuite `json:"srtpCryptoSuite,omitempty"`
	// AppData defaults to an empty map.
	AppData AppData `json:"appData,omitempty"`
}

// PlainTransportConnectOptions give a plain transport its remote side.
type PlainTransportConnectOptions struct {
	// IP and Port are required unless comedia is on.
	IP   string `json:"ip,omitempty"`
	Port uint16 `json:"port,omitempty"`
	// RtcpPort is required when rtcpMux is off (and comedia off).
	RtcpPort uint16 `json:"rtcpPort,omitempty"`
	// SrtpParameters are required when SRTP is enabled.
	SrtpParameters *SrtpParameters `json:"srtpParameters,omitempty"`
}

// PlainTransport carries RTP and RTCP over plain UDP, optionally SRTP.
type PlainTransport interface {
	Transport
	Tuple() TransportTuple
	// RtcpTuple is nil with rtcpMux.
	RtcpTuple() *TransportTuple
	SctpParameters() *SctpParameters
	SctpState() SctpState
	// SrtpParameters are the local SRTP parameters (nil without SRTP).
	SrtpParameters() *SrtpParameters

	Connect(ctx context.Context, options *PlainTransportConnectOptions) error

	// OnTuple ("tuple") fires when comedia learns the remote RTP address.
	OnTuple(func(TransportTuple)) (off func())
	// OnRtcpTuple ("rtcptuple") likewise for RTCP without rtcpMux.
	OnRtcpTuple(func(TransportTuple)) (off func())
	// OnSctpStateChange ("sctpstatechange").
	OnSctpStateChange(func(SctpState)) (off func())
}
