package media

import "context"

// WebRtcTransportOptions configure Router.CreateWebRtcTransport.
type WebRtcTransportOptions struct {
	// WebRtcServer, when set, is the server whose sockets and candidates
	// the transport uses; it must belong to the router's worker. Then
	// ListenInfos are ignored (as mediasoup does). Over ROPE it travels as
	// "webRtcServerId".
	WebRtcServer WebRtcServer `json:"-"`
	// ListenInfos are the transport's own sockets; required without a
	// WebRtcServer.
	ListenInfos []TransportListenInfo `json:"listenInfos,omitempty"`
	// EnableUDP defaults to true. EnableTCP defaults to false, or to true
	// with a WebRtcServer. Without a server the listen infos' protocols
	// decide which sockets exist; with one, these select the server's
	// sockets whose candidates the transport offers. PreferUDP and
	// PreferTCP (default false) raise that protocol's candidate priority.
	EnableUDP *bool `json:"enableUdp,omitempty"`
	EnableTCP *bool `json:"enableTcp,omitempty"`
	PreferUDP bool  `json:"preferUdp,omitempty"`
	PreferTCP bool  `json:"preferTcp,omitempty"`
	// IceConsentTimeout in seconds; default 30.
	IceConsentTimeout int `json:"iceConsentTimeout,omitempty"`
	// InitialAvailableOutgoingBitrate defaults to 600000.
	InitialAvailableOutgoingBitrate int `json:"initialAvailableOutgoingBitrate,omitempty"`
	// EnableSctp defaults to false.
	EnableSctp bool `json:"enableSctp,omitempty"`
	// NumSctpStreams defaults to {OS: 1024, MIS: 1024}.
	NumSctpStreams *NumSctpStreams `json:"numSctpStreams,omitempty"`
	// MaxSctpMessageSize defaults to 262144.
	MaxSctpMessageSize int `json:"maxSctpMessageSize,omitempty"`
	// SctpSendBufferSize defaults to 262144.
	SctpSendBufferSize int `json:"sctpSendBufferSize,omitempty"`
	// AppData defaults to an empty map.
	AppData AppData `json:"appData,omitempty"`
}

// IceParameters are the local ICE credentials.
type IceParameters struct {
	UsernameFragment string `json:"usernameFragment"`
	Password         string `json:"password"`
	IceLite          bool   `json:"iceLite"`
}

// IceCandidate is one local ICE candidate.
type IceCandidate struct {
	Foundation string            `json:"foundation"`
	Priority   uint32            `json:"priority"`
	Address    string            `json:"address"`
	IP         string            `json:"ip,omitempty"`
	Protocol   TransportProtocol `json:"protocol"`
	Port       uint16            `json:"port"`
	Type       string            `json:"type"`
	TCPType    string            `json:"tcpType,omitempty"`
}

// DtlsFingerprint is a certificate fingerprint.
type DtlsFingerprint struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"value"`
}

// DtlsParameters are a DTLS role and fingerprints.
type DtlsParameters struct {
	// Role is "auto", "client" or "server".
	Role         string            `json:"role,omitempty"`
	Fingerprints []DtlsFingerprint `json:"fingerprints"`
}

// IceState is "new", "connected", "completed", "disconnected" or "closed".
type IceState string

// DtlsState is "new", "connecting", "connected", "failed" or "closed".
type DtlsState string

// WebRtcTransportConnectOptions carry the remote DTLS parameters.
type WebRtcTransportConnectOptions struct {
	DtlsParameters *DtlsParameters `json:"dtlsParameters"`
}

// WebRtcTransport is an ICE-lite + DTLS + SRTP (+ SCTP) transport for
// WebRTC endpoints.
type WebRtcTransport interface {
	Transport
	IceRole() string
	IceParameters() IceParameters
	IceCandidates() []IceCandidate
	IceState() IceState
	IceSelectedTuple() *TransportTuple
	DtlsParameters() DtlsParameters
	DtlsState() DtlsState
	DtlsRemoteCert() string
	SctpParameters() *SctpParameters
	SctpState() SctpState

	Connect(ctx context.Context, options *WebRtcTransportConnectOptions) error
	RestartIce(ctx context.Context) (IceParameters, error)

	OnIceStateChange(func(IceState)) (off func())
	OnIceSelectedTupleChange(func(TransportTuple)) (off func())
	OnDtlsStateChange(func(DtlsState)) (off func())
	OnSctpStateChange(func(SctpState)) (off func())
	// OnListenServerClose ("listenserverclose") fires when the transport
	// closed because its WebRtcServer closed.
	OnListenServerClose(func()) (off func())
}
