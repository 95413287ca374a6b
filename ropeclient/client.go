// Package ropeclient is the Go client of ROPE v1. A Client mirrors the
// server's objects (kept in sync by the server's sequenced notifications),
// calls their methods, delivers their events, and reconnects with backoff,
// resuming from its last sequence number so no update is lost or applied
// twice, and in its server session (spec §17), so the objects it created
// stay when it comes back within the server's grace. Clients of one URL
// and token share one connection by default; it closes with the last of
// them. CloseLocal ends a connection without the server (gone for good),
// closing the mirror as a server's cascade would.
//
// Callbacks run one at a time on a goroutine of the connection's, in the
// order the server sent what they report; they may call back into the
// client.
package ropeclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// ReadyState is a client's state, as the canonical client names them.
type ReadyState int

// The ready states. Connected follows Open once the initial payload is
// applied.
const (
	Connecting ReadyState = iota
	Open
	Closing
	Closed
	Connected
)

func (s ReadyState) String() string {
	switch s {
	case Connecting:
		return "CONNECTING"
	case Open:
		return "OPEN"
	case Closing:
		return "CLOSING"
	case Closed:
		return "CLOSED"
	case Connected:
		return "CONNECTED"
	}
	return fmt.Sprintf("ReadyState(%d)", int(s))
}

// Errors of the client.
var (
	// ErrAlreadyOpen: Open on a client that is opening or open.
	ErrAlreadyOpen = errors.New("ropeclient: already open")
	// ErrClientClosed: the client is closed.
	ErrClientClosed = errors.New("ropeclient: client closed")
	// ErrDisconnected: the connection dropped while the call was in flight;
	// the call may or may not have run.
	ErrDisconnected = errors.New("ropeclient: disconnected")
	// ErrUnauthorized: the server refused the token (HTTP 401). The
	// client does not retry (spec §12.3.5).
	ErrUnauthorized = errors.New("ropeclient: unauthorized")
	// ErrForbidden: the server refused the handshake with HTTP 403 (spec
	// §4.3). The client does not retry.
	ErrForbidden = errors.New("ropeclient: forbidden")
	// ErrGrantExpired: the server closed the connection with 4003 Grant
	// Expired (spec §18.9). The client does not reconnect with the same
	// token; a client with a new token can.
	ErrGrantExpired = errors.New("ropeclient: grant expired (close 4003)")
	// ErrObjectClosed: the object is closed in the mirror.
	ErrObjectClosed = errors.New("ropeclient: object closed")
)

// Defaults of Options.
const (
	DefaultMinBackoff  = 100 * time.Millisecond
	DefaultMaxBackoff  = 5 * time.Second
	DefaultMaxReadSize = 1 << 30
)

// Options configure a client. Nil means defaults.
type Options struct {
	// Token is the bearer token, sent as an Authorization header.
	Token string
	// HTTPHeader is sent with the WebSocket handshake.
	HTTPHeader http.Header
	// HTTPClient dials the WebSocket. Default: http.DefaultClient.
	HTTPClient *http.Client
	// NoReconnect disables reconnection: a dropped connection closes the
	// client.
	NoReconnect bool
	// MinBackoff and MaxBackoff bound the exponential reconnect delay (with
	// jitter). Defaults 100 ms and 5 s.
	MinBackoff, MaxBackoff time.Duration
	// Dedicated gives the client a connection of its own instead of sharing
	// one with the other clients of the same URL and token.
	Dedicated bool
	// Logger receives the client's logs. Default: slog.Default().
	Logger *slog.Logger
	// Lease is the grace the client asks the server to keep the objects
	// it creates after losing its connection (spec §17; a reconnection
	// within it keeps them). The server bounds it. Default 0: the
	// server's grace.
	Lease time.Duration
	// PersistentLease asks the server to keep the objects the client
	// creates until they are closed, however long it is gone; a server
	// that does not allow it gives its longest grace.
	PersistentLease bool
	// MaxReadSize bounds the size of a message from the server. The client
	// reads messages up to what the server announces in its handshake
	// (Rope-Outbound-Limit; 64 MiB when it announces nothing), but never
	// more than this. Default 1 GiB.
	MaxReadSize int64
}

func (o *Options) withDefaults() Options {
	var d Options
	if o != nil {
		d = *o
	}
	if d.MinBackoff <= 0 {
		d.MinBackoff = DefaultMinBackoff
	}
	if d.MaxBackoff <= 0 {
		d.MaxBackoff = DefaultMaxBackoff
	}
	d.MaxBackoff = max(d.MaxBackoff, d.MinBackoff)
	if d.MaxReadSize <= 0 {
		d.MaxReadSize = DefaultMaxReadSize
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return d
}

// Client is one client instance. Several may share one connection.
type Client struct {
	url  string
	opts Options

	// mu guards sess, closed and err.
	mu     sync.Mutex
	sess   *session
	closed bool
	err    error // why the connection ended on its own

	onOpen, onConnected, onClose, onWebSocketOpen listeners[func()]
	onDisconnected, onError                       listeners[func(error)]
	onWebSocketClose                              listeners[func(wasClean bool)]
	onCreated                                     listeners[func(*Object)]
	onNotification                                listeners[func(method string, params json.RawMessage)]
}

// New returns a client for url that is not open yet (CLOSED).
func New(url string, opts *Options) *Client {
	return &Client{url: url, opts: opts.withDefaults()}
}

// Dial returns an open client, connected with the server's state applied.
func Dial(ctx context.Context, url string, opts *Options) (*Client, error) {
	c := New(url, opts)
	if err := c.Open(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Open connects and waits until the initial state is applied (CONNECTED).
// It fails with ErrAlreadyOpen when the client is opening or open. If ctx
// ends first the client stays open and keeps connecting in the background.
func (c *Client) Open(ctx context.Context) error {
	c.mu.Lock()
	if c.sess != nil {
		c.mu.Unlock()
		return ErrAlreadyOpen
	}
	c.closed = false
	c.sess = attachSession(c)
	sess := c.sess
	c.mu.Unlock()
	if err := sess.waitConnected(ctx); err != nil {
		if refused(err) || errors.Is(err, errSessionEnded) {
			c.Close()
		}
		return fmt.Errorf("ropeclient: open %s: %w", c.url, err)
	}
	return nil
}

// Close detaches the client; the shared connection closes with the last
// client. Close is idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	sess := c.sess
	c.sess = nil
	already := c.closed
	c.closed = true
	c.mu.Unlock()
	if sess != nil {
		sess.detach(c)
	}
	if !already {
		c.onClose.each(func(f func()) { f() })
	}
	return nil
}

// Err says why the client entered CLOSED without Close: ErrGrantExpired,
// ErrUnauthorized or ErrForbidden when the server refused it (it stopped
// reconnecting, spec §12.3.5), the last connection's error when
// reconnection is off. It is nil while the client is open or connecting,
// and after a Close that came first.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// refused says whether err ends reconnection: the server refused the
// token, or the grant expired (spec §12.3.5).
func refused(err error) bool {
	return errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrForbidden) || errors.Is(err, ErrGrantExpired)
}

// ended moves c to CLOSED because its connection ended on its own with
// err, and emits close once (spec §12.1.2).
func (c *Client) ended(err error) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.closed = true
	c.err = err
	return true
}

// ReadyState is the client's state.
func (c *Client) ReadyState() ReadyState {
	c.mu.Lock()
	sess := c.sess
	c.mu.Unlock()
	if sess == nil {
		return Closed
	}
	return sess.readyState()
}

func (c *Client) session() (*session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == nil {
		return nil, ErrClientClosed
	}
	return c.sess, nil
}

// OnOpen registers fn for each time the WebSocket opens.
func (c *Client) OnOpen(fn func()) (off func()) { return c.onOpen.add(fn) }

// OnConnected registers fn for each time the server's state is applied.
func (c *Client) OnConnected(fn func()) (off func()) { return c.onConnected.add(fn) }

// OnDisconnected registers fn for each loss of the connection.
func (c *Client) OnDisconnected(fn func(err error)) (off func()) { return c.onDisconnected.add(fn) }

// OnClose registers fn for when the client closes for good.
func (c *Client) OnClose(fn func()) (off func()) { return c.onClose.add(fn) }

// OnError registers fn for errors that have no caller to return to.
func (c *Client) OnError(fn func(err error)) (off func()) { return c.onError.add(fn) }

// OnWebSocketOpen registers fn for each WebSocket opening.
func (c *Client) OnWebSocketOpen(fn func()) (off func()) { return c.onWebSocketOpen.add(fn) }

// OnWebSocketClose registers fn for each WebSocket closing; wasClean tells
// whether it closed with a close handshake.
func (c *Client) OnWebSocketClose(fn func(wasClean bool)) (off func()) {
	return c.onWebSocketClose.add(fn)
}

// OnNotification registers fn for the server's unsequenced notifications
// (those of its extra methods; not rope.*).
func (c *Client) OnNotification(fn func(method string, params json.RawMessage)) (off func()) {
	return c.onNotification.add(fn)
}

// OnObjectCreated registers fn for every object that appears in the mirror.
func (c *Client) OnObjectCreated(fn func(*Object)) (off func()) { return c.onCreated.add(fn) }
