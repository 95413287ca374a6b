package engine

import (
	"context"
	"log/slog"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/event"
	"github.com/ropehq/rope/media/webrtc/dtlstransport"
)

// worker is an in-process media worker.
type worker struct {
	object
	api *api

	// mu guards settings, routers and servers.
	mu       sync.Mutex
	settings media.WorkerSettings
	routers  map[string]*router
	servers  map[string]*webRtcServer

	// cert is the DTLS certificate of the worker's WebRTC transports;
	// nil: the process's generated one.
	cert *dtlstransport.Certificate

	// nextPort spreads transports over the worker's port range.
	nextPort atomic.Uint32

	// died is set when a goroutine of the worker panicked (died.go);
	// burying while die closes its objects and runs their listeners;
	// buried closes when die is done.
	died, burying atomic.Bool
	buried        chan struct{}
	// fault is a test's panic injection (export_test.go), checked on
	// each read batch of plain and pipe transports.
	fault atomic.Pointer[func()]
	// turnFault is a test's stall of the event loop (export_test.go),
	// run at the end of each turn before what the turn queued is sent.
	turnFault atomic.Pointer[func()]

	// loop is the worker's event loop (event_loop.go).
	loop loopState

	// log is the worker's logger, filtered by logf (logging.go).
	log  *slog.Logger
	logf logFilter

	// outPool lends its consumers packet buffers (out_pool.go).
	outPool outPool

	onDied      event.Listeners[error]
	onNewRouter event.Listeners[media.Router]

	onNewWebRtcServer event.Listeners[media.WebRtcServer]
}

var _ media.Worker = (*worker)(nil)

func newWorker(a *api, s media.WorkerSettings) *worker {
	w := &worker{api: a, settings: s, routers: map[string]*router{}, servers: map[string]*webRtcServer{},
		buried: make(chan struct{}), outPool: newOutPool(a.opts.OutPoolBytes)}
	w.init(newID(), s.AppData)
	w.initLog(a.opts.Logger.Handler())
	return w
}

func (w *worker) PID() int   { return os.Getpid() }
func (w *worker) Died() bool { return w.died.Load() }

func (w *worker) OnDied(fn func(error)) func()             { return w.onDied.On(fn) }
func (w *worker) OnNewRouter(fn func(media.Router)) func() { return w.onNewRouter.On(fn) }
func (w *worker) OnNewWebRtcServer(fn func(media.WebRtcServer)) func() {
	return w.onNewWebRtcServer.On(fn)
}

func (w *worker) Close(ctx context.Context) error {
	if w.closed.Swap(true) {
		// A worker that died is closed once die is done; from one of
		// its listeners meanwhile, Close returns at once (waiting
		// would wait for itself).
		if w.died.Load() && !w.burying.Load() {
			<-w.buried
		}
		return nil
	}
	w.closeChildren()
	w.closeLoop()
	emit(&w.onClose)
	return nil
}

// closeChildren closes every router (and so every transport) first,
// then the WebRtcServers, as mediasoup does.
func (w *worker) closeChildren() {
	w.mu.Lock()
	routers, servers := w.routers, w.servers
	w.routers, w.servers = map[string]*router{}, map[string]*webRtcServer{}
	w.mu.Unlock()
	for _, r := range routers {
		r.close(closeByParent)
	}
	for _, s := range servers {
		s.close(closeByParent)
	}
}

func (w *worker) removeServer(id string) {
	w.mu.Lock()
	delete(w.servers, id)
	w.mu.Unlock()
}

func (w *worker) removeRouter(id string) {
	w.mu.Lock()
	delete(w.routers, id)
	w.mu.Unlock()
}

func (w *worker) Dump(ctx context.Context) (*media.WorkerDump, error) {
	if err := w.checkOpen("worker"); err != nil {
		return nil, err
	}
	w.mu.Lock()
	ids := make([]string, 0, len(w.routers))
	for id := range w.routers {
		ids = append(ids, id)
	}
	serverIDs := make([]string, 0, len(w.servers))
	for id := range w.servers {
		serverIDs = append(serverIDs, id)
	}
	w.mu.Unlock()
	sort.Strings(ids)
	sort.Strings(serverIDs)
	return &media.WorkerDump{
		PID: w.PID(), WebRtcServerIDs: serverIDs, RouterIDs: ids,
		ChannelMessageHandlers: media.ChannelMessageHandlers{
			ChannelRequestHandlers: append(append([]string{}, serverIDs...), ids...), ChannelNotificationHandlers: []string{},
		},
	}, nil
}

func (w *worker) GetResourceUsage(ctx context.Context) (*media.WorkerResourceUsage, error) {
	if err := w.checkOpen("worker"); err != nil {
		return nil, err
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return nil, err
	}
	ms := func(tv syscall.Timeval) int64 { return tv.Nano() / 1e6 }
	return &media.WorkerResourceUsage{
		UTime: ms(ru.Utime), STime: ms(ru.Stime), MaxRSS: int64(ru.Maxrss),
		IXRSS: int64(ru.Ixrss), IDRSS: int64(ru.Idrss), ISRSS: int64(ru.Isrss),
		MinFlt: int64(ru.Minflt), MajFlt: int64(ru.Majflt), NSwap: int64(ru.Nswap),
		InBlock: int64(ru.Inblock), OuBlock: int64(ru.Oublock), MsgSnd: int64(ru.Msgsnd),
		MsgRcv: int64(ru.Msgrcv), NSignals: int64(ru.Nsignals), NVCSw: int64(ru.Nvcsw), NIvCSw: int64(ru.Nivcsw),
	}, nil
}

func (w *worker) UpdateSettings(ctx context.Context, s *media.WorkerUpdateableSettings) error {
	if err := w.checkOpen("worker"); err != nil {
		return err
	}
	if s == nil {
		return nil
	}
	if s.LogLevel != "" && !validLogLevel(s.LogLevel) {
		return &media.ParamError{Field: "logLevel", Reason: "invalid " + string(s.LogLevel)}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if s.LogLevel != "" {
		w.settings.LogLevel = s.LogLevel
	}
	if s.LogTags != nil {
		w.settings.LogTags = append([]string(nil), s.LogTags...)
	}
	w.logf.set(w.settings.LogLevel, w.settings.LogTags)
	return nil
}

func (w *worker) CreateRouter(ctx context.Context, o *media.RouterOptions) (media.Router, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := w.checkOpen("worker"); err != nil {
		return nil, err
	}
	var opts media.RouterOptions
	if o != nil {
		opts = *o
	}
	caps, err := routerCapabilities(opts.MediaCodecs)
	if err != nil {
		return nil, err
	}
	r := newRouter(w, caps, opts.AppData)
	w.mu.Lock()
	if w.closed.Load() {
		w.mu.Unlock()
		return nil, media.NewError(media.ErrClosed, "worker closed")
	}
	w.routers[r.id] = r
	w.mu.Unlock()
	w.onNewRouter.Emit(r)
	return r, nil
}

// portRange returns the worker's RTC port range and a rotating start.
func (w *worker) portRange() (min, max uint16, start uint32) {
	w.mu.Lock()
	min, max = w.settings.RtcMinPort, w.settings.RtcMaxPort
	w.mu.Unlock()
	return min, max, w.nextPort.Add(7919)
}
