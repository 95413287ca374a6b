package mediaclient

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/ropeclient"
)

// DefaultTimeout bounds the calls made by methods that take no context.
const DefaultTimeout = 5 * time.Second

// Options configure a Client. Nil means defaults.
type Options struct {
	// RootID is the id of the MediaService object. Default "media".
	RootID string
	// Timeout bounds the calls that methods without a context make
	// (SetAppData, CanConsume, DataProducer.Send). Default 5 s.
	Timeout time.Duration
	// Logger receives failures that have no caller to return to (a
	// SetAppData refused by the server). Default slog.Default().
	Logger *slog.Logger
	// ROPE configures the connection Dial makes. Default nil: the
	// ropeclient defaults.
	ROPE *ropeclient.Options
	// Extends maps ROPE types that extend a catalogue type (served with
	// mediaserver.Extension) to that type, so their objects are wrapped
	// as it is: {"MafaldaRouter": "Router"} makes a MafaldaRouter's
	// mirror a media.Router. Default none.
	Extends map[string]string
}

// Client is the media API over a ROPE connection. It does not own the
// ropeclient.Client: close that when done.
type Client struct {
	rc   *ropeclient.Client
	opts Options
	// owned is set when Dial made rc: Close closes it.
	owned bool
	// buried is set by Bury: the server is gone, its workers died.
	buried atomic.Bool

	// mu guards wrappers.
	mu sync.Mutex
	// wrappers keeps one Go object per live mirror object.
	wrappers map[*ropeclient.Object]any

	// packets are the packet subscriptions (packets.go).
	packets packetSubs
}

var (
	_ media.API               = (*Client)(nil)
	_ media.Versioned         = (*Client)(nil)
	_ media.NewWorkerNotifier = (*Client)(nil)
)

// New returns the media API served on rc's server. opts may be nil.
func New(rc *ropeclient.Client, opts *Options) *Client {
	c := &Client{rc: rc, wrappers: make(map[*ropeclient.Object]any)}
	if opts != nil {
		c.opts = *opts
	}
	if c.opts.RootID == "" {
		c.opts.RootID = "media"
	}
	if c.opts.Timeout <= 0 {
		c.opts.Timeout = DefaultTimeout
	}
	if c.opts.Logger == nil {
		c.opts.Logger = slog.Default()
	}
	return c
}

// Dial connects to the media server at url (a ROPE WebSocket URL) and
// returns its media API once the server's objects are mirrored. Close the
// Client to close the connection.
func Dial(ctx context.Context, url string, opts *Options) (*Client, error) {
	var ropts *ropeclient.Options
	if opts != nil {
		ropts = opts.ROPE
	}
	rc, err := ropeclient.Dial(ctx, url, ropts)
	if err != nil {
		return nil, fmt.Errorf("mediaclient: %w", err)
	}
	c := New(rc, opts)
	c.owned = true
	return c, nil
}

// Close closes the connection if Dial made it; media objects on the
// server stay. It is idempotent.
func (c *Client) Close() error {
	if c.owned {
		return c.rc.Close()
	}
	return nil
}

// ROPE returns the ROPE client the media API runs on.
func (c *Client) ROPE() *ropeclient.Client { return c.rc }

// SupportedRtpCapabilities returns the server's supported capabilities
// (empty if the server serves no MediaService).
func (c *Client) SupportedRtpCapabilities() media.RtpCapabilities {
	var caps media.RtpCapabilities
	if root, ok := c.rc.Object(c.opts.RootID); ok {
		_ = root.DecodeProp("supportedRtpCapabilities", &caps)
	}
	return caps
}

// Version is the server's version (its MediaService's "version"; "" from
// a server that does not say): mediasoup's version followed, with the
// server's module version.
func (c *Client) Version() string {
	var v string
	if root, ok := c.rc.Object(c.opts.RootID); ok {
		_ = root.DecodeProp("version", &v)
	}
	return v
}

// OnNewWorker (mediasoup's observer "newworker") fires for each worker
// that appears in the mirror: those CreateWorker makes, before it
// returns, and those of other connections that the server shows this
// one.
func (c *Client) OnNewWorker(fn func(media.Worker)) func() {
	return c.rc.OnObjectCreated(func(o *ropeclient.Object) {
		if o.ParentID() == c.opts.RootID && o.Type() == typeWorker {
			fn(c.wrap(o).(*worker))
		}
	})
}

// CreateWorker asks the server for a new worker.
func (c *Client) CreateWorker(ctx context.Context, settings *media.WorkerSettings) (media.Worker, error) {
	root, ok := c.rc.Object(c.opts.RootID)
	if !ok {
		return nil, fmt.Errorf("mediaclient: no %q object on the server: %w", c.opts.RootID, media.ErrNotFound)
	}
	b := &base{c: c, o: root}
	o, err := b.create(ctx, "createWorker", orEmpty(settings))
	if err != nil {
		return nil, err
	}
	return c.wrap(o).(*worker), nil
}

// Worker returns the worker with that ROPE id, e.g. one the server
// application created, if the mirror holds it.
func (c *Client) Worker(id string) (media.Worker, bool) {
	o, ok := c.rc.Object(id)
	if !ok || o.Type() != typeWorker {
		return nil, false
	}
	return c.wrap(o).(*worker), true
}

// Workers returns every worker in the mirror.
func (c *Client) Workers() []media.Worker {
	var out []media.Worker
	for _, o := range c.rc.Objects() {
		if o.Type() == typeWorker {
			out = append(out, c.wrap(o).(*worker))
		}
	}
	return out
}

// wrap returns the Go object of a mirror object, making it on first use.
func (c *Client) wrap(o *ropeclient.Object) any {
	c.mu.Lock()
	defer c.mu.Unlock()
	if w, ok := c.wrappers[o]; ok {
		return w
	}
	w := newWrapper(&base{c: c, o: o})
	if !o.Closed() {
		c.wrappers[o] = w
		o.OnClose(func() { c.forget(o) })
	}
	return w
}

func (c *Client) forget(o *ropeclient.Object) {
	c.mu.Lock()
	delete(c.wrappers, o)
	c.mu.Unlock()
}

// orEmpty sends {} for nil options.
func orEmpty[T any](p *T) any {
	if p == nil {
		return struct{}{}
	}
	return p
}

// Object returns the media object (media.Router, media.Producer, ...)
// whose ROPE id is id, if the mirror holds it. Workers also have an
// ID() string method giving their ROPE id.
func (c *Client) Object(id string) (any, bool) {
	o, ok := c.rc.Object(id)
	if !ok {
		return nil, false
	}
	w := c.wrap(o)
	if _, isBase := w.(*base); isBase {
		return nil, false
	}
	return w, true
}
