package mediaclient

import (
	"cmp"
	"encoding/json"

	"github.com/ropehq/rope/ropeclient"
)

// closeEvents is the event an object emits when its parent closes under
// it (mediasoup's "workerclose", "routerclose", "transportclose"), by the
// parent's ROPE type.
var closeEvents = map[string]string{
	"Worker":          "workerclose",
	"Router":          "routerclose",
	"WebRtcTransport": "transportclose",
	"PlainTransport":  "transportclose",
	"PipeTransport":   "transportclose",
	"DirectTransport": "transportclose",
}

// Bury ends the connection for good because the server behind it is gone
// (its process died, or a cluster lost it), and closes every mirrored
// object as mediasoup closes the objects of a dead worker: deepest first,
// producers and consumers after "transportclose", transports and
// observers after "routerclose", routers after "workerclose", a worker's
// routers before its WebRtcServers, and each worker after "died" with
// cause. Every listener fires as it would for a live server. The Client
// fails every later call with media.ErrClosed.
func (c *Client) Bury(cause error) {
	c.buried.Store(true)
	died, _ := json.Marshal(cause.Error())
	c.closeMirror(died)
}

// Retire ends the connection for good because the server behind it left
// cleanly (it closed everything it ran, and said so other than over this
// connection): every mirrored object closes as Bury closes it, but the
// workers close without "died".
func (c *Client) Retire() { c.closeMirror(nil) }

// closeMirror closes the mirror with mediasoup's cascade events; died,
// when set, is the data of each worker's "died".
func (c *Client) closeMirror(died json.RawMessage) {
	// The catalogue's events, read before the mirror locks for CloseLocal.
	declares := map[string]map[string]bool{}
	for _, o := range c.rc.Objects() {
		if _, ok := declares[o.Type()]; ok {
			continue
		}
		ti, _ := c.rc.Type(o.Type())
		declares[o.Type()] = map[string]bool{}
		for _, e := range ti.Events {
			declares[o.Type()][e] = true
		}
	}
	_ = c.rc.CloseLocal(&ropeclient.LocalCloseOptions{
		LastEvent: func(o, parent *ropeclient.Object) (string, json.RawMessage) {
			if c.catalogueType(o.Type()) == typeWorker {
				if died == nil {
					return "", nil
				}
				return "died", died
			}
			if parent == nil {
				return "", nil
			}
			if ev := closeEvents[c.catalogueType(parent.Type())]; declares[o.Type()][ev] {
				return ev, nil
			}
			return "", nil
		},
		Order: func(a, b *ropeclient.Object) int {
			return cmp.Compare(c.closesLast(a), c.closesLast(b))
		},
	})
}

// closesLast is 1 for the objects a worker closes after its routers.
func (c *Client) closesLast(o *ropeclient.Object) int {
	if c.catalogueType(o.Type()) == "WebRtcServer" {
		return 1
	}
	return 0
}
