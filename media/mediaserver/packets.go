package mediaserver

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeserver"
)

// The packet-level APIs of DirectTransports (spec/media-v1.md §6.2):
// Producer.send and DirectTransport.sendRtcp are calls carrying one
// packet each; a consumer's "rtp" and a direct transport's "rtcp" reach
// only the connections that subscribed to them, as unsequenced
// notifications (NotifyRTP, NotifyRTCP) that are neither replayed nor
// kept, and that are dropped while the connection has
// PacketQueueBytes or more waiting to be written.

// Notification methods of the packet streams.
const (
	NotifyRTP  = "media.rtp"
	NotifyRTCP = "media.rtcp"
)

// Defaults of the packet options.
const (
	// DefaultMaxPacketBytes bounds one RTP or RTCP packet either way:
	// the media path's largest packet (an Ethernet MTU).
	DefaultMaxPacketBytes = 1500
	// DefaultMaxPacketSubscriptions bounds the packet streams one
	// connection subscribes to.
	DefaultMaxPacketSubscriptions = 64
	// DefaultPacketQueueBytes is the backlog of a connection beyond which
	// packets to it are dropped.
	DefaultPacketQueueBytes = 1 << 20
)

// PacketParams are the params of Producer.send and
// DirectTransport.sendRtcp.
type PacketParams struct {
	// Packet is one RTP (send) or RTCP (sendRtcp) packet, base64 in JSON.
	Packet []byte `json:"packet"`
}

// PacketNotification are the params of NotifyRTP and NotifyRTCP.
type PacketNotification struct {
	// Object is the ROPE id of the consumer (rtp) or transport (rtcp).
	Object string `json:"object"`
	// Packet is the packet, base64 in JSON.
	Packet []byte `json:"packet"`
}

// packetStreams are the subscriptions of connections to packet streams.
type packetStreams struct {
	// mu guards the fields below. It is taken after a packetStream's mu.
	mu      sync.Mutex
	streams map[*ropeserver.Object]*packetStream
	perConn map[*ropeserver.Conn]int
}

// packetStream is one object's packet stream and who subscribed to it.
type packetStream struct {
	method string
	// subs is what the packet path reads: the subscribed connections.
	subs atomic.Pointer[[]*ropeserver.Conn]

	// mu guards the fields below; held over attach and detach, which may
	// call a server behind this one.
	mu     sync.Mutex
	conns  map[*ropeserver.Conn]func() bool // each one's OnClose stop
	off    func()                           // the media listener, while subscribed
	closed bool
}

// PacketSubscriptions is the number of packet subscriptions held by
// connections.
func (s *Server) PacketSubscriptions() int {
	s.packets.mu.Lock()
	defer s.packets.mu.Unlock()
	n := 0
	for _, c := range s.packets.perConn {
		n += c
	}
	return n
}

func (s *Server) maxPacketBytes() int { return orDefault(s.opts.MaxPacketBytes, DefaultMaxPacketBytes) }

// checkPacket refuses a packet beyond MaxPacketBytes.
func (s *Server) checkPacket(p *PacketParams) error {
	if max := s.maxPacketBytes(); len(p.Packet) > max {
		return &media.ParamError{Field: "packet", Reason: fmt.Sprintf("%d bytes exceed the server's limit of %d", len(p.Packet), max)}
	}
	return nil
}

// attachFunc starts delivering an object's packets to fn and returns
// the off of its listener.
type attachFunc func(o *ropeserver.Object, fn func([]byte)) (off func(), err error)

// subscribeMethod is a method subscribing the calling connection to the
// object's packets, which attach starts delivering (returning the off
// of its listener).
func (s *Server) subscribeMethod(notify string, attach attachFunc) ropeserver.MethodFunc {
	return func(ctx context.Context, call *ropeserver.Call) (any, error) {
		if call.Conn == nil {
			return nil, rope.NewError(rope.CodeInvalidState, "%s needs a connection", call.Method)
		}
		return nil, s.WireError(s.subscribe(call.Conn, call.Object, notify, attach))
	}
}

// unsubscribeMethod ends the calling connection's subscription.
func (s *Server) unsubscribeMethod() ropeserver.MethodFunc {
	return func(ctx context.Context, call *ropeserver.Call) (any, error) {
		if call.Conn != nil {
			s.unsubscribe(call.Conn, call.Object)
		}
		return nil, nil
	}
}

func (s *Server) stream(o *ropeserver.Object, notify string) *packetStream {
	ps := &s.packets
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.streams == nil {
		ps.streams = make(map[*ropeserver.Object]*packetStream)
		ps.perConn = make(map[*ropeserver.Conn]int)
	}
	st := ps.streams[o]
	if st == nil {
		st = &packetStream{method: notify, conns: make(map[*ropeserver.Conn]func() bool)}
		ps.streams[o] = st
		// Registered last: it runs at once if o has closed.
		defer o.OnClose(func() { s.endStream(o, st) })
	}
	return st
}

func (s *Server) subscribe(conn *ropeserver.Conn, o *ropeserver.Object, notify string, attach attachFunc) error {
	st := s.stream(o, notify)
	if err := s.addSub(st, conn, o, attach); err != nil {
		return err
	}
	// Outside st.mu: it runs at once if the connection has ended.
	stop := conn.OnClose(func() { s.unsubscribe(conn, o) })
	st.mu.Lock()
	defer st.mu.Unlock()
	if prev, ok := st.conns[conn]; ok && prev == nil {
		st.conns[conn] = stop
	} else {
		stop() // unsubscribed meanwhile
	}
	return nil
}

// addSub adds conn to the stream's subscribers, attaching the stream's
// listener for the first.
func (s *Server) addSub(st *packetStream, conn *ropeserver.Conn, o *ropeserver.Object, attach attachFunc) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return media.NewError(media.ErrClosed, "%s %s closed", o.Type(), o.ID())
	}
	if _, ok := st.conns[conn]; ok {
		return nil
	}
	if err := s.countConn(conn, 1); err != nil {
		return err
	}
	if st.off == nil {
		id := o.ID()
		queue := int64(orDefault(s.opts.PacketQueueBytes, DefaultPacketQueueBytes))
		off, err := attach(o, func(b []byte) { st.deliver(id, b, queue) })
		if err != nil {
			_ = s.countConn(conn, -1)
			return err
		}
		st.off = off
	}
	st.conns[conn] = nil
	st.publish()
	return nil
}

// countConn adds n to the connection's subscriptions, refusing one
// beyond MaxPacketSubscriptions.
func (s *Server) countConn(conn *ropeserver.Conn, n int) error {
	ps := &s.packets
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if limit := orDefault(s.opts.MaxPacketSubscriptions, DefaultMaxPacketSubscriptions); n > 0 && limit > 0 && ps.perConn[conn] >= limit {
		return rope.NewError(rope.CodeInvalidState, "at most %d packet subscriptions per connection", limit)
	}
	if ps.perConn[conn] += n; ps.perConn[conn] <= 0 {
		delete(ps.perConn, conn)
	}
	return nil
}

func (s *Server) unsubscribe(conn *ropeserver.Conn, o *ropeserver.Object) {
	s.packets.mu.Lock()
	st := s.packets.streams[o]
	s.packets.mu.Unlock()
	if st == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	stop, ok := st.conns[conn]
	if !ok {
		return
	}
	delete(st.conns, conn)
	if stop != nil {
		stop()
	}
	_ = s.countConn(conn, -1)
	st.publish()
	if len(st.conns) == 0 && st.off != nil {
		st.off()
		st.off = nil
	}
}

// endStream forgets the stream of a closed object.
func (s *Server) endStream(o *ropeserver.Object, st *packetStream) {
	st.mu.Lock()
	st.closed = true
	conns := st.conns
	st.conns = map[*ropeserver.Conn]func() bool{}
	st.publish()
	if st.off != nil {
		st.off()
		st.off = nil
	}
	st.mu.Unlock()
	for conn, stop := range conns {
		if stop != nil {
			stop()
		}
		_ = s.countConn(conn, -1)
	}
	s.packets.mu.Lock()
	delete(s.packets.streams, o)
	s.packets.mu.Unlock()
}

// publish updates what the packet path reads; call with mu held.
func (st *packetStream) publish() {
	subs := make([]*ropeserver.Conn, 0, len(st.conns))
	for c := range st.conns {
		subs = append(subs, c)
	}
	st.subs.Store(&subs)
}

// deliver sends one packet to every subscribed connection that is not
// backlogged. It runs on the media packet path: b is valid during the
// call only, and is encoded before it returns.
func (st *packetStream) deliver(id string, b []byte, queue int64) {
	subs := st.subs.Load()
	if subs == nil {
		return
	}
	n := PacketNotification{Object: id, Packet: b}
	for _, c := range *subs {
		_, _ = c.NotifyLossy(st.method, n, queue)
	}
}

// attachRtp subscribes to the RTP of a consumer of a DirectTransport.
func attachRtp(o *ropeserver.Object, fn func([]byte)) (func(), error) {
	c, ok := o.Value().(media.Consumer)
	if !ok {
		return nil, fmt.Errorf("mediaserver: %T is not a consumer", o.Value())
	}
	if p := o.Parent(); p == nil || !isDirect(p.Value()) {
		return nil, &media.ParamError{Field: "consumer", Reason: "not on a DirectTransport"}
	}
	return c.OnRtp(fn), nil
}

// attachRtcp subscribes to a direct transport's RTCP.
func attachRtcp(o *ropeserver.Object, fn func([]byte)) (func(), error) {
	t, ok := o.Value().(media.DirectTransport)
	if !ok {
		return nil, &media.ParamError{Field: "transport", Reason: "not a DirectTransport"}
	}
	return t.OnRtcp(fn), nil
}

func isDirect(m any) bool {
	_, ok := m.(media.DirectTransport)
	return ok
}
