// Package rope holds the wire format of ROPE v1 (Remote Objects, Procedures
// and Events): the JSON-RPC 2.0 messages, their parameters, the error codes,
// the WebSocket close codes and the protocol version. It does no I/O.
//
// # Protocol flow
//
// A client opens a WebSocket offering the subprotocol [Subprotocol]. The
// server's first message is the notification [MethodInit], carrying the type
// catalogue and either a snapshot of every live object or, when the client
// asked to resume a known epoch within the replay window, nothing but the
// sequence number replay starts after. From then on every change of server
// state (an object created, its properties or appData updated, closed) and
// every object event reaches every connection as a sequenced notification
// ([MethodCreated], [MethodUpdated], [MethodClosed], [MethodEvent]) whose
// Seq grows by one each time. Clients call object methods with [MethodCall];
// the state changes a call causes reach the caller before its response.
//
// spec/rope-v1.md is the normative text; this package follows it.
package rope

// Subprotocol is the WebSocket subprotocol of ROPE v1.
const Subprotocol = "rope.v1"

// Protocol is the protocol string the server announces in rope.init.
//
// History:
//   - rope.v1 (2026-11-25): first version: snapshot or replay on connect,
//     sequenced created/updated/closed/event notifications, rope.call,
//     rope.setAppData, rope.ping.
//   - rope.v1, 2026-12 edition: sessions and object leases (spec §17), a
//     compatible addition: the session and lease query parameters and
//     rope.init's session member; clients that send no session parameter
//     see the first edition.
const Protocol = "rope.v1"

// Method names of ROPE v1. Every name in the "rope." namespace is reserved;
// server-defined extra methods use other names.
const (
	MethodInit       = "rope.init"
	MethodCreated    = "rope.created"
	MethodUpdated    = "rope.updated"
	MethodClosed     = "rope.closed"
	MethodEvent      = "rope.event"
	MethodCall       = "rope.call"
	MethodSetAppData = "rope.setAppData"
	MethodPing       = "rope.ping"
)

// ReservedPrefix starts every method name that ROPE itself defines.
const ReservedPrefix = "rope."

// Query parameters of the WebSocket URL.
const (
	// QueryToken carries the bearer token where headers cannot be set.
	QueryToken = "access_token"
	// QueryEpoch and QuerySeq ask the server to resume.
	QueryEpoch = "epoch"
	QuerySeq   = "seq"
	// QuerySession takes part in sessions (spec §17): SessionNew asks for
	// a new session, an id from rope.init resumes that session.
	QuerySession = "session"
	// QueryLease asks for the session's lease: a grace in milliseconds,
	// or LeasePersistent.
	QueryLease = "lease"
)

// Values of the session and lease query parameters (spec §17).
const (
	SessionNew      = "new"
	LeasePersistent = "persistent"
)

// Limits.
const (
	// MinMaxMessageSize is the inbound message size every server accepts.
	MinMaxMessageSize = 64 << 10
	// ClientReadLimit is the size of server messages every client accepts.
	ClientReadLimit = 64 << 20
	// MaxInteger is the largest magnitude of an integer (spec §1.3):
	// 2^53−1, the largest n such that every integer in [−n, n] is a
	// double.
	MaxInteger = 1<<53 - 1
)

// WebSocket close codes. 1000, 1001 and 1009 are RFC 6455's; 4000 and up are
// ROPE's own.
const (
	CloseNormal            = 1000
	CloseGoingAway         = 1001
	CloseMessageTooBig     = 1009
	CloseSlowConsumer      = 4000
	CloseProtocolViolation = 4001
	// CloseGrantExpired: the connection's grant expired (spec §18).
	CloseGrantExpired = 4003
)

// Bounds of a server's outbound side (spec §10.2, §10.3).
const (
	// HeaderOutboundLimit is the response header of the WebSocket handshake
	// in which a server announces, in bytes, the largest message it may send
	// on the connection; a client sets its read limit from it.
	HeaderOutboundLimit = "Rope-Outbound-Limit"
	// MinSendQueueMessages and MinSendQueueBytes: a server does not close a
	// connection as a slow consumer while fewer messages and fewer bytes
	// than these wait for it.
	MinSendQueueMessages = 4096
	MinSendQueueBytes    = 4 << 20
)
