package ropeclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/ropehq/rope/rope"
)

var errSessionEnded = errors.New("connection ended")

// sessions holds the shared connections, by URL and token.
var sessions = struct {
	sync.Mutex
	m map[string]*session
}{m: make(map[string]*session)}

// session is one connection and the mirror it keeps; several clients may
// share it.
type session struct {
	key    string
	url    string
	opts   Options
	log    *slog.Logger
	events *dispatcher
	stop   context.CancelFunc
	done   chan struct{} // closed when run returns

	// mu guards everything below.
	mu        sync.Mutex
	clients   map[*Client]struct{}
	state     ReadyState
	ws        *websocket.Conn
	connected chan struct{} // closed while CONNECTED
	endErr    error         // why the session ended, once it has
	epoch     string
	seq       uint64
	view      bool // rope.init said the connection has a view: seq has gaps (spec §18)
	types     map[string]rope.TypeInfo
	objects   map[string]*Object
	payload   json.RawMessage
	sessionID string // the server session's id (spec §17), from rope.init
	nextID    int64
	pending   map[int64]chan *rope.Message
}

// attachSession returns the session c should use, starting one if needed.
func attachSession(c *Client) *session {
	key := c.url + "\x00" + c.opts.Token
	sessions.Lock()
	defer sessions.Unlock()
	if s, ok := sessions.m[key]; ok && !c.opts.Dedicated {
		s.mu.Lock()
		s.clients[c] = struct{}{}
		connected := s.state == Connected
		s.mu.Unlock()
		if connected {
			// Joining a live connection: this instance opens and connects
			// without a new WebSocket (spec §12.5.2).
			s.events.post(func() {
				c.onOpen.each(func(f func()) { f() })
				c.onConnected.each(func(f func()) { f() })
			})
		}
		return s
	}
	s := newSession(key, c)
	if !c.opts.Dedicated {
		sessions.m[key] = s
	}
	return s
}

func newSession(key string, c *Client) *session {
	ctx, stop := context.WithCancel(context.Background())
	s := &session{
		key: key, url: c.url, opts: c.opts, log: c.opts.Logger,
		events: newDispatcher(), stop: stop, done: make(chan struct{}),
		clients:   map[*Client]struct{}{c: {}},
		state:     Connecting,
		connected: make(chan struct{}),
		objects:   make(map[string]*Object),
		pending:   make(map[int64]chan *rope.Message),
	}
	go s.run(ctx)
	return s
}

// detach removes c; the last client out closes the connection and waits
// for its goroutines.
func (s *session) detach(c *Client) {
	sessions.Lock()
	s.mu.Lock()
	delete(s.clients, c)
	last := len(s.clients) == 0
	if last {
		if sessions.m[s.key] == s {
			delete(sessions.m, s.key)
		}
		if s.state != Closed {
			s.state = Closing
		}
	}
	ws := s.ws
	s.mu.Unlock()
	sessions.Unlock()
	if !last {
		return
	}
	if ws != nil {
		_ = ws.Close(websocket.StatusNormalClosure, "client closed")
	}
	s.stop()
	<-s.done
	s.events.stop()
}

func (s *session) readyState() ReadyState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// waitConnected blocks until the session is CONNECTED or has ended.
func (s *session) waitConnected(ctx context.Context) error {
	for {
		s.mu.Lock()
		ch, err := s.connected, s.endErr
		s.mu.Unlock()
		if err != nil {
			return err
		}
		select {
		case <-ch:
			return nil
		case <-s.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// emit posts fn for every attached client.
func (s *session) emit(fn func(c *Client)) {
	s.mu.Lock()
	clients := make([]*Client, 0, len(s.clients))
	for c := range s.clients {
		clients = append(clients, c)
	}
	s.mu.Unlock()
	s.events.post(func() {
		for _, c := range clients {
			fn(c)
		}
	})
}

// run connects, serves the connection and reconnects with backoff until
// the session is stopped, the server refuses the token or closes with
// 4003 Grant Expired (spec §12.3.5), or reconnection is off.
func (s *session) run(ctx context.Context) {
	defer close(s.done)
	var err error
	for attempt := 0; ctx.Err() == nil && !s.closing(); attempt++ {
		if attempt > 0 && !s.sleep(ctx, attempt) {
			break
		}
		var ws *websocket.Conn
		if ws, err = s.dial(ctx); err != nil {
			s.emit(func(c *Client) { c.onError.each(func(f func(error)) { f(err) }) })
			if refused(err) || s.opts.NoReconnect {
				break
			}
			continue
		}
		attempt = 0
		err = s.serve(ctx, ws)
		if websocket.CloseStatus(err) == rope.CloseGrantExpired {
			err = fmt.Errorf("%w: %w", ErrGrantExpired, err)
			s.emit(func(c *Client) { c.onError.each(func(f func(error)) { f(err) }) })
			break
		}
		if s.opts.NoReconnect {
			break
		}
	}
	s.end(err)
	if ctx.Err() == nil && !s.closing() {
		s.gaveUp(err)
	}
}

// gaveUp ends the session on its own (refused, or reconnection off): no
// client may join it any more, and each attached one enters CLOSED and
// emits close (spec §12.1.2), after the errors already posted.
func (s *session) gaveUp(err error) {
	sessions.Lock()
	if sessions.m[s.key] == s {
		delete(sessions.m, s.key)
	}
	sessions.Unlock()
	s.mu.Lock()
	clients := make([]*Client, 0, len(s.clients))
	for c := range s.clients {
		clients = append(clients, c)
	}
	s.mu.Unlock()
	for _, c := range clients {
		if c.ended(err) {
			s.events.post(func() { c.onClose.each(func(f func()) { f() }) })
		}
	}
}

func (s *session) closing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == Closing
}

func (s *session) sleep(ctx context.Context, attempt int) bool {
	d := s.opts.MinBackoff << min(attempt-1, 16)
	d = min(d, s.opts.MaxBackoff)
	d = d/2 + rand.N(d/2+1) // jitter
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *session) end(err error) {
	s.mu.Lock()
	s.state = Closed
	if err == nil || s.ws == nil && errors.Is(err, context.Canceled) {
		err = errSessionEnded
	}
	s.endErr = err
	s.mu.Unlock()
}

func (s *session) dial(ctx context.Context) (*websocket.Conn, error) {
	u, err := s.resumeURL()
	if err != nil {
		return nil, err
	}
	h := s.opts.HTTPHeader.Clone()
	if h == nil {
		h = http.Header{}
	}
	if s.opts.Token != "" {
		h.Set("Authorization", "Bearer "+s.opts.Token)
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(dctx, u, &websocket.DialOptions{
		HTTPClient: s.opts.HTTPClient, HTTPHeader: h, Subprotocols: []string{rope.Subprotocol},
	})
	if resp != nil && resp.StatusCode == http.StatusUnauthorized {
		return nil, ErrUnauthorized
	}
	if resp != nil && resp.StatusCode == http.StatusForbidden {
		return nil, ErrForbidden
	}
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", s.url, err)
	}
	ws.SetReadLimit(s.readLimit(resp))
	return ws, nil
}

// readLimit is the largest message the client reads on a connection: what
// the server announced in its handshake response, at least the 64 MiB
// every server may send, at most Options.MaxReadSize.
func (s *session) readLimit(resp *http.Response) int64 {
	limit := int64(rope.ClientReadLimit)
	if v := resp.Header.Get(rope.HeaderOutboundLimit); v != "" {
		announced, err := strconv.ParseInt(v, 10, 64)
		if err != nil || announced <= 0 {
			s.log.Warn("ropeclient: ignoring a bad "+rope.HeaderOutboundLimit+" header", "value", v)
		} else {
			limit = max(limit, announced)
		}
	}
	if limit > s.opts.MaxReadSize {
		s.log.Warn("ropeclient: the server may send messages larger than MaxReadSize; a larger one drops the connection",
			"announced", limit, "maxReadSize", s.opts.MaxReadSize)
		limit = s.opts.MaxReadSize
	}
	return limit
}

// resumeURL adds the epoch and seq to resume from, once there are some,
// and the server session to resume (or "new") with the lease asked for.
func (s *session) resumeURL() (string, error) {
	u, err := url.Parse(s.url)
	if err != nil {
		return "", fmt.Errorf("ropeclient: url: %w", err)
	}
	s.mu.Lock()
	epoch, seq, sid := s.epoch, s.seq, s.sessionID
	s.mu.Unlock()
	q := u.Query()
	if epoch != "" {
		q.Set(rope.QueryEpoch, epoch)
		q.Set(rope.QuerySeq, strconv.FormatUint(seq, 10))
	}
	setSessionQuery(q, sid, &s.opts)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// serve runs one connection until it ends.
func (s *session) serve(ctx context.Context, ws *websocket.Conn) error {
	s.mu.Lock()
	s.ws = ws
	if s.state != Closing {
		s.state = Open
	}
	s.mu.Unlock()
	s.emit(func(c *Client) {
		c.onWebSocketOpen.each(func(f func()) { f() })
		c.onOpen.each(func(f func()) { f() })
	})
	err := s.readLoop(ctx, ws)
	ws.CloseNow()
	clean := websocket.CloseStatus(err) != -1
	wasConnected := s.disconnected()
	s.emit(func(c *Client) {
		c.onWebSocketClose.each(func(f func(bool)) { f(clean) })
		if wasConnected { // once per CONNECTED period (spec §12.2)
			c.onDisconnected.each(func(f func(error)) { f(err) })
		}
	})
	return err
}

// disconnected fails the calls in flight and leaves CONNECTED; it reports
// whether the session was CONNECTED.
func (s *session) disconnected() (wasConnected bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ws = nil
	for id, ch := range s.pending {
		close(ch)
		delete(s.pending, id)
	}
	select {
	case <-s.connected:
		s.connected = make(chan struct{})
		wasConnected = true
	default:
	}
	if s.state != Closing {
		s.state = Connecting
	}
	return wasConnected
}

func (s *session) readLoop(ctx context.Context, ws *websocket.Conn) error {
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			return err
		}
		msg, _, rerr := rope.Decode(data)
		if rerr != nil {
			s.log.Warn("ropeclient: invalid message from server", "err", rerr)
			continue
		}
		if !msg.IsRequest() {
			s.resolve(msg)
			continue
		}
		if err := s.apply(msg); err != nil {
			_ = ws.Close(rope.CloseProtocolViolation, err.Error())
			return err
		}
	}
}

func (s *session) resolve(msg *rope.Message) {
	id, err := strconv.ParseInt(string(msg.ID), 10, 64)
	if err != nil {
		return
	}
	s.mu.Lock()
	ch, ok := s.pending[id]
	delete(s.pending, id)
	s.mu.Unlock()
	if ok {
		ch <- msg
	}
}

// request sends a request and waits for its response. It waits for the
// connection to be CONNECTED first.
func (s *session) request(ctx context.Context, method string, params any) (json.RawMessage, error) {
	raw, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("ropeclient: %s: encode params: %w", method, err)
	}
	if params == nil {
		raw = nil
	}
	if err := s.waitConnected(ctx); err != nil {
		return nil, fmt.Errorf("ropeclient: %s: %w", method, err)
	}
	s.mu.Lock()
	ws := s.ws
	if ws == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("ropeclient: %s: %w", method, ErrDisconnected)
	}
	s.nextID++
	id := s.nextID
	ch := make(chan *rope.Message, 1)
	s.pending[id] = ch
	s.mu.Unlock()
	defer s.forget(id)
	msg := rope.AppendRequest(nil, rope.ID(strconv.FormatInt(id, 10)), method, raw)
	if err := ws.Write(ctx, websocket.MessageText, msg); err != nil {
		return nil, fmt.Errorf("ropeclient: %s: %w: %w", method, ErrDisconnected, err)
	}
	select {
	case resp, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("ropeclient: %s: %w", method, ErrDisconnected)
		}
		if resp.Error != nil {
			return nil, resp.Error
		}
		return resp.Result, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("ropeclient: %s: %w", method, ctx.Err())
	}
}

func (s *session) forget(id int64) {
	s.mu.Lock()
	delete(s.pending, id)
	s.mu.Unlock()
}
