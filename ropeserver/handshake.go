package ropeserver

// The WebSocket handshake (spec §2, §4): which HTTP requests become
// connections. In order: the Host must name this server (403), the request
// must be a WebSocket upgrade (426), every presented token must be valid
// (401), an offered subprotocol list must hold rope.v1 (400), a connection
// slot must be free (503); coder/websocket then checks the Origin (403) and
// upgrades.

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/ropehq/rope/rope"
)

// Why a handshake is refused; logged, never sent to the client.
var (
	errHostNotAllowed = errors.New("host not allowed")
	errNoToken        = errors.New("no token presented")
	errWrongToken     = errors.New("wrong token")
	errMalformedAuth  = errors.New(`malformed Authorization header: want "Bearer <token>"`)
	errMalformedQuery = errors.New("malformed query string: cannot tell which tokens it presents")
	errTokensDiffer   = errors.New("different tokens presented: cannot tell which grant applies")
	errGrantExpired   = errors.New("the token's grant has expired")
)

// notWebSocket answers a plain HTTP request to the server's URL (a browser
// tab, curl): 426 and what to do instead.
const notWebSocket = "426 Upgrade Required: this is a ROPE v1 server (JSON-RPC 2.0 over WebSocket).\n" +
	"Connect to this URL with a WebSocket client (ws:// or wss://), such as the Go\n" +
	"ropeclient or the JavaScript client in ropeclient/js.\n"

// handshake admits or refuses r. It answers every refusal itself and returns
// a nil conn; on success the caller serves the conn, with the connection
// payload, and calls release when it has ended.
func (s *Server) handshake(w http.ResponseWriter, r *http.Request) (ws *websocket.Conn, payload json.RawMessage, grant *Grant, release func()) {
	if !s.hostAllowed(r) {
		s.refuseHost(w, r)
		return nil, nil, nil, nil
	}
	if !isUpgrade(r) {
		w.Header().Set("Upgrade", "websocket")
		w.Header().Set("Connection", "Upgrade")
		http.Error(w, notWebSocket, http.StatusUpgradeRequired)
		s.log.Debug("ropeserver: not a WebSocket request", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path)
		return nil, nil, nil, nil
	}
	grant, err := s.authenticate(r)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="rope"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		s.log.Info("ropeserver: refused connection", "remote", r.RemoteAddr, "err", err)
		return nil, nil, nil, nil
	}
	if offered := offeredSubprotocols(r); len(offered) > 0 && !slices.Contains(offered, rope.Subprotocol) {
		http.Error(w, "subprotocol "+rope.Subprotocol+" required", http.StatusBadRequest)
		return nil, nil, nil, nil
	}
	release, ok := s.acquireConn()
	if !ok {
		http.Error(w, fmt.Sprintf("server full: it has %d connections, its limit; try again later", cap(s.connSlots)),
			http.StatusServiceUnavailable)
		s.log.Warn("ropeserver: refused connection: at the connection limit", "remote", r.RemoteAddr, "limit", cap(s.connSlots))
		return nil, nil, nil, nil
	}
	payload, err = s.payload(r)
	if err != nil {
		release()
		http.Error(w, "internal error", http.StatusInternalServerError)
		s.log.Error("ropeserver: connection payload", "remote", r.RemoteAddr, "err", err)
		return nil, nil, nil, nil
	}
	// The largest message the client may get (state.go), and small buffers.
	w.Header().Set(rope.HeaderOutboundLimit, strconv.FormatInt(s.outboundLimit(payload), 10))
	ws, err = websocket.Accept(smallBuffers{w}, r, &websocket.AcceptOptions{
		Subprotocols:    []string{rope.Subprotocol},
		OriginPatterns:  s.opts.OriginPatterns,
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		release()
		s.log.Info("ropeserver: websocket handshake failed", "remote", r.RemoteAddr, "err", err)
		return nil, nil, nil, nil
	}
	ws.SetReadLimit(s.opts.MaxMessageSize)
	return ws, payload, grant, release
}

// GuardHost returns h behind the server's Host check (Options.AllowedHosts):
// a request whose Host does not name this server gets 403. Put every other
// route of the server's listener behind it (static files, health checks): a
// DNS-rebinding page reaches them as it reaches the server.
func (s *Server) GuardHost(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hostAllowed(r) {
			s.refuseHost(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) refuseHost(w http.ResponseWriter, r *http.Request) {
	http.Error(w, fmt.Sprintf("forbidden: Host %q does not name this server (a guard against DNS rebinding); "+
		"its operator can add the name to the allowed hosts", r.Host), http.StatusForbidden)
	s.log.Info("ropeserver: refused request", "remote", r.RemoteAddr, "host", r.Host, "err", errHostNotAllowed)
}

// hostAllowed says whether r's Host names this server: "localhost", a
// loopback address, the address the connection arrived on, or a match of
// Options.AllowedHosts. This is what stops DNS rebinding: a page on
// evil.example whose name comes to resolve to this server sends Host and
// Origin evil.example, which pass the Origin check as same-origin.
func (s *Server) hostAllowed(r *http.Request) bool {
	host := hostName(r.Host)
	if host == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap().WithZone("")
		if ip.IsLoopback() || ip == localIP(r) {
			return true
		}
	}
	for _, p := range s.opts.AllowedHosts {
		if ok, _ := path.Match(strings.ToLower(p), host); ok {
			return true
		}
	}
	return false
}

// hostName is the host of a Host header: lower case, without port, IPv6
// brackets or the root's trailing dot.
func hostName(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

// localIP is the address r's connection arrived on (the listen address, or
// the interface's address under a wildcard listen); invalid when unknown.
func localIP(r *http.Request) netip.Addr {
	a, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr)
	if !ok {
		return netip.Addr{}
	}
	ip, _ := netip.AddrFromSlice(a.IP)
	return ip.Unmap()
}

// isUpgrade says whether r asks for a WebSocket (RFC 6455 §4.2.1: Connection
// holds "upgrade", Upgrade holds "websocket"); coder/websocket checks the
// rest.
func isUpgrade(r *http.Request) bool {
	return headerHasToken(r.Header, "Connection", "upgrade") && headerHasToken(r.Header, "Upgrade", "websocket")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// authenticate checks the presented tokens (spec §4.2): every Authorization
// header and every access_token query parameter; every one must pass. A
// server that requires no token ignores them all. With Options.Authorize
// the tokens must all be the same one, whose grant it returns (spec §18).
func (s *Server) authenticate(r *http.Request) (*Grant, error) {
	if s.opts.Authorize == nil && s.opts.Authenticate == nil && s.opts.Token == "" {
		return nil, nil
	}
	tokens, err := presentedTokens(r)
	if err != nil {
		return nil, err
	}
	if len(tokens) == 0 {
		tokens = []string{""} // Authenticate decides about none; Token refuses it
	}
	if s.opts.Authorize != nil {
		for _, t := range tokens[1:] {
			if t != tokens[0] {
				return nil, errTokensDiffer
			}
		}
		g, err := s.opts.Authorize(r, tokens[0])
		if err == nil && g != nil && !g.Expires.IsZero() && !time.Now().Before(g.Expires) {
			err = errGrantExpired
		}
		return g, err
	}
	for _, token := range tokens {
		if err := s.checkToken(r, token); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func (s *Server) checkToken(r *http.Request, token string) error {
	if s.opts.Authenticate != nil {
		return s.opts.Authenticate(r, token)
	}
	if token == "" {
		return errNoToken
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(s.opts.Token)) != 1 {
		return errWrongToken
	}
	return nil
}

// presentedTokens lists every token r presents: one per Authorization header,
// each of which must be exactly "Bearer <token>" (the scheme in any case, one
// space, a token without spaces), and one per access_token query parameter
// (possibly empty, which then fails). A query string that does not parse is
// refused as a whole: the tokens it holds cannot be told.
func presentedTokens(r *http.Request) ([]string, error) {
	var tokens []string
	for _, h := range r.Header.Values("Authorization") {
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || strings.ContainsAny(token, " \t") {
			return nil, errMalformedAuth
		}
		tokens = append(tokens, token)
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errMalformedQuery, err)
	}
	return append(tokens, q[rope.QueryToken]...), nil
}

func offeredSubprotocols(r *http.Request) []string {
	var out []string
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(h, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// newConnSlots makes the semaphore of MaxConnections; nil means no limit.
func newConnSlots(max int) chan struct{} {
	if max < 0 {
		return nil
	}
	return make(chan struct{}, max)
}

// acquireConn takes a connection slot; release gives it back.
func (s *Server) acquireConn() (release func(), ok bool) {
	if s.connSlots == nil {
		return func() {}, true
	}
	select {
	case s.connSlots <- struct{}{}:
		return func() { <-s.connSlots }, true
	default:
		return nil, false
	}
}
