package ropeserver

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"github.com/coder/websocket"
	"github.com/ropehq/rope/rope"
)

// Conn is one client connection.
type Conn struct {
	srv   *Server
	ws    *websocket.Conn
	req   *http.Request
	queue *sendQueue
	slots chan struct{} // one per request in flight
	grant *Grant        // nil: full access (grant.go)
	view  *view         // nil: sees every object (view.go); guarded by srv.mu

	handlers sync.WaitGroup // running method calls
	ping     connTimer      // the keepalive
	grace    connTimer      // drops the connection if its close frame is stuck
	expiry   connTimer      // closes the connection when its grant expires

	closeHooks connHooks // run once the connection ended (conn_notify.go)
}

// Request is the HTTP request that opened the connection. Its Context is
// done once the handshake is over.
func (c *Conn) Request() *http.Request { return c.req }

// Notify sends an unsequenced notification to this connection only.
func (c *Conn) Notify(method string, params any) error {
	msg, err := c.srv.encodeAppNotification(method, params)
	if err != nil {
		return err
	}
	c.push(msg)
	return nil
}

func (c *Conn) logger() *slog.Logger { return c.srv.log.With("remote", c.req.RemoteAddr) }

// ServeHTTP admits the handshake (handshake.go), upgrades it to a WebSocket
// and returns; the server serves ROPE on it, in a goroutine it owns, until
// either side closes. The handshake's response announces the largest
// message the server may send (rope.HeaderOutboundLimit).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, payload, grant, release := s.handshake(w, r)
	if ws == nil {
		return
	}
	s.serve(r, ws, payload, grant, release)
}

// serve registers the connection, queues its rope.init and starts the
// connection's goroutine; the handler then returns, so net/http releases
// what it held for the request. release gives back the connection slot.
func (s *Server) serve(r *http.Request, ws *websocket.Conn, payload json.RawMessage, grant *Grant, release func()) {
	c := &Conn{
		srv: s, ws: ws, req: r, grant: grant,
		slots: make(chan struct{}, s.opts.MaxInFlight),
	}
	c.queue = newSendQueue(s.opts.SendQueueLimit, s.opts.SendQueueBytes, c.writeLoop)
	epoch, seq, resume := resumeRequest(r)
	s.joinSession(c, r) // lease.go
	init, ok := s.attach(c, epoch, seq, resume)
	if !ok {
		ws.Close(websocket.StatusGoingAway, "server closing")
		s.leaveSession(c)
		release()
		return
	}
	msg, err := init.encode(payload)
	if err != nil {
		c.logger().Error("ropeserver: encode rope.init", "err", err)
		ws.Close(websocket.StatusInternalError, "init failed")
		c.queue.end()
		s.detach(c)
		s.leaveSession(c)
		release()
		return
	}
	c.queue.release(msg)
	go c.run(release) // owned: s.connsWG counts it
}

// run serves the connection until either side closes it, then gives back
// its slot. It is the connection's one long-lived goroutine, and starts
// with a small stack.
func (c *Conn) run(release func()) {
	ctx, cancel := context.WithCancel(context.Background())
	c.startPing(ctx)
	c.startExpiry()
	c.readLoop(ctx)
	cancel()
	c.handlers.Wait()
	c.ping.stop()
	c.expiry.stop()
	c.grace.stop()
	c.ws.CloseNow()
	c.queue.end()
	c.srv.detach(c)
	c.srv.leaveSession(c)
	c.closeHooks.run()
	release()
}

// resumeRequest reads epoch and seq (spec §7.1.2). A query that does not
// parse, or that repeats either key, asks for no resume: a proxy and the
// server might read different values.
func resumeRequest(r *http.Request) (epoch string, seq uint64, ok bool) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil || len(q[rope.QueryEpoch]) != 1 || len(q[rope.QuerySeq]) != 1 {
		return "", 0, false
	}
	epoch = q.Get(rope.QueryEpoch)
	seq, err = strconv.ParseUint(q.Get(rope.QuerySeq), 10, 64)
	return epoch, seq, epoch != "" && err == nil
}

func (s *Server) payload(r *http.Request) (json.RawMessage, error) {
	if s.opts.Payload == nil {
		return nil, nil
	}
	return marshalValue(s.opts.Payload(r))
}

func (c *Conn) readLoop(ctx context.Context) {
	for {
		// Closing the connection ends the read: it needs no context.
		typ, data, err := c.ws.Read(context.Background())
		if err != nil {
			c.logReadEnd(err)
			return
		}
		if typ != websocket.MessageText {
			c.replyError(rope.NullID, rope.NewError(rope.CodeInvalidRequest, "binary frames are not supported"))
			continue
		}
		msg, id, rerr := rope.Decode(data)
		if rerr != nil {
			c.replyError(id, rerr)
			continue
		}
		if !msg.IsRequest() {
			continue // the server sends no requests; stray responses are ignored
		}
		c.start(ctx, msg)
	}
}

func (c *Conn) logReadEnd(err error) {
	switch websocket.CloseStatus(err) {
	case websocket.StatusMessageTooBig:
		c.logger().Info("ropeserver: closed connection: message too big", "limit", c.srv.opts.MaxMessageSize)
	case websocket.StatusNormalClosure, websocket.StatusGoingAway:
		c.logger().Debug("ropeserver: connection closed", "err", err)
	default:
		c.logger().Debug("ropeserver: connection ended", "err", err)
	}
}

// start runs the request in its own goroutine, or answers Overloaded when
// the connection already has MaxInFlight running, or the server
// MaxInFlightTotal.
func (c *Conn) start(ctx context.Context, msg *rope.Message) {
	select {
	case c.slots <- struct{}{}:
	default:
		e := rope.NewError(rope.CodeOverloaded, "more than %d requests in flight", cap(c.slots))
		c.srv.observeCall(msg, "", e)
		if msg.ID != nil {
			c.replyError(msg.ID, e)
		}
		return
	}
	if !c.srv.acquireCall() {
		<-c.slots
		e := rope.NewError(rope.CodeOverloaded, "the server has more than %d requests in flight", c.srv.opts.MaxInFlightTotal)
		c.srv.observeCall(msg, "", e)
		if msg.ID != nil {
			c.replyError(msg.ID, e)
		}
		return
	}
	c.handlers.Go(func() {
		defer func() {
			c.srv.releaseCall()
			<-c.slots
		}()
		var target callTarget
		result, err := c.srv.dispatch(ctx, c, msg, &target)
		label := target.label
		if msg.ID == nil {
			c.srv.observeCall(msg, label, nil)
			return
		}
		if err == nil && int64(len(result)) > c.srv.opts.MaxStateBytes {
			// An internal error: the server promised clients no larger message.
			err = fmt.Errorf("result of %d bytes exceeds MaxStateBytes (%d)", len(result), c.srv.opts.MaxStateBytes)
		}
		if err != nil {
			e := c.srv.wireError(err, msg.Method, target.object)
			c.srv.observeCall(msg, label, e)
			c.replyError(msg.ID, e)
			return
		}
		c.srv.observeCall(msg, label, nil)
		c.push(rope.AppendResponse(nil, msg.ID, result))
	})
}

func (c *Conn) replyError(id rope.ID, e *rope.Error) {
	c.push(rope.AppendErrorResponse(nil, id, e))
}
