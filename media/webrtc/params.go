package webrtc

import (
	"github.com/ropehq/rope/media/webrtc/dtlstransport"
	"github.com/ropehq/rope/media/webrtc/ice"
)

// ListenInfo is mediasoup's TransportListenInfo (the fields this layer
// uses).
type ListenInfo struct {
	// Protocol is "udp" or "tcp".
	Protocol string `json:"protocol"`
	// IP is the address to bind.
	IP string `json:"ip"`
	// AnnouncedAddress, if set, replaces IP in the candidate.
	AnnouncedAddress string `json:"announcedAddress,omitempty"`
	// Port to bind; 0 means a port of PortRange or, without one, any port.
	Port uint16 `json:"port,omitempty"`
	// PortRange bounds the port when Port is 0.
	PortRange PortRange `json:"portRange,omitzero"`
	// SendBufferSize and RecvBufferSize set the UDP socket's kernel
	// buffers in bytes; 0 keeps the system default.
	SendBufferSize int `json:"sendBufferSize,omitempty"`
	RecvBufferSize int `json:"recvBufferSize,omitempty"`
	// IPv6Only keeps an IPv6 socket off IPv4; without it "::" is
	// dual-stack, as mediasoup's (flags.ipv6Only).
	IPv6Only bool `json:"-"`
	// UDPReusePort lets UDP sockets that all set it share an address and
	// port (flags.udpReusePort); ignored for TCP.
	UDPReusePort bool `json:"-"`
}

// PortRange is mediasoup's TransportPortRange.
type PortRange struct {
	Min uint16 `json:"min"`
	Max uint16 `json:"max"`
}

// ICECandidate is mediasoup's IceCandidate JSON.
type ICECandidate struct {
	Foundation string `json:"foundation"`
	Priority   uint32 `json:"priority"`
	Address    string `json:"address"`
	// IP repeats Address (mediasoup's deprecated field).
	IP       string `json:"ip"`
	Protocol string `json:"protocol"`
	Port     uint16 `json:"port"`
	Type     string `json:"type"`
	TCPType  string `json:"tcpType,omitempty"`
}

// ICEParameters are mediasoup's iceParameters.
type ICEParameters = ice.Parameters

// DTLSParameters are mediasoup's dtlsParameters.
type DTLSParameters = dtlstransport.Parameters

// DTLSFingerprint is one entry of dtlsParameters.fingerprints.
type DTLSFingerprint = dtlstransport.Fingerprint

// Parameters are what mediasoup's createWebRtcTransport() returns to the
// client.
type Parameters struct {
	ICEParameters  ICEParameters  `json:"iceParameters"`
	ICECandidates  []ICECandidate `json:"iceCandidates"`
	DTLSParameters DTLSParameters `json:"dtlsParameters"`
	// SCTPParameters is set when SCTP is enabled.
	SCTPParameters *SCTPParameters `json:"sctpParameters,omitempty"`
}

// SCTPParameters are mediasoup's sctpParameters.
type SCTPParameters struct {
	// Port is always 5000, as in mediasoup and browsers' SDP.
	Port uint16 `json:"port"`
	// OS and MIS are the outgoing and incoming stream counts announced to
	// the client (mediasoup's numSctpStreams, default 1024 each).
	OS  uint16 `json:"OS"`
	MIS uint16 `json:"MIS"`
	// MaxMessageSize is the largest message the transport accepts.
	MaxMessageSize uint32 `json:"maxMessageSize"`
}

// ICE priority of a host candidate, as mediasoup computes it: type
// preference 64 (host), local preference 10000 minus 100 per listen info
// (plus 1000 for a preferred protocol), component 1.
const (
	iceTypePreference      = 64
	iceLocalPreferenceBase = 10000
	iceLocalPreferenceStep = 100
	icePreferredBonus      = 1000
	iceComponent           = 1
)

func candidatePriority(localPreference int) uint32 {
	return iceTypePreference<<24 + uint32(localPreference)<<8 + (256 - iceComponent)
}
