package mafaldaclient

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediaclient"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeclient"
)

// ROPE names (spec/mafalda-v1.md), as mafaldaserver's.
const (
	defaultRootID     = "mafalda"
	typeMafaldaRouter = "MafaldaRouter"
)

// Options configure a Client. Nil means defaults.
type Options struct {
	// RootID is the id of the Mafalda root object. Default "mafalda".
	RootID string
	// Media configures the mediaclient the MafaldaRouters and API run on
	// (its Extends gets MafaldaRouter → Router added). Default nil:
	// mediaclient's defaults.
	Media *mediaclient.Options
	// ROPE configures the connection Dial makes. Default nil: the
	// ropeclient defaults.
	ROPE *ropeclient.Options
	// Logger receives event data that does not decode. Default
	// slog.Default().
	Logger *slog.Logger
}

// Client is a Mafalda over a ROPE connection. It does not own the
// ropeclient.Client unless Dial made it.
type Client struct {
	rc    *ropeclient.Client
	mc    *mediaclient.Client
	opts  Options
	owned bool

	// mu guards routers.
	mu sync.Mutex
	// routers keeps one MafaldaRouter per live mirror object.
	routers map[*ropeclient.Object]*MafaldaRouter
}

var _ mafalda.Service = (*Client)(nil)

// New returns the Mafalda served on rc's server. opts may be nil.
func New(rc *ropeclient.Client, opts *Options) *Client {
	c := &Client{rc: rc, routers: map[*ropeclient.Object]*MafaldaRouter{}}
	if opts != nil {
		c.opts = *opts
	}
	if c.opts.RootID == "" {
		c.opts.RootID = defaultRootID
	}
	if c.opts.Logger == nil {
		c.opts.Logger = slog.Default()
	}
	var mopts mediaclient.Options
	if c.opts.Media != nil {
		mopts = *c.opts.Media
	}
	mopts.Extends = maps.Clone(mopts.Extends)
	if mopts.Extends == nil {
		mopts.Extends = map[string]string{}
	}
	mopts.Extends[typeMafaldaRouter] = "Router"
	c.mc = mediaclient.New(rc, &mopts)
	return c
}

// Dial connects to the server at url (a ROPE WebSocket URL) and returns
// its Mafalda once the server's objects are mirrored. Close the Client to
// close the connection.
func Dial(ctx context.Context, url string, opts *Options) (*Client, error) {
	var ropts *ropeclient.Options
	if opts != nil {
		ropts = opts.ROPE
	}
	rc, err := ropeclient.Dial(ctx, url, ropts)
	if err != nil {
		return nil, fmt.Errorf("mafaldaclient: %w", err)
	}
	c := New(rc, opts)
	c.owned = true
	return c, nil
}

// Close closes the connection if Dial made it; the server's Mafalda and
// its MafaldaRouters stay. It is idempotent.
func (c *Client) Close() error {
	if c.owned {
		return c.rc.Close()
	}
	return nil
}

// ROPE returns the ROPE client it runs on.
func (c *Client) ROPE() *ropeclient.Client { return c.rc }

// API returns the media API served beside the Mafalda (the server's
// Mafalda.API()): its workers are views whose routers are MafaldaRouters.
func (c *Client) API() media.API { return c.mc }

// Media returns the mediaclient the MafaldaRouters run on.
func (c *Client) Media() *mediaclient.Client { return c.mc }

// SupportedRtpCapabilities returns the server's (empty if it serves no
// Mafalda).
func (c *Client) SupportedRtpCapabilities() media.RtpCapabilities {
	var caps media.RtpCapabilities
	if root, ok := c.rc.Object(c.opts.RootID); ok {
		_ = root.DecodeProp("supportedRtpCapabilities", &caps)
	}
	return caps
}

// call calls a method of the Mafalda root.
func (c *Client) call(ctx context.Context, method string, params, result any) error {
	root, ok := c.rc.Object(c.opts.RootID)
	if !ok {
		return fmt.Errorf("mafaldaclient: no %q object on the server: %w", c.opts.RootID, media.ErrNotFound)
	}
	if params == nil {
		params = struct{}{}
	}
	if err := root.Call(ctx, method, params, result); err != nil {
		return fromWire(fmt.Errorf("mafaldaclient: Mafalda.%s: %w", method, err))
	}
	return nil
}

// CreateMafaldaRouter asks the server for a MafaldaRouter.
func (c *Client) CreateMafaldaRouter(ctx context.Context, o *mafalda.MafaldaRouterOptions) (*MafaldaRouter, error) {
	var params any = struct{}{}
	if o != nil {
		params = o
	}
	var res rope.CreateResult
	if err := c.call(ctx, "createMafaldaRouter", params, &res); err != nil {
		return nil, err
	}
	mr, ok := c.mafaldaRouter(res.ID)
	if !ok {
		return nil, media.NewError(media.ErrClosed, "createMafaldaRouter: %s closed already", res.ID)
	}
	return mr, nil
}

// CreateRouter is CreateMafaldaRouter returning the mafalda.Router
// interface.
func (c *Client) CreateRouter(ctx context.Context, o *mafalda.MafaldaRouterOptions) (mafalda.Router, error) {
	mr, err := c.CreateMafaldaRouter(ctx, o)
	if err != nil {
		return nil, err
	}
	return mr, nil
}

// GetMafaldaRouter returns the MafaldaRouter with that id if the mirror
// holds it, whichever client created it.
func (c *Client) GetMafaldaRouter(id string) (mafalda.Router, bool) {
	mr, ok := c.mafaldaRouter(id)
	if !ok {
		return nil, false
	}
	return mr, true
}

// MafaldaRouters returns the MafaldaRouters in the mirror, sorted by id.
func (c *Client) MafaldaRouters() []*MafaldaRouter {
	var out []*MafaldaRouter
	for _, o := range c.rc.Objects() {
		if o.Type() == typeMafaldaRouter {
			if mr, ok := c.mafaldaRouter(o.ID()); ok {
				out = append(out, mr)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID() < out[j].ID() })
	return out
}

// GetResourceUsages returns the resource usage of every worker.
func (c *Client) GetResourceUsages(ctx context.Context) ([]mafalda.WorkerUsage, error) {
	var out []mafalda.WorkerUsage
	if err := c.call(ctx, "getResourceUsages", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Dump returns the state of every worker and MafaldaRouter.
func (c *Client) Dump(ctx context.Context) (*mafalda.Dump, error) {
	var d mafalda.Dump
	if err := c.call(ctx, "dump", nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// CloseAllMafaldaRouters closes every MafaldaRouter on the server.
func (c *Client) CloseAllMafaldaRouters(ctx context.Context) error {
	return c.call(ctx, "closeAllMafaldaRouters", nil, nil)
}

// mafaldaRouter returns the wrapper of the MafaldaRouter with that ROPE
// id, making it on first use.
func (c *Client) mafaldaRouter(id string) (*MafaldaRouter, bool) {
	o, ok := c.rc.Object(id)
	if !ok || o.Type() != typeMafaldaRouter {
		return nil, false
	}
	x, ok := c.mc.Object(id)
	if !ok {
		return nil, false
	}
	r, ok := x.(media.Router)
	if !ok {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if mr, ok := c.routers[o]; ok {
		return mr, true
	}
	mr := &MafaldaRouter{mediaRouter: r, c: c, o: o}
	if !o.Closed() {
		c.routers[o] = mr
		o.OnClose(func() {
			c.mu.Lock()
			delete(c.routers, o)
			c.mu.Unlock()
		})
	}
	return mr, true
}

// children returns the media objects under o of type T, sorted by id.
func children[T any](c *Client, o *ropeclient.Object) []T {
	var objs []*ropeclient.Object
	for _, x := range c.rc.Objects() {
		if x.ParentID() == o.ID() && !x.Closed() {
			objs = append(objs, x)
		}
	}
	slices.SortFunc(objs, func(a, b *ropeclient.Object) int { return strings.Compare(a.ID(), b.ID()) })
	out := []T{}
	for _, x := range objs {
		if m, ok := c.mc.Object(x.ID()); ok {
			if t, ok := m.(T); ok {
				out = append(out, t)
			}
		}
	}
	return out
}
