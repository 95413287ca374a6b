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
	"time"

	"github.com/coder/websocket"
	"github.com/ropehq/rope/rope"
)

// Conn is one client connection.
type Conn struct {
	srv   *Server
	ws    *websocket.Conn
	req   *http.Request
	log   *slog.Logger
	queue *sendQueue
	slots chan struct{} // one per request in flight

	handlers sync.WaitGroup    // running method calls
	closeReq chan closeRequest // capacity 1; the writer performs the close
}

// Request is the HTTP request that opened the connection.
func (c *Conn) Request() *http.Request { return c.req }

// Notify sends an unsequenced notification to this connection only.
func (c *Conn) Notify(method string, params any) error {
	msg, err := rope.EncodeNotification(method, params)
	if err != nil {
		return fmt.Errorf("ropeserver: encode %s: %w", method, err)
	}
	c.queue.push(msg)
	return nil
}

type closeRequest struct {
	code   websocket.StatusCode
	reason string
}

// closeWith asks the writer to close the connection with code; the first
// request wins.
func (c *Conn) closeWith(code websocket.StatusCode, reason string) {
	select {
	case c.closeReq <- closeRequest{code, reason}:
	default:
	}
}

// ServeHTTP admits the handshake (handshake.go), upgrades it to a WebSocket
// and serves ROPE on it until either side closes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, release := s.handshake(w, r)
	if ws == nil {
		return
	}
	defer release()
	s.serve(r, ws)
}

func (s *Server) serve(r *http.Request, ws *websocket.Conn) {
	c := &Conn{
		srv: s, ws: ws, req: r,
		log:      s.log.With("remote", r.RemoteAddr),
		queue:    newSendQueue(s.opts.SendQueueLimit),
		slots:    make(chan struct{}, s.opts.MaxInFlight),
		closeReq: make(chan closeRequest, 1),
	}
	epoch, seq, resume := resumeRequest(r)
	payload, err := s.payload(r)
	if err != nil {
		c.log.Error("ropeserver: connection payload", "err", err)
		ws.Close(websocket.StatusInternalError, "payload failed")
		return
	}
	s.joinSession(c, r) // lease.go
	defer s.leaveSession(c)
	if !s.attach(c, epoch, seq, resume, payload) {
		ws.Close(websocket.StatusGoingAway, "server closing")
		return
	}
	defer s.detach(c)
	ctx, cancel := context.WithCancel(context.Background())
	var loops sync.WaitGroup
	loops.Go(func() { c.writeLoop(ctx) })
	if s.opts.PingInterval > 0 {
		loops.Go(func() { c.pingLoop(ctx) })
	}
	c.readLoop(ctx)
	cancel()
	c.handlers.Wait()
	loops.Wait()
	ws.CloseNow()
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
		typ, data, err := c.ws.Read(ctx)
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
		c.log.Info("ropeserver: closed connection: message too big", "limit", c.srv.opts.MaxMessageSize)
	case websocket.StatusNormalClosure, websocket.StatusGoingAway:
		c.log.Debug("ropeserver: connection closed", "err", err)
	default:
		c.log.Debug("ropeserver: connection ended", "err", err)
	}
}

// start runs the request in its own goroutine, or answers Overloaded when
// the connection already has MaxInFlight running.
func (c *Conn) start(ctx context.Context, msg *rope.Message) {
	select {
	case c.slots <- struct{}{}:
	default:
		if msg.ID != nil {
			c.replyError(msg.ID, rope.NewError(rope.CodeOverloaded, "more than %d requests in flight", cap(c.slots)))
		}
		return
	}
	c.handlers.Go(func() {
		defer func() { <-c.slots }()
		result, err := c.srv.dispatch(ctx, c, msg)
		if msg.ID == nil {
			return
		}
		if err != nil {
			c.replyError(msg.ID, c.srv.wireError(err, msg.Method))
			return
		}
		c.queue.push(rope.AppendResponse(nil, msg.ID, result))
	})
}

func (c *Conn) replyError(id rope.ID, e *rope.Error) {
	c.queue.push(rope.AppendErrorResponse(nil, id, e))
}

func (c *Conn) writeLoop(ctx context.Context) {
	var spare [][]byte
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-c.closeReq:
			_ = c.ws.Close(r.code, r.reason)
			return
		case <-c.queue.ready:
		}
		msgs, overflow := c.queue.take(spare)
		if overflow {
			c.log.Warn("ropeserver: closing slow connection", "queued", len(msgs))
			_ = c.ws.Close(rope.CloseSlowConsumer, "slow consumer: send queue overflow")
			return
		}
		if err := c.writeBatch(ctx, msgs); err != nil {
			c.log.Debug("ropeserver: write failed", "err", err)
			c.ws.CloseNow()
			return
		}
		clear(msgs)
		spare = msgs
	}
}

// writeBatch writes what one take returned; WriteTimeout bounds the batch
// (one timer per batch, not per message).
func (c *Conn) writeBatch(ctx context.Context, msgs [][]byte) error {
	ctx, cancel := context.WithTimeout(ctx, c.srv.opts.WriteTimeout)
	defer cancel()
	for _, m := range msgs {
		if err := c.ws.Write(ctx, websocket.MessageText, m); err != nil {
			return err
		}
	}
	return nil
}

func (c *Conn) pingLoop(ctx context.Context) {
	t := time.NewTicker(c.srv.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, c.srv.opts.PongTimeout)
		err := c.ws.Ping(pctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			c.log.Info("ropeserver: keepalive failed, closing", "err", err)
			c.ws.CloseNow()
			return
		}
	}
}
