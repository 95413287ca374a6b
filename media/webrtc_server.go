package media

import "context"

// WebRtcServerOptions configure Worker.CreateWebRtcServer (mediasoup
// WebRtcServerOptions).
type WebRtcServerOptions struct {
	// ListenInfos are the sockets the server opens, one ICE candidate
	// each, in order of preference (required; 1 to 8 entries). A listen
	// info without port or portRange takes a port of the worker's range.
	ListenInfos []TransportListenInfo `json:"listenInfos"`
	// AppData defaults to an empty map.
	AppData AppData `json:"appData,omitempty"`
}

// WebRtcServer is mediasoup's WebRtcServer: UDP sockets and TCP servers
// shared by many WebRtcTransports of the routers of one worker. Packets
// are routed to a transport by the ICE username fragment of the STUN
// checks, then by the 5-tuple those checks validated. A transport uses it
// when created with WebRtcTransportOptions.WebRtcServer.
type WebRtcServer interface {
	ID() string
	Closed() bool
	AppData() AppData
	SetAppData(AppData)

	// Close closes the server's transports (each emits
	// "listenserverclose", then closes as its own Close would), then the
	// server's sockets.
	Close(ctx context.Context) error
	Dump(ctx context.Context) (*WebRtcServerDump, error)

	// OnClose (observer "close") fires once the server has closed.
	OnClose(func()) (off func())
	// OnWorkerClose ("workerclose") fires when the server closed because
	// its worker closed.
	OnWorkerClose(func()) (off func())
	// OnWebRtcTransportHandled (observer "webrtctransporthandled") fires
	// when a transport is created on the server.
	OnWebRtcTransportHandled(func(WebRtcTransport)) (off func())
	// OnWebRtcTransportUnhandled (observer "webrtctransportunhandled")
	// fires when one of its transports closed, for whatever reason.
	OnWebRtcTransportUnhandled(func(WebRtcTransport)) (off func())
}

// WebRtcServerDump is WebRtcServer.Dump's result (mediasoup
// WebRtcServerDump).
type WebRtcServerDump struct {
	ID                 string   `json:"id"`
	UDPSockets         []IPPort `json:"udpSockets"`
	TCPServers         []IPPort `json:"tcpServers"`
	WebRtcTransportIDs []string `json:"webRtcTransportIds"`
	// LocalIceUsernameFragments maps each local ufrag in use (two per
	// transport during an ICE restart) to its transport.
	LocalIceUsernameFragments []IceUsernameFragment `json:"localIceUsernameFragments"`
	// TupleHashes maps each validated 5-tuple (a number identifying it)
	// to its transport.
	TupleHashes []TupleHash `json:"tupleHashes"`
}

// IPPort is a local socket address in a WebRtcServerDump.
type IPPort struct {
	IP   string `json:"ip"`
	Port uint16 `json:"port"`
}

// IceUsernameFragment is one entry of
// WebRtcServerDump.LocalIceUsernameFragments.
type IceUsernameFragment struct {
	LocalIceUsernameFragment string `json:"localIceUsernameFragment"`
	WebRtcTransportID        string `json:"webRtcTransportId"`
}

// TupleHash is one entry of WebRtcServerDump.TupleHashes. The hash is
// below 2^53, so that JavaScript reads it exactly.
type TupleHash struct {
	TupleHash         uint64 `json:"tupleHash"`
	WebRtcTransportID string `json:"webRtcTransportId"`
}
