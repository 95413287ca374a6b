package webrtc

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/sctp"

	"github.com/ropehq/rope/media/internal/evloop"
	"github.com/ropehq/rope/media/webrtc/dtlstransport"
	"github.com/ropehq/rope/media/webrtc/ice"
	"github.com/ropehq/rope/media/webrtc/listener"
	"github.com/ropehq/rope/media/webrtc/srtpsession"
)

// TransportOptions configure a [Transport]. Nil means defaults. Callbacks
// are called from socket reader and transport goroutines, never with a
// lock held; they must not block for long. A nil callback is skipped.
type TransportOptions struct {
	// ListenInfos are the sockets of a transport made with NewTransport
	// (ignored by Server.NewTransport).
	ListenInfos []ListenInfo
	// Candidates selects and ranks the server's sockets for this
	// transport (mediasoup's enableUdp, enableTcp, preferUdp, preferTcp);
	// nil means all, none preferred.
	Candidates *CandidateOptions
	// ICEConsentTimeout is mediasoup's iceConsentTimeout: without a valid
	// check for this long, ICE becomes disconnected. Zero means 30 s;
	// negative disables it.
	ICEConsentTimeout time.Duration
	// Certificate is the local DTLS certificate; nil means one generated
	// once per process and shared, as mediasoup's worker does.
	Certificate *dtlstransport.Certificate
	// EnableSCTP runs an SCTP association over DTLS for data channels.
	EnableSCTP bool
	// MaxSCTPMessageSize is the largest SCTP message; 0 means 262144
	// (mediasoup's maxSctpMessageSize default).
	MaxSCTPMessageSize uint32
	// SCTPStreamsOS and SCTPStreamsMIS are the outgoing and incoming
	// stream counts announced in sctpParameters (mediasoup's
	// numSctpStreams); 0 means 1024. Streams the peer opens with an id of
	// SCTPStreamsMIS or more are reset. pion/sctp itself negotiates 65535
	// each way.
	SCTPStreamsOS, SCTPStreamsMIS uint16
	// Logger receives logs; nil means the Server's logger.
	Logger *slog.Logger
	// OnPanic, when set, receives a panic of one of the transport's
	// goroutines (DTLS, ICE consent), which then stops; nil lets the
	// panic go on. NewTransport's sockets use it too.
	OnPanic func(v any)
	// Loop is ServerOptions.Loop for the sockets of NewTransport.
	Loop *evloop.Loop

	// OnRTP receives each decrypted RTP packet. pkt is valid only during
	// the call and may be modified; copy what must outlive it.
	OnRTP func(pkt []byte)
	// OnRTCP receives each decrypted RTCP compound packet, like OnRTP.
	OnRTCP func(pkt []byte)
	// OnReadBatchEnd is called after the packets of one read batch (up to
	// 16 datagrams of one UDP recvmmsg, or the batch size of the event
	// loop reading the socket; a single TCP frame) that included
	// packets of this transport, on the goroutine that called OnRTP and
	// OnRTCP for them: a receiver may queue work per packet and do it
	// once per batch (the engine sends each consumer's queue then).
	OnReadBatchEnd func()
	// OnICEStateChange is mediasoup's icestatechange.
	OnICEStateChange func(ice.State)
	// OnICESelectedTupleChange is mediasoup's iceselectedtuplechange.
	OnICESelectedTupleChange func(ice.Tuple)
	// OnDTLSStateChange is mediasoup's dtlsstatechange; err says why on
	// failed.
	OnDTLSStateChange func(state dtlstransport.State, err error)
	// OnSCTPStateChange is mediasoup's sctpstatechange.
	OnSCTPStateChange func(SCTPState)
	// OnSCTPStream receives each stream the peer opens. For DCEP channels
	// pass it to datachannel.Server; negotiated ones carry data at once.
	OnSCTPStream func(*sctp.Stream)
}

// defaultMaxSCTPMessageSize is mediasoup's maxSctpMessageSize default.
const defaultMaxSCTPMessageSize = 262144

// defaultCertificate is generated once per process.
var defaultCertificate = sync.OnceValues(dtlstransport.GenerateCertificate)

// TransportStats counts packets of one transport.
type TransportStats struct {
	RTPReceived, RTCPReceived uint64
	RTPSent, RTCPSent         uint64
	// Dropped counts packets dropped after routing: bad STUN, SRTP
	// failures, media before SRTP keys, full DTLS queue, unknown kinds.
	Dropped uint64
}

// path is the selected tuple with the link that sends on it.
type path struct {
	tuple ice.Tuple
	link  listener.Link
	// batch is link as a BatchLink, or nil if it is none.
	batch listener.BatchLink
}

func newPath(tup ice.Tuple, link listener.Link) *path {
	p := &path{tuple: tup, link: link}
	p.batch, _ = link.(listener.BatchLink)
	return p
}

// Transport is the connection layer of one WebRtcTransport.
type Transport struct {
	server     *Server
	ownsServer bool
	opts       TransportOptions
	logger     *slog.Logger
	ice        *ice.Server
	cert       *dtlstransport.Certificate
	pc         *dtlstransport.PacketConn
	path       atomic.Pointer[path]
	iceState   atomic.Uint32 // ice.State, as applied
	srtp       atomic.Pointer[srtpsession.Session]
	wg         sync.WaitGroup

	rtpIn, rtcpIn, rtpOut, rtcpOut, dropped atomic.Uint64

	// iceMu serializes ICE processing with the application of its results,
	// so that ICE callbacks and the selected path follow ICE's order. It is
	// taken before mu.
	iceMu sync.Mutex

	// mu guards the fields below.
	mu           sync.Mutex
	links        map[ice.Tuple]listener.Link
	ufrag        string
	oldUfrag     string
	remote       *dtlstransport.Fingerprint
	localRole    dtlstransport.Role
	dtlsState    dtlstransport.State
	dtlsStarted  bool
	cancelDTLS   context.CancelFunc
	dtlsConn     *dtls.Conn
	remoteCert   string
	sctpState    SCTPState
	assoc        *sctp.Association
	consentTimer *time.Timer
	closed       bool
}

// NewTransport makes a transport with its own sockets, from
// opts.ListenInfos.
func NewTransport(opts *TransportOptions) (*Transport, error) {
	if opts == nil {
		opts = &TransportOptions{}
	}
	s, err := NewServer(&ServerOptions{ListenInfos: opts.ListenInfos, Logger: opts.Logger, OnPanic: opts.OnPanic, Loop: opts.Loop})
	if err != nil {
		return nil, err
	}
	t, err := s.NewTransport(opts)
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	t.ownsServer = true
	return t, nil
}

// NewTransport makes a transport on the server's sockets.
func (s *Server) NewTransport(opts *TransportOptions) (*Transport, error) {
	t := &Transport{server: s, links: make(map[ice.Tuple]listener.Link), localRole: dtlstransport.RoleAuto}
	if opts != nil {
		t.opts = *opts
	}
	t.logger = t.opts.Logger
	if t.logger == nil {
		t.logger = s.logger
	}
	t.cert = t.opts.Certificate
	if t.cert == nil {
		cert, err := defaultCertificate()
		if err != nil {
			return nil, err
		}
		t.cert = cert
	}
	if t.opts.MaxSCTPMessageSize == 0 {
		t.opts.MaxSCTPMessageSize = defaultMaxSCTPMessageSize
	}
	t.ice = ice.NewServer(&ice.Options{ConsentTimeout: t.opts.ICEConsentTimeout})
	t.ufrag = t.ice.Parameters().UsernameFragment
	t.pc = dtlstransport.NewPacketConn(dtlsPeerAddr{}, t.sendDTLS)
	if err := s.register(t, t.ufrag); err != nil {
		return nil, err
	}
	return t, nil
}

// Parameters returns iceParameters, iceCandidates and dtlsParameters for
// the client. dtlsParameters.role is "auto" until Connect resolves it.
func (t *Transport) Parameters() Parameters {
	t.mu.Lock()
	role := t.localRole
	t.mu.Unlock()
	return Parameters{
		ICEParameters:  t.ice.Parameters(),
		ICECandidates:  t.server.Candidates(t.opts.Candidates),
		DTLSParameters: DTLSParameters{Role: role, Fingerprints: append([]DTLSFingerprint(nil), t.cert.Fingerprints...)},
		SCTPParameters: t.sctpParameters(),
	}
}

// ICEState returns the ICE state.
// It follows the applied ICE results, as callbacks and
// ICESelectedTuple do.
func (t *Transport) ICEState() ice.State { return ice.State(t.iceState.Load()) }

// ICESelectedTuple returns the selected tuple, if any.
func (t *Transport) ICESelectedTuple() (ice.Tuple, bool) {
	if p := t.path.Load(); p != nil {
		return p.tuple, true
	}
	return ice.Tuple{}, false
}

// DTLSState returns the DTLS state.
func (t *Transport) DTLSState() dtlstransport.State {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.dtlsState
}

// Stats returns packet counters.
func (t *Transport) Stats() TransportStats {
	return TransportStats{
		RTPReceived: t.rtpIn.Load(), RTCPReceived: t.rtcpIn.Load(),
		RTPSent: t.rtpOut.Load(), RTCPSent: t.rtcpOut.Load(),
		Dropped: t.dropped.Load(),
	}
}

// Connect sets the remote dtlsParameters, as mediasoup's connect(): the
// first fingerprint with a supported algorithm is the one the peer's
// certificate must match, and the local role follows from the remote one
// (remote client: we are server; remote server or auto: we are client).
// DTLS starts once ICE is connected. It returns the local role.
func (t *Transport) Connect(remote DTLSParameters) (dtlstransport.Role, error) {
	if err := remote.Role.Validate(); err != nil {
		return "", fmt.Errorf("webrtc: connect: %w", err)
	}
	fp, ok := firstSupported(remote.Fingerprints)
	if !ok {
		return "", ErrNoFingerprint
	}
	t.mu.Lock()
	switch {
	case t.closed:
		t.mu.Unlock()
		return "", ErrClosed
	case t.remote != nil:
		t.mu.Unlock()
		return "", ErrAlreadyConnected
	}
	t.remote = &fp
	t.localRole = dtlstransport.LocalRole(remote.Role)
	role := t.localRole
	t.mu.Unlock()
	t.maybeRunDTLS()
	return role, nil
}

func firstSupported(fps []DTLSFingerprint) (DTLSFingerprint, bool) {
	for _, fp := range fps {
		if _, err := dtlstransport.FingerprintOf(nil, fp.Algorithm); err == nil && fp.Value != "" {
			return fp, true
		}
	}
	return DTLSFingerprint{}, false
}

// RestartICE sets new ICE credentials and returns them; checks with the
// old ones are answered until the peer uses the new ones.
func (t *Transport) RestartICE() (ICEParameters, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ICEParameters{}, ErrClosed
	}
	p := t.ice.Restart("", "")
	drop := t.oldUfrag
	t.oldUfrag, t.ufrag = t.ufrag, p.UsernameFragment
	t.server.setUfrags(t, t.ufrag, drop)
	return p, nil
}

// Close closes the transport: SCTP, DTLS (sending close_notify), ICE and,
// for NewTransport, its sockets; it waits for its goroutines. States become
// closed without callbacks, as mediasoup's close() emits no state events.
// It is idempotent.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	cancel, conn, assoc := t.cancelDTLS, t.dtlsConn, t.assoc
	if t.consentTimer != nil {
		t.consentTimer.Stop()
	}
	t.mu.Unlock()

	if cancel != nil {
		cancel()
	}
	if assoc != nil {
		_ = assoc.Close()
	}
	if conn != nil {
		_ = conn.Close()
	}
	_ = t.pc.Close()
	t.wg.Wait()
	// As mediasoup's close(): states become closed without events.
	t.server.unregister(t)
	t.ice.Close()
	t.iceState.Store(uint32(ice.StateClosed))
	t.path.Store(nil)
	t.mu.Lock()
	t.dtlsState = dtlstransport.StateClosed
	if t.opts.EnableSCTP {
		t.sctpState = SCTPStateClosed
	}
	t.mu.Unlock()
	if t.ownsServer {
		return t.server.Close()
	}
	return nil
}

// dtlsPeerAddr is the peer address pion/dtls sees; records really go to
// the selected ICE tuple.
type dtlsPeerAddr struct{}

func (dtlsPeerAddr) Network() string { return "ice" }
func (dtlsPeerAddr) String() string  { return "ice-selected-tuple" }

// guard, deferred first in each goroutine of the transport, hands a
// panic to TransportOptions.OnPanic when set.
func (t *Transport) guard() {
	if t.opts.OnPanic != nil {
		if v := recover(); v != nil {
			t.opts.OnPanic(v)
		}
	}
}
