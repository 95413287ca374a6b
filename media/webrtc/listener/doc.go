// Package listener owns the sockets of WebRTC transports: UDP sockets and
// TCP servers whose connections carry RFC 4571 framed packets (two-byte
// big-endian length, then the packet). Each socket has one reader goroutine
// (plus one per TCP connection) that hands every packet, with its ICE
// tuple, to a [Handler]; [Link] sends packets back, and [BatchLink]
// several at once.
//
// The reader's buffer is handed to the handler, valid only during the
// call; the handler may modify it in place (SRTP decryption does).
package listener

import (
	"errors"
	"net/netip"

	"github.com/ropehq/rope/media/webrtc/ice"
)

// Handler receives packets from sockets. Calls come from several
// goroutines at once (one per UDP socket and TCP connection).
type Handler interface {
	// HandlePacket receives one packet on tuple t; replies go through l.
	HandlePacket(b []byte, t ice.Tuple, l Link)
	// TupleClosed tells that a TCP connection, and so its tuple, is gone.
	TupleClosed(t ice.Tuple)
}

// Link sends packets on a socket: a UDP socket to any remote address, a
// TCP connection to its peer (to is then ignored).
type Link interface {
	Send(b []byte, to netip.AddrPort) error
}

// BatchLink is a Link that sends several packets at once, in order: a UDP
// socket with one sendmmsg (Linux), a TCP connection with one write of
// their frames. SendBatch does not allocate once warm and does not keep
// bufs.
type BatchLink interface {
	Link
	SendBatch(bufs [][]byte, to netip.AddrPort) error
}

// Sentinel errors.
var (
	// ErrNoPort means no port of the range could be bound.
	ErrNoPort = errors.New("listener: no free port in range")
	// ErrTooLarge means a packet does not fit an RFC 4571 frame.
	ErrTooLarge = errors.New("listener: packet larger than 65535 bytes")
	// ErrClosed means the socket was closed.
	ErrClosed = errors.New("listener: closed")
)

// MaxPacketSize is the largest packet a socket reads.
const MaxPacketSize = 65535
