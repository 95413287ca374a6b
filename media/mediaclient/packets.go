package mediaclient

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/event"
)

// Packet-level APIs of DirectTransports (spec/media-v1.md §6.2): a
// consumer's OnRtp and a direct transport's OnRtcp subscribe this
// connection to the server's "media.rtp" and "media.rtcp" notifications
// while they have a listener, and again after each reconnection
// (packets meanwhile are lost, as on a network).

// Notification methods of the packet streams (mediaserver.NotifyRTP,
// NotifyRTCP).
const (
	notifyRTP  = "media.rtp"
	notifyRTCP = "media.rtcp"
)

// packetNotification mirrors mediaserver.PacketNotification.
type packetNotification struct {
	Object string `json:"object"`
	Packet []byte `json:"packet"`
}

// packetSubs are the client's packet subscriptions.
type packetSubs struct {
	// mu guards the fields below.
	mu sync.Mutex
	// byKey maps method and ROPE id to the subscription.
	byKey map[packetKey]*packetSub
	// hooked is set once the notification and reconnection handlers
	// are registered.
	hooked bool
}

type packetKey struct{ method, id string }

// packetSub is one object's packet stream.
type packetSub struct {
	b                      *base
	key                    packetKey
	subscribe, unsubscribe string
	fns                    event.Listeners[[]byte]
	// mu serialises subscribe and unsubscribe calls and guards
	// subscribed.
	mu         sync.Mutex
	subscribed bool
}

// onPackets registers fn for the object's packets of the notification
// method, subscribing with the subscribe call for the first listener and
// unsubscribing after the last. A failed subscription is logged.
func (b *base) onPackets(method, subscribe, unsubscribe string, fn func([]byte)) func() {
	if fn == nil {
		return func() {}
	}
	c := b.c
	c.packets.mu.Lock()
	c.hookPacketsLocked()
	key := packetKey{method, b.o.ID()}
	sub := c.packets.byKey[key]
	fresh := sub == nil
	if fresh {
		sub = &packetSub{b: b, key: key, subscribe: subscribe, unsubscribe: unsubscribe}
		c.packets.byKey[key] = sub
	}
	off := sub.fns.On(fn)
	c.packets.mu.Unlock()
	if fresh {
		b.o.OnClose(func() { c.forgetPackets(sub) })
		if b.o.Closed() {
			c.forgetPackets(sub)
		}
	}
	sub.sync()
	var once sync.Once
	return func() {
		once.Do(func() {
			off()
			sub.sync()
		})
	}
}

// hookPacketsLocked registers the client's notification and reconnection
// handlers once; call with packets.mu held.
func (c *Client) hookPacketsLocked() {
	if c.packets.hooked {
		return
	}
	c.packets.hooked = true
	c.packets.byKey = make(map[packetKey]*packetSub)
	c.rc.OnNotification(c.onPacket)
	c.rc.OnConnected(func() {
		// A new connection has no subscriptions: make them again (calls
		// may be made from the client's callbacks).
		for _, sub := range c.packetSubs() {
			sub.resubscribe()
		}
	})
}

func (c *Client) packetSubs() []*packetSub {
	c.packets.mu.Lock()
	defer c.packets.mu.Unlock()
	out := make([]*packetSub, 0, len(c.packets.byKey))
	for _, s := range c.packets.byKey {
		out = append(out, s)
	}
	return out
}

// onPacket hands a packet notification to its object's listeners.
func (c *Client) onPacket(method string, params json.RawMessage) {
	if method != notifyRTP && method != notifyRTCP {
		return
	}
	var n packetNotification
	if err := json.Unmarshal(params, &n); err != nil {
		c.opts.Logger.Error("mediaclient: bad packet notification", "method", method, "err", err)
		return
	}
	c.packets.mu.Lock()
	sub := c.packets.byKey[packetKey{method, n.Object}]
	c.packets.mu.Unlock()
	if sub != nil {
		sub.fns.Emit(n.Packet)
	}
}

// sync subscribes when the stream has listeners, else unsubscribes. The
// subscription stays in the client's table until its object closes, so
// one value per object orders its calls.
func (s *packetSub) sync() {
	s.mu.Lock()
	defer s.mu.Unlock()
	want := s.fns.Len() > 0
	if want == s.subscribed || s.b.o.Closed() {
		return
	}
	call := s.unsubscribe
	if want {
		call = s.subscribe
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.b.c.opts.Timeout)
	defer cancel()
	err := s.b.call(ctx, call, nil, nil)
	s.subscribed = want && err == nil
	if err != nil && !s.b.o.Closed() {
		s.b.c.opts.Logger.Error("mediaclient: "+call, "object", s.b.o.ID(), "err", err)
	}
}

// resubscribe subscribes again on a new connection.
func (s *packetSub) resubscribe() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.subscribed || s.b.o.Closed() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.b.c.opts.Timeout)
	defer cancel()
	if err := s.b.call(ctx, s.subscribe, nil, nil); err != nil && !s.b.o.Closed() {
		s.b.c.opts.Logger.Error("mediaclient: "+s.subscribe, "object", s.b.o.ID(), "err", err)
	}
}

// forgetPackets drops the subscription of a closed object.
func (c *Client) forgetPackets(s *packetSub) {
	c.packets.mu.Lock()
	defer c.packets.mu.Unlock()
	if c.packets.byKey[s.key] == s {
		delete(c.packets.byKey, s.key)
	}
}

// sendPacket sends one packet with a call, waiting at most
// Options.Timeout.
func (b *base) sendPacket(method string, packet []byte) error {
	if b.o.Closed() {
		return media.NewError(media.ErrClosed, "%s %s closed", b.o.Type(), b.o.ID())
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.c.opts.Timeout)
	defer cancel()
	return b.call(ctx, method, map[string][]byte{"packet": packet}, nil)
}
