package media

import "context"

// TransportProtocol is "udp" or "tcp".
type TransportProtocol string

// Transport protocols.
const (
	ProtocolUDP TransportProtocol = "udp"
	ProtocolTCP TransportProtocol = "tcp"
)

// PortRange is an inclusive port range.
type PortRange struct {
	Min uint16 `json:"min"`
	Max uint16 `json:"max"`
}

// TransportListenInfo says where a transport listens (mediasoup
// TransportListenInfo).
type TransportListenInfo struct {
	// Protocol defaults to "udp".
	Protocol TransportProtocol `json:"protocol,omitempty"`
	// IP is the listening IP (required; "0.0.0.0" or "::" for all).
	IP string `json:"ip"`
	// AnnouncedAddress is the address announced to the remote side
	// (IP or hostname); default AnnouncedIP, else IP.
	AnnouncedAddress string `json:"announcedAddress,omitempty"`
	// AnnouncedIP is mediasoup's deprecated name of AnnouncedAddress,
	// used when AnnouncedAddress is empty.
	AnnouncedIP string `json:"announcedIp,omitempty"`
	// Port is the listening port; default 0: a port from PortRange or the
	// worker's range.
	Port uint16 `json:"port,omitempty"`
	// PortRange, when both its bounds are set, is where the port is
	// chosen, and Port is ignored (as mediasoup); default the worker's
	// range when Port is 0.
	PortRange *PortRange `json:"portRange,omitempty"`
	// Flags are socket flags; default none.
	Flags *TransportSocketFlags `json:"flags,omitempty"`
	// SendBufferSize and RecvBufferSize set the socket buffers in bytes
	// (the kernel caps them at net.core.wmem_max and rmem_max); default
	// the implementation's (4 MiB for plain and pipe transports).
	SendBufferSize int `json:"sendBufferSize,omitempty"`
	RecvBufferSize int `json:"recvBufferSize,omitempty"`
}

// TransportSocketFlags are a listen info's socket flags (mediasoup
// TransportSocketFlags).
type TransportSocketFlags struct {
	// IPv6Only disables dual-stack on an IPv6 ip: "::" then receives no
	// IPv4 (IPV6_V6ONLY). Default false: an IPv6 socket is dual-stack.
	IPv6Only bool `json:"ipv6Only,omitempty"`
	// UDPReusePort lets transports that all set it bind the same UDP ip
	// and port (SO_REUSEPORT; for multicast with plain transports; use
	// with caution). Ignored for TCP. Default false.
	UDPReusePort bool `json:"udpReusePort,omitempty"`
}

// Announced is the address announced for li: AnnouncedAddress, else
// the deprecated AnnouncedIP, else "" (the listening IP is announced).
func (li *TransportListenInfo) Announced() string {
	if li.AnnouncedAddress != "" {
		return li.AnnouncedAddress
	}
	return li.AnnouncedIP
}

// TransportTuple is a transport's 5-tuple.
type TransportTuple struct {
	LocalAddress string            `json:"localAddress"`
	LocalPort    uint16            `json:"localPort"`
	RemoteIP     string            `json:"remoteIp,omitempty"`
	RemotePort   uint16            `json:"remotePort,omitempty"`
	Protocol     TransportProtocol `json:"protocol"`
}

// SrtpCryptoSuite names an SRTP crypto suite.
type SrtpCryptoSuite string

// SRTP crypto suites.
const (
	AEADAES256GCM          SrtpCryptoSuite = "AEAD_AES_256_GCM"
	AEADAES128GCM          SrtpCryptoSuite = "AEAD_AES_128_GCM"
	AESCM128HMACSHA1_80    SrtpCryptoSuite = "AES_CM_128_HMAC_SHA1_80"
	AESCM128HMACSHA1_32    SrtpCryptoSuite = "AES_CM_128_HMAC_SHA1_32"
	DefaultSrtpCryptoSuite                 = AESCM128HMACSHA1_80
)

// SrtpParameters are one side's SRTP crypto suite and master key+salt.
type SrtpParameters struct {
	CryptoSuite SrtpCryptoSuite `json:"cryptoSuite"`
	KeyBase64   string          `json:"keyBase64"`
}

// SctpState is an SCTP association's state.
type SctpState string

// SCTP states.
const (
	SctpNew        SctpState = "new"
	SctpConnecting SctpState = "connecting"
	SctpConnected  SctpState = "connected"
	SctpFailed     SctpState = "failed"
	SctpClosed     SctpState = "closed"
)

// TransportTraceEventType selects trace events ("probation", "bwe").
type TransportTraceEventType string

// TransportTraceEventData is a "trace" event.
type TransportTraceEventData struct {
	Type      TransportTraceEventType `json:"type"`
	Timestamp int64                   `json:"timestamp"`
	Direction string                  `json:"direction"`
	Info      any                     `json:"info"`
}

// BweTraceInfo is the info of a "bwe" trace event (mediasoup's
// BweTraceInfo): the send-side estimate and the bitrates bounding it.
type BweTraceInfo struct {
	// BweType is "transport-cc" or "remb".
	BweType                 string `json:"bweType"`
	DesiredBitrate          uint64 `json:"desiredBitrate"`
	EffectiveDesiredBitrate uint64 `json:"effectiveDesiredBitrate"`
	MinBitrate              uint64 `json:"minBitrate"`
	MaxBitrate              uint64 `json:"maxBitrate"`
	StartBitrate            uint64 `json:"startBitrate"`
	MaxPaddingBitrate       uint64 `json:"maxPaddingBitrate"`
	AvailableBitrate        uint64 `json:"availableBitrate"`
}

// Transport is what every transport kind offers.
type Transport interface {
	ID() string
	Closed() bool
	AppData() AppData
	SetAppData(AppData)

	// Close closes the transport's producers, consumers, data producers
	// and data consumers, then the transport.
	Close(ctx context.Context) error
	Dump(ctx context.Context) (*TransportDump, error)
	GetStats(ctx context.Context) ([]TransportStats, error)

	Produce(ctx context.Context, options *ProducerOptions) (Producer, error)
	Consume(ctx context.Context, options *ConsumerOptions) (Consumer, error)
	ProduceData(ctx context.Context, options *DataProducerOptions) (DataProducer, error)
	ConsumeData(ctx context.Context, options *DataConsumerOptions) (DataConsumer, error)

	SetMaxIncomingBitrate(ctx context.Context, bitrate int) error
	SetMaxOutgoingBitrate(ctx context.Context, bitrate int) error
	SetMinOutgoingBitrate(ctx context.Context, bitrate int) error
	EnableTraceEvent(ctx context.Context, types []TransportTraceEventType) error

	// OnClose (observer "close") fires once the transport has closed.
	OnClose(func()) (off func())
	// OnRouterClose ("routerclose") fires when it closed because its
	// router closed.
	OnRouterClose(func()) (off func())
	// OnNewProducer, OnNewConsumer, OnNewDataProducer, OnNewDataConsumer
	// are the observer's "newproducer", ... events.
	OnNewProducer(func(Producer)) (off func())
	OnNewConsumer(func(Consumer)) (off func())
	OnNewDataProducer(func(DataProducer)) (off func())
	OnNewDataConsumer(func(DataConsumer)) (off func())
	// OnTrace ("trace").
	OnTrace(func(TransportTraceEventData)) (off func())
}

// RtpListenerDump is the SSRC/MID/RID routing table of a transport.
type RtpListenerDump struct {
	SsrcTable []KeyValue `json:"ssrcTable"`
	MidTable  []KeyValue `json:"midTable"`
	RidTable  []KeyValue `json:"ridTable"`
}

// SctpListenerDump is the stream id table of a transport's SCTP
// association: which data producer reads each incoming stream.
type SctpListenerDump struct {
	StreamIDTable []KeyValue `json:"streamIdTable"`
}

// TransportDump is Transport.Dump's result: the common fields plus those of
// the transport's kind.
type TransportDump struct {
	ID                   string            `json:"id"`
	Direct               bool              `json:"direct"`
	ProducerIDs          []string          `json:"producerIds"`
	ConsumerIDs          []string          `json:"consumerIds"`
	MapSsrcConsumerID    []KeyValue        `json:"mapSsrcConsumerId"`
	MapRtxSsrcConsumerID []KeyValue        `json:"mapRtxSsrcConsumerId"`
	DataProducerIDs      []string          `json:"dataProducerIds"`
	DataConsumerIDs      []string          `json:"dataConsumerIds"`
	RtpListener          RtpListenerDump   `json:"rtpListener"`
	MaxMessageSize       int               `json:"maxMessageSize,omitempty"`
	SctpParameters       *SctpParameters   `json:"sctpParameters,omitempty"`
	SctpState            SctpState         `json:"sctpState,omitempty"`
	SctpListener         *SctpListenerDump `json:"sctpListener,omitempty"`
	TraceEventTypes      []string          `json:"traceEventTypes"`

	// Plain and pipe transports.
	Tuple          *TransportTuple `json:"tuple,omitempty"`
	RtcpTuple      *TransportTuple `json:"rtcpTuple,omitempty"`
	RtcpMux        *bool           `json:"rtcpMux,omitempty"`
	Comedia        *bool           `json:"comedia,omitempty"`
	Rtx            *bool           `json:"rtx,omitempty"`
	SrtpParameters *SrtpParameters `json:"srtpParameters,omitempty"`

	// WebRTC transports.
	IceRole          string          `json:"iceRole,omitempty"`
	IceParameters    *IceParameters  `json:"iceParameters,omitempty"`
	IceCandidates    []IceCandidate  `json:"iceCandidates,omitempty"`
	IceState         IceState        `json:"iceState,omitempty"`
	IceSelectedTuple *TransportTuple `json:"iceSelectedTuple,omitempty"`
	DtlsParameters   *DtlsParameters `json:"dtlsParameters,omitempty"`
	DtlsState        DtlsState       `json:"dtlsState,omitempty"`
	DtlsRemoteCert   string          `json:"dtlsRemoteCert,omitempty"`
}

// TransportStats is one entry of Transport.GetStats: common fields plus
// those of the transport's kind.
type TransportStats struct {
	// Type is "webrtc-transport", "plain-rtp-transport",
	// "pipe-transport" or "direct-transport".
	Type                     string    `json:"type"`
	TransportID              string    `json:"transportId"`
	Timestamp                int64     `json:"timestamp"`
	SctpState                SctpState `json:"sctpState,omitempty"`
	BytesReceived            uint64    `json:"bytesReceived"`
	RecvBitrate              uint64    `json:"recvBitrate"`
	BytesSent                uint64    `json:"bytesSent"`
	SendBitrate              uint64    `json:"sendBitrate"`
	RtpBytesReceived         uint64    `json:"rtpBytesReceived"`
	RtpRecvBitrate           uint64    `json:"rtpRecvBitrate"`
	RtpBytesSent             uint64    `json:"rtpBytesSent"`
	RtpSendBitrate           uint64    `json:"rtpSendBitrate"`
	RtxBytesReceived         uint64    `json:"rtxBytesReceived"`
	RtxRecvBitrate           uint64    `json:"rtxRecvBitrate"`
	RtxBytesSent             uint64    `json:"rtxBytesSent"`
	RtxSendBitrate           uint64    `json:"rtxSendBitrate"`
	ProbationBytesSent       uint64    `json:"probationBytesSent"`
	ProbationSendBitrate     uint64    `json:"probationSendBitrate"`
	AvailableOutgoingBitrate *uint64   `json:"availableOutgoingBitrate,omitempty"`
	AvailableIncomingBitrate *uint64   `json:"availableIncomingBitrate,omitempty"`
	MaxIncomingBitrate       *uint64   `json:"maxIncomingBitrate,omitempty"`
	MaxOutgoingBitrate       *uint64   `json:"maxOutgoingBitrate,omitempty"`
	MinOutgoingBitrate       *uint64   `json:"minOutgoingBitrate,omitempty"`
	RtpPacketLossReceived    *float64  `json:"rtpPacketLossReceived,omitempty"`
	RtpPacketLossSent        *float64  `json:"rtpPacketLossSent,omitempty"`

	// Plain and pipe transports.
	RtcpMux   *bool           `json:"rtcpMux,omitempty"`
	Comedia   *bool           `json:"comedia,omitempty"`
	Tuple     *TransportTuple `json:"tuple,omitempty"`
	RtcpTuple *TransportTuple `json:"rtcpTuple,omitempty"`

	// WebRTC transports.
	IceRole          string          `json:"iceRole,omitempty"`
	IceState         IceState        `json:"iceState,omitempty"`
	IceSelectedTuple *TransportTuple `json:"iceSelectedTuple,omitempty"`
	DtlsState        DtlsState       `json:"dtlsState,omitempty"`
}
