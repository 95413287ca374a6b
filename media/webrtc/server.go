package webrtc

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ropehq/rope/media/internal/evloop"
	"github.com/ropehq/rope/media/webrtc/demux"
	"github.com/ropehq/rope/media/webrtc/ice"
	"github.com/ropehq/rope/media/webrtc/listener"
)

// ServerOptions configure a [Server]. Nil means defaults.
type ServerOptions struct {
	// ListenInfos are the sockets to open, one candidate each, in order of
	// preference. At least one is required.
	ListenInfos []ListenInfo
	// Logger receives drop and error logs; nil means slog.Default().
	Logger *slog.Logger
	// OnPanic, when set, receives a panic of one of the server's
	// goroutines (socket readers, including the callbacks they make into
	// transports' owners), which then stops; nil lets the panic go on.
	OnPanic func(v any)
	// Loop, when set, reads the UDP sockets (a media worker's event loop,
	// whose buffers hold listener.MaxDatagramSize bytes) instead of a
	// goroutine per socket; a panic of its reading still goes to OnPanic,
	// and the loop goes on. Nil: a goroutine per socket.
	Loop *evloop.Loop
}

// ServerStats counts packets the server dropped before any transport saw
// them.
type ServerStats struct {
	// DroppedUnknownTuple counts non-STUN packets from tuples no transport
	// validated (garbage, DTLS or RTP from strangers).
	DroppedUnknownTuple uint64
	// DroppedUnknownUfrag counts STUN packets whose USERNAME names no
	// transport.
	DroppedUnknownUfrag uint64
}

// Server is a WebRtcServer: sockets shared by many transports, with
// packets routed by ICE ufrag, then by 5-tuple.
type Server struct {
	logger     *slog.Logger
	onPanic    func(any)
	loop       *evloop.Loop
	udp        []*listener.UDPSocket
	tcp        []*listener.TCPServer
	candidates []ICECandidate

	droppedTuple atomic.Uint64
	droppedUfrag atomic.Uint64

	// mu guards the routing tables and closed.
	mu         sync.RWMutex
	byUfrag    map[string]*Transport
	byTuple    map[ice.Tuple]*Transport
	transports map[*Transport]struct{}
	closed     bool
}

var _ listener.Handler = (*Server)(nil)

// NewServer opens the sockets of opts.ListenInfos.
func NewServer(opts *ServerOptions) (*Server, error) {
	if opts == nil || len(opts.ListenInfos) == 0 {
		return nil, fmt.Errorf("%w: no listen infos", ErrInvalidListenInfo)
	}
	s := &Server{
		logger:     opts.Logger,
		onPanic:    opts.OnPanic,
		loop:       opts.Loop,
		byUfrag:    make(map[string]*Transport),
		byTuple:    make(map[ice.Tuple]*Transport),
		transports: make(map[*Transport]struct{}),
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	for i, info := range opts.ListenInfos {
		if err := s.listen(i, info); err != nil {
			_ = s.closeSockets()
			return nil, err
		}
	}
	return s, nil
}

// listen opens the socket of one listen info and records its candidate.
func (s *Server) listen(index int, info ListenInfo) error {
	ip, err := netip.ParseAddr(info.IP)
	if err != nil {
		return fmt.Errorf("%w: ip %q: %w", ErrInvalidListenInfo, info.IP, err)
	}
	ip = ip.Unmap()
	flags := listener.Flags{IPv6Only: info.IPv6Only, UDPReusePort: info.UDPReusePort}
	var local netip.AddrPort
	switch strings.ToLower(info.Protocol) {
	case "udp":
		conn, err := listener.ListenUDPWith(ip, info.Port, info.PortRange.Min, info.PortRange.Max, flags)
		if err != nil {
			return fmt.Errorf("webrtc: listen udp %s: %w", info.IP, err)
		}
		if err := setBuffers(conn, info); err != nil {
			_ = conn.Close()
			return err
		}
		sock, err := listener.NewUDPSocketOn(conn, &socketHandler{Server: s}, s.loop)
		if err != nil {
			return fmt.Errorf("webrtc: listen udp %s: %w", info.IP, err)
		}
		s.udp = append(s.udp, sock)
		local = sock.LocalAddr()
	case "tcp":
		ln, err := listener.ListenTCPWith(ip, info.Port, info.PortRange.Min, info.PortRange.Max, flags)
		if err != nil {
			return fmt.Errorf("webrtc: listen tcp %s: %w", info.IP, err)
		}
		srv := listener.NewTCPServer(ln, s)
		s.tcp = append(s.tcp, srv)
		local = srv.LocalAddr()
	default:
		return fmt.Errorf("%w: protocol %q", ErrInvalidListenInfo, info.Protocol)
	}
	addr := info.AnnouncedAddress
	if addr == "" {
		addr = local.Addr().String()
	}
	s.candidates = append(s.candidates, newCandidate(strings.ToLower(info.Protocol), addr, local.Port()))
	return nil
}

// setBuffers applies a listen info's socket buffer sizes.
func setBuffers(conn *net.UDPConn, info ListenInfo) error {
	if info.SendBufferSize > 0 {
		if err := conn.SetWriteBuffer(info.SendBufferSize); err != nil {
			return fmt.Errorf("webrtc: send buffer: %w", err)
		}
	}
	if info.RecvBufferSize > 0 {
		if err := conn.SetReadBuffer(info.RecvBufferSize); err != nil {
			return fmt.Errorf("webrtc: recv buffer: %w", err)
		}
	}
	return nil
}

// newCandidate makes a host candidate without its priority.
func newCandidate(proto, addr string, port uint16) ICECandidate {
	c := ICECandidate{
		Foundation: proto + "candidate",
		Address:    addr,
		IP:         addr,
		Protocol:   proto,
		Port:       port,
		Type:       "host",
	}
	if proto == "tcp" {
		c.TCPType = "passive"
	}
	return c
}

// CandidateOptions select and rank a transport's candidates among the
// server's sockets, as mediasoup's enableUdp, enableTcp, preferUdp and
// preferTcp. Nil means every socket, none preferred.
type CandidateOptions struct {
	// DisableUDP and DisableTCP leave out that protocol's candidates
	// (mediasoup's enableUdp/enableTcp set to false).
	DisableUDP, DisableTCP bool
	// PreferUDP and PreferTCP add 1000 to that protocol's local preference.
	PreferUDP, PreferTCP bool
}

// Candidates returns ICE candidates for the server's sockets, with
// mediasoup's priorities: host type preference, local preference 10000
// minus 100 per socket in listen order (plus 1000 for a preferred
// protocol), component 1.
func (s *Server) Candidates(opts *CandidateOptions) []ICECandidate {
	var o CandidateOptions
	if opts != nil {
		o = *opts
	}
	out := make([]ICECandidate, 0, len(s.candidates))
	for i, c := range s.candidates {
		udp := c.Protocol == "udp"
		if (udp && o.DisableUDP) || (!udp && o.DisableTCP) {
			continue
		}
		local := iceLocalPreferenceBase - iceLocalPreferenceStep*i
		if (udp && o.PreferUDP) || (!udp && o.PreferTCP) {
			local += icePreferredBonus
		}
		c.Priority = candidatePriority(local)
		out = append(out, c)
	}
	return out
}

// Stats returns drop counters.
func (s *Server) Stats() ServerStats {
	return ServerStats{DroppedUnknownTuple: s.droppedTuple.Load(), DroppedUnknownUfrag: s.droppedUfrag.Load()}
}

// Close closes every transport of the server, then its sockets, and waits
// for their goroutines. It is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	ts := make([]*Transport, 0, len(s.transports))
	for t := range s.transports {
		ts = append(ts, t)
	}
	s.mu.Unlock()
	for _, t := range ts {
		_ = t.Close()
	}
	return s.closeSockets()
}

func (s *Server) closeSockets() error {
	var errs []error
	for _, u := range s.udp {
		errs = append(errs, u.Close())
	}
	for _, t := range s.tcp {
		errs = append(errs, t.Close())
	}
	return errors.Join(errs...)
}

// HandlePacket routes one packet (listener.Handler); a packet is a read
// batch of its own (TCP connections).
func (s *Server) HandlePacket(b []byte, t ice.Tuple, l listener.Link) {
	if tr := s.route(b, t, l); tr != nil {
		tr.batchEnd()
	}
}

// route hands one packet to its transport and returns that transport,
// or nil if it was dropped.
func (s *Server) route(b []byte, t ice.Tuple, l listener.Link) *Transport {
	s.mu.RLock()
	tr := s.byTuple[t]
	s.mu.RUnlock()
	if tr != nil {
		tr.handlePacket(b, t, l)
		return tr
	}
	if demux.Classify(b) != demux.STUN {
		s.droppedTuple.Add(1)
		s.logger.Debug("webrtc: dropping packet from unknown tuple", "tuple", t, "size", len(b))
		return nil
	}
	ufrag := ice.LocalUfrag(b)
	s.mu.RLock()
	tr = s.byUfrag[string(ufrag)]
	s.mu.RUnlock()
	if tr == nil {
		s.droppedUfrag.Add(1)
		s.logger.Warn("webrtc: dropping STUN with unknown ufrag", "tuple", t, "ufrag", string(ufrag))
		return nil
	}
	tr.handleSTUN(b, t, l)
	return tr
}

// socketHandler is the Handler of one UDP socket: it routes as the
// Server does and, when a read batch ends, tells each transport that got
// packets in it (so that consumers send what they queued with one
// sendmmsg each).
type socketHandler struct {
	*Server
	// touched are the transports of the current batch; only the socket's
	// reader uses it.
	touched []*Transport
}

var _ listener.BatchHandler = (*socketHandler)(nil)

// HandlePacket routes one packet of a batch.
func (h *socketHandler) HandlePacket(b []byte, t ice.Tuple, l listener.Link) {
	if tr := h.route(b, t, l); tr != nil && !slices.Contains(h.touched, tr) {
		h.touched = append(h.touched, tr)
	}
}

// BatchEnd ends the batch of every transport that got packets in it.
func (h *socketHandler) BatchEnd() {
	for _, tr := range h.touched {
		tr.batchEnd()
	}
	clear(h.touched)
	h.touched = h.touched[:0]
}

// TupleClosed forwards a closed TCP connection to its transport
// (listener.Handler).
func (s *Server) TupleClosed(t ice.Tuple) {
	s.mu.RLock()
	tr := s.byTuple[t]
	s.mu.RUnlock()
	if tr != nil {
		tr.removeTuple(t)
	}
}

// register adds a transport with its ufrag.
func (s *Server) register(t *Transport, ufrag string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.transports[t] = struct{}{}
	s.byUfrag[ufrag] = t
	return nil
}

// setUfrags maps ufrags to t and unmaps dropped ones.
func (s *Server) setUfrags(t *Transport, add string, drop string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if drop != "" && s.byUfrag[drop] == t {
		delete(s.byUfrag, drop)
	}
	if _, ok := s.transports[t]; ok {
		s.byUfrag[add] = t
	}
}

// unregister removes every route to t.
func (s *Server) unregister(t *Transport) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.transports, t)
	for k, v := range s.byUfrag {
		if v == t {
			delete(s.byUfrag, k)
		}
	}
	for k, v := range s.byTuple {
		if v == t {
			delete(s.byTuple, k)
		}
	}
}

// addTuple routes tup to t. A tuple another transport holds moves to t:
// the peer proved it owns t's credentials.
func (s *Server) addTuple(tup ice.Tuple, t *Transport) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.transports[t]; ok {
		s.byTuple[tup] = t
	}
}

// removeTuples unroutes tuples of t.
func (s *Server) removeTuples(t *Transport, tups []ice.Tuple) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, tup := range tups {
		if s.byTuple[tup] == t {
			delete(s.byTuple, tup)
		}
	}
}

// ServerDump is what a Server routes: its sockets and, per transport,
// the local ufrags and validated tuples that lead to it.
type ServerDump struct {
	UDPSockets, TCPServers []netip.AddrPort
	Ufrags                 []UfragRoute
	Tuples                 []TupleRoute
}

// UfragRoute routes STUN checks naming Ufrag to Transport.
type UfragRoute struct {
	Ufrag     string
	Transport *Transport
}

// TupleRoute routes packets from Tuple to Transport.
type TupleRoute struct {
	Tuple     ice.Tuple
	Transport *Transport
}

// Dump returns the server's sockets and routing tables.
func (s *Server) Dump() ServerDump {
	var d ServerDump
	for _, u := range s.udp {
		d.UDPSockets = append(d.UDPSockets, u.LocalAddr())
	}
	for _, t := range s.tcp {
		d.TCPServers = append(d.TCPServers, t.LocalAddr())
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for u, t := range s.byUfrag {
		d.Ufrags = append(d.Ufrags, UfragRoute{Ufrag: u, Transport: t})
	}
	for tup, t := range s.byTuple {
		d.Tuples = append(d.Tuples, TupleRoute{Tuple: tup, Transport: t})
	}
	return d
}

// Panicked hands a panic of a socket's goroutine to ServerOptions.OnPanic
// (listener.PanicHandler), or lets it go on without one.
func (s *Server) Panicked(v any) {
	if s.onPanic == nil {
		panic(v)
	}
	s.onPanic(v)
}
