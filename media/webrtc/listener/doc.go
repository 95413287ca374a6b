// Package listener owns the sockets of WebRTC transports: UDP sockets and
// TCP servers whose connections carry RFC 4571 framed packets (two-byte
// big-endian length, then the packet). Each socket has one reader goroutine
// (plus one per TCP connection) that hands every packet, with its ICE
// tuple, to a [Handler]. A UDP socket reads up to 16 datagrams of at most
// [MaxDatagramSize] bytes at once (recvmmsg on Linux) and tells a
// [BatchHandler] when such a batch ends; [Link] sends packets back, and [BatchLink]
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

// PanicHandler is a Handler told of a panic in one of a socket's
// goroutines (in HandlePacket, BatchEnd or the socket's own code): that
// goroutine stops reading and Panicked gets the value. With a Handler
// that is not a PanicHandler the panic goes on (and ends the process).
type PanicHandler interface {
	Panicked(v any)
}

// guard, deferred first in each goroutine of a socket, hands a panic to
// h when h is a PanicHandler.
func guard(h Handler) {
	if ph, ok := h.(PanicHandler); ok {
		if v := recover(); v != nil {
			ph.Panicked(v)
		}
	}
}

// BatchHandler is a Handler told when a UDP socket's read batch ends:
// the socket's reader calls HandlePacket for each datagram of a batch
// (one recvmmsg), then BatchEnd. As for any Handler, a packet's buffer is
// valid only during its HandlePacket call.
type BatchHandler interface {
	Handler
	BatchEnd()
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

// MaxDatagramSize is the largest UDP datagram a socket reads in batches;
// longer ones are dropped (WebRTC peers keep datagrams under the path
// MTU). Where batches are not supported, MaxPacketSize applies.
const MaxDatagramSize = 4096

// readBatch is the number of datagrams a UDP socket reads at once.
const readBatch = 16
