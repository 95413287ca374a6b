package mediaserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeserver"
)

// RootID is the ROPE id of the MediaService root object.
const RootID = "media"

// DefaultMaxWorkers is the default of Options.MaxWorkers.
const DefaultMaxWorkers = 32

// checkWorkerFiles refuses client worker settings that name files,
// unless Options.AllowWorkerFiles.
func (s *Server) checkWorkerFiles(w *media.WorkerSettings) error {
	if s.opts.AllowWorkerFiles || w == nil {
		return nil
	}
	for field, v := range map[string]string{"dtlsCertificateFile": w.DtlsCertificateFile, "dtlsPrivateKeyFile": w.DtlsPrivateKeyFile} {
		if v != "" {
			return media.NewError(media.ErrInvalidParams, "%s: naming server files is not allowed on this server", field)
		}
	}
	return nil
}

// DefaultMaxWorkersPerConn is the default of Options.MaxWorkersPerConn.
const DefaultMaxWorkersPerConn = 8

// Options configure a Server. Nil means defaults.
type Options struct {
	// AllowWorkerClose lets clients call Worker.close. Default false: the
	// call answers -32004 Unauthorized, and workers close only with the
	// Server (or when the application closes them).
	AllowWorkerClose bool
	// WorkerSettings, when set, fills the fields a client's createWorker
	// leaves empty (RtcMinPort, RtcMaxPort, DTLS files, log level).
	// Default: none, the implementation's defaults apply.
	WorkerSettings *media.WorkerSettings
	// MaxWorkers bounds the workers clients may have open at once; more
	// createWorker calls answer -32003 InvalidState. Default
	// DefaultMaxWorkers; negative means no limit.
	MaxWorkers int
	// MaxWorkersPerConn bounds the workers one connection may have open
	// at once (those it created with createWorker, until they close), so
	// no client holds every worker slot; more answer -32003
	// InvalidState. A client in a session (ROPE sessions and leases)
	// counts once over its reconnections. Default
	// DefaultMaxWorkersPerConn; negative means no limit.
	MaxWorkersPerConn int
	// AllowWorkerFiles lets clients name files in createWorker's
	// dtlsCertificateFile and dtlsPrivateKeyFile, which the server then
	// reads. Default false: a client naming one gets a TypeError (the
	// operator's WorkerSettings may still name them), so no client makes
	// the server open a file of its choosing.
	AllowWorkerFiles bool
	// Listen bounds where clients may have transports and WebRtcServers
	// listen (see ListenPolicy); a listen info outside it answers a
	// TypeError. Default nil: anywhere the media API allows.
	Listen *ListenPolicy
	// ListenInfo, when set, is where transports listen when a client
	// gives no listenInfo (listenInfos for WebRtcTransport), so clients
	// need not know the server's addresses (not for the WebRTC transports
	// of a router that is a WebRtcListenChooser choosing its own). Default:
	// none, the call fails as the media API does without one.
	ListenInfo *media.TransportListenInfo
	// Logger receives the server's logs. Default slog.Default().
	Logger *slog.Logger
	// MaxPacketBytes bounds one RTP or RTCP packet of the packet-level
	// APIs of DirectTransports (Producer.send, sendRtcp; larger ones
	// answer a TypeError). Default DefaultMaxPacketBytes (1500).
	MaxPacketBytes int
	// MaxPacketSubscriptions bounds the packet streams (a consumer's
	// "rtp", a direct transport's "rtcp") one connection subscribes to;
	// more answer -32003 InvalidState. Default
	// DefaultMaxPacketSubscriptions (64); negative means no limit.
	MaxPacketSubscriptions int
	// PacketQueueBytes: packets to a connection that has this many bytes
	// or more waiting to be written are dropped, rather than the
	// connection closed as a slow consumer. Default
	// DefaultPacketQueueBytes (1 MiB).
	PacketQueueBytes int
}

// Server exposes one media.API on a ROPE server.
type Server struct {
	rs    *ropeserver.Server
	api   media.API
	opts  Options
	log   *slog.Logger
	root  *ropeserver.Object
	kinds []*kind
	// exts are the extension types (set by Extend, before serving).
	exts []*extension

	// mu guards objs and workers. Lock order: mu, then the ROPE server's
	// own lock (taken inside ropeserver calls). Media calls are never made
	// with mu held.
	mu sync.Mutex
	// objs maps a media object (its interface value) to its ROPE object.
	objs map[any]*ropeserver.Object
	// workers are the workers created by clients; Close closes them.
	workers []media.Worker
	// creating counts createWorker calls under way (see MaxWorkers).
	creating int
	// perConn counts, by holder (connHolder), its workers open or being
	// created (see MaxWorkersPerConn); one without any has no entry.
	perConn map[any]int
	// closed is set by Close: no more workers.
	closed bool

	// packets are the connections' packet subscriptions (packets.go).
	packets packetStreams
}

// Register adds the media types to rs and creates the root object
// (MediaService, id "media"). opts may be nil.
func Register(rs *ropeserver.Server, api media.API, opts *Options) (*Server, error) {
	s := &Server{rs: rs, api: api, objs: make(map[any]*ropeserver.Object), kinds: allKinds(),
		perConn: make(map[any]int)}
	if opts != nil {
		s.opts = *opts
	}
	s.log = s.opts.Logger
	if s.log == nil {
		s.log = slog.Default()
	}
	for _, k := range s.kinds {
		t := ropeserver.Type{Name: k.name, Methods: s.leaseCreating(k.methods(s)), Events: k.events, Properties: k.props,
			OnSetAppData: setMediaAppData}
		if err := rs.RegisterType(t); err != nil {
			return nil, fmt.Errorf("mediaserver: %w", err)
		}
	}
	root, err := rs.Create(TypeMediaService, &ropeserver.ObjectOptions{ID: RootID, Value: api,
		Props: map[string]any{"supportedRtpCapabilities": api.SupportedRtpCapabilities(), "version": apiVersion(api)}})
	if err != nil {
		return nil, fmt.Errorf("mediaserver: %w", err)
	}
	s.root = root
	return s, nil
}

// AddWorker exposes a worker the application created itself, with the
// routers it creates from then on and everything below them (the media API
// cannot list a worker's existing routers). The application still owns it.
func (s *Server) AddWorker(w media.Worker) (id string, err error) {
	o, err := s.ensure(s.root, w)
	if err != nil {
		return "", err
	}
	return o.ID(), nil
}

// ObjectID returns the ROPE id of a registered media object.
func (s *Server) ObjectID(m any) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objs[m]
	if !ok {
		return "", false
	}
	return o.ID(), true
}

// Close closes every worker created by a client (and so everything in
// them), then the root object, which also closes the ROPE objects of the
// workers given to AddWorker (those workers stay open: the application
// owns them). It is idempotent.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	workers := s.workers
	s.workers = nil
	s.closed = true
	s.mu.Unlock()
	var errs []error
	for _, w := range workers {
		if err := w.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	s.root.Close()
	return errors.Join(errs...)
}

// createWorkerMethod is MediaService.createWorker, which needs the
// call's connection (MaxWorkersPerConn).
func (s *Server) createWorkerMethod() ropeserver.MethodFunc {
	return func(ctx context.Context, call *ropeserver.Call) (any, error) {
		return method(s, func(ctx context.Context, _ *ropeserver.Object, _ media.API, p *media.WorkerSettings) (any, error) {
			return s.createWorker(ctx, call.Conn, p)
		})(ctx, call)
	}
}

func (s *Server) createWorker(ctx context.Context, conn *ropeserver.Conn, settings *media.WorkerSettings) (any, error) {
	if err := s.checkWorkerFiles(settings); err != nil {
		return nil, err
	}
	s.applyWorkerDefaults(settings)
	if err := s.opts.Listen.applyWorkerPorts(settings); err != nil {
		return nil, err
	}
	holder := connHolder(conn)
	release, err := s.reserveWorker(holder)
	if err != nil {
		return nil, err
	}
	defer release()
	w, err := s.api.CreateWorker(ctx, settings)
	if err != nil {
		return nil, err
	}
	s.holdConnWorker(holder, w)
	o, err := s.ensure(s.root, w)
	if err != nil {
		_ = w.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	s.mu.Lock()
	closed := s.closed
	if !closed {
		s.workers = append(s.workers, w)
	}
	s.mu.Unlock()
	if closed {
		_ = w.Close(context.WithoutCancel(ctx))
		return nil, rope.NewError(rope.CodeInvalidState, "media server closed")
	}
	w.OnClose(func() { s.forgetWorker(w) })
	return rope.CreateResult{ID: o.ID()}, nil
}

func (s *Server) applyWorkerDefaults(w *media.WorkerSettings) {
	d := s.opts.WorkerSettings
	if d == nil {
		return
	}
	if w.RtcMinPort == 0 && w.RtcMaxPort == 0 {
		w.RtcMinPort, w.RtcMaxPort = d.RtcMinPort, d.RtcMaxPort
	}
	if w.LogLevel == "" {
		w.LogLevel = d.LogLevel
	}
	if w.DtlsCertificateFile == "" && w.DtlsPrivateKeyFile == "" {
		w.DtlsCertificateFile, w.DtlsPrivateKeyFile = d.DtlsCertificateFile, d.DtlsPrivateKeyFile
	}
}

func (s *Server) forgetWorker(w media.Worker) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.workers {
		if x == w {
			s.workers = append(s.workers[:i], s.workers[i+1:]...)
			return
		}
	}
}

// listenInfo returns the default listen info, a fresh copy, or nil.
func (s *Server) listenInfo() *media.TransportListenInfo {
	if s.opts.ListenInfo == nil {
		return nil
	}
	li := *s.opts.ListenInfo
	return &li
}

// connHolder is who a connection's workers count against
// (MaxWorkersPerConn): its session, when its client takes part in
// sessions, so that reconnecting gives no new slots; else the connection.
func connHolder(conn *ropeserver.Conn) any {
	if conn == nil {
		return nil
	}
	if id := conn.Session(); id != "" {
		return "session " + id
	}
	return conn
}

// reserveWorker takes one of the MaxWorkers slots, and one of the
// holder's MaxWorkersPerConn, for a worker being created; release gives
// both back once the worker is in s.workers (where holdConnWorker took
// the holder's again for the worker's life) or failed.
func (s *Server) reserveWorker(holder any) (release func(), err error) {
	limit := orDefault(s.opts.MaxWorkers, DefaultMaxWorkers)
	perConn := orDefault(s.opts.MaxWorkersPerConn, DefaultMaxWorkersPerConn)
	s.mu.Lock()
	defer s.mu.Unlock()
	if limit > 0 && len(s.workers)+s.creating >= limit {
		return nil, rope.NewError(rope.CodeInvalidState, "at most %d workers may be open", limit)
	}
	if perConn > 0 && s.perConn[holder] >= perConn {
		return nil, rope.NewError(rope.CodeInvalidState, "at most %d workers may be open per connection", perConn)
	}
	s.creating++
	s.perConn[holder]++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.creating--
		s.releaseHolderLocked(holder)
	}, nil
}

// holdConnWorker takes one of the holder's slots until w closes.
func (s *Server) holdConnWorker(holder any, w media.Worker) {
	s.mu.Lock()
	s.perConn[holder]++
	s.mu.Unlock()
	var once sync.Once
	release := func() {
		once.Do(func() {
			s.mu.Lock()
			s.releaseHolderLocked(holder)
			s.mu.Unlock()
		})
	}
	w.OnClose(release)
	if w.Closed() {
		release()
	}
}

func (s *Server) releaseHolderLocked(holder any) {
	if s.perConn[holder]--; s.perConn[holder] <= 0 {
		delete(s.perConn, holder)
	}
}

// orDefault is v, or def when v is 0.
func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}
