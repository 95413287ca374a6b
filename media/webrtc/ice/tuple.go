package ice

import (
	"encoding/json"
	"net/netip"
)

// Protocol is the transport protocol of a tuple or candidate.
type Protocol uint8

// Transport protocols.
const (
	UDP Protocol = iota
	TCP
)

// String returns "udp" or "tcp", as in mediasoup's JSON.
func (p Protocol) String() string {
	if p == TCP {
		return "tcp"
	}
	return "udp"
}

// MarshalText encodes p as "udp" or "tcp".
func (p Protocol) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// Tuple is an ICE 5-tuple: protocol, local and remote address. It is
// comparable and used as a map key; zero addresses are not valid tuples.
type Tuple struct {
	Protocol Protocol
	Local    netip.AddrPort
	Remote   netip.AddrPort
}

// tupleJSON is mediasoup's TransportTuple shape.
type tupleJSON struct {
	LocalAddress string   `json:"localAddress"`
	LocalPort    uint16   `json:"localPort"`
	RemoteIP     string   `json:"remoteIp"`
	RemotePort   uint16   `json:"remotePort"`
	Protocol     Protocol `json:"protocol"`
}

// MarshalJSON encodes t as mediasoup's TransportTuple.
func (t Tuple) MarshalJSON() ([]byte, error) {
	return json.Marshal(tupleJSON{
		LocalAddress: t.Local.Addr().Unmap().String(),
		LocalPort:    t.Local.Port(),
		RemoteIP:     t.Remote.Addr().Unmap().String(),
		RemotePort:   t.Remote.Port(),
		Protocol:     t.Protocol,
	})
}

// String formats t for logs.
func (t Tuple) String() string {
	return t.Protocol.String() + " " + t.Local.String() + " <- " + t.Remote.String()
}
