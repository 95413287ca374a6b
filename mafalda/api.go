package mafalda

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"

	"github.com/ropehq/rope/media"
)

// API returns Mafalda as a media.API, so code written for one worker and
// router (and the shared suite, media/mediatest) runs on it, and so a
// Mafalda can stack over another. Its workers are views: a view keeps its
// settings and creates MafaldaRouters with them (its CreateRouter), and
// closing it closes them ("workerclose"). The real workers are shared.
// Every call returns the same value, so Mafaldas created over it share
// one pool.
func (m *Mafalda) API() media.API { return m.view }

type viewAPI struct {
	m           *Mafalda
	onNewWorker listeners[media.Worker]
}

var (
	_ media.Versioned         = (*viewAPI)(nil)
	_ media.NewWorkerNotifier = (*viewAPI)(nil)
)

// Version is media.Version(): the mediasoup version followed, with this
// module's.
func (a *viewAPI) Version() string { return media.Version() }

// OnNewWorker (mediasoup's observer "newworker") fires for each worker
// view CreateWorker makes, before it returns.
func (a *viewAPI) OnNewWorker(fn func(media.Worker)) func() { return a.onNewWorker.on(fn) }

func (a *viewAPI) SupportedRtpCapabilities() media.RtpCapabilities {
	return a.m.SupportedRtpCapabilities()
}

func (a *viewAPI) CreateWorker(ctx context.Context, s *media.WorkerSettings) (media.Worker, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w := &workerView{m: a.m, routers: map[*MafaldaRouter]struct{}{}}
	if s != nil {
		w.settings = *s
	}
	if w.settings.RtcMinPort != 0 && w.settings.RtcMaxPort != 0 && w.settings.RtcMinPort > w.settings.RtcMaxPort {
		return nil, &media.ParamError{Field: "rtcMinPort", Reason: "greater than rtcMaxPort"}
	}
	if l := w.settings.LogLevel; l != "" && !l.Valid() {
		return nil, &media.ParamError{Field: "logLevel", Reason: fmt.Sprintf("invalid %q", l)}
	}
	w.appData = w.settings.AppData.Clone()
	if w.appData == nil {
		w.appData = media.AppData{}
	}
	a.onNewWorker.emit(w)
	return w, nil
}

// workerView is a media.Worker whose routers are MafaldaRouters.
type workerView struct {
	m *Mafalda

	// mu guards the fields below.
	mu       sync.Mutex
	settings media.WorkerSettings
	appData  media.AppData
	closed   bool
	routers  map[*MafaldaRouter]struct{}

	onClose     listeners[struct{}]
	onDied      listeners[error]
	onNewRouter listeners[media.Router]
}

var _ media.Worker = (*workerView)(nil)

func (w *workerView) PID() int   { return os.Getpid() }
func (w *workerView) Died() bool { return false }

func (w *workerView) Closed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closed
}

func (w *workerView) AppData() media.AppData {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.appData
}

func (w *workerView) SetAppData(d media.AppData) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.appData = d
}

func (w *workerView) OnClose(fn func()) func()                 { return onFunc(&w.onClose, fn) }
func (w *workerView) OnDied(fn func(error)) func()             { return w.onDied.on(fn) }
func (w *workerView) OnNewRouter(fn func(media.Router)) func() { return w.onNewRouter.on(fn) }

// OnNewWebRtcServer never fires: a view has no WebRtcServers.
func (w *workerView) OnNewWebRtcServer(func(media.WebRtcServer)) func() { return func() {} }

// CreateWebRtcServer is not supported: a WebRtcServer's sockets belong to
// one real worker, while a MafaldaRouter spans several real workers and
// places its transports on any of them. The error matches both
// errors.ErrUnsupported and media.ErrUnsupported.
func (w *workerView) CreateWebRtcServer(ctx context.Context, _ *media.WebRtcServerOptions) (media.WebRtcServer, error) {
	if err := w.checkOpen(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("mafalda: %w: %w",
		media.NewError(media.ErrUnsupported, "WebRtcServer on a MafaldaRouter's worker view"), errors.ErrUnsupported)
}

// Close closes its MafaldaRouters, which emit "workerclose".
func (w *workerView) Close(ctx context.Context) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	routers := mapKeys(w.routers)
	w.mu.Unlock()
	for _, mr := range routers {
		_ = mr.close(ctx, true)
	}
	w.onClose.emit(struct{}{})
	return nil
}

func (w *workerView) checkOpen() error {
	if w.Closed() {
		return media.NewError(media.ErrClosed, "worker closed")
	}
	return nil
}

func (w *workerView) Dump(ctx context.Context) (*media.WorkerDump, error) {
	if err := w.checkOpen(); err != nil {
		return nil, err
	}
	w.mu.Lock()
	ids := []string{}
	for mr := range w.routers {
		ids = append(ids, mr.id)
	}
	w.mu.Unlock()
	sort.Strings(ids)
	return &media.WorkerDump{PID: w.PID(), WebRtcServerIDs: []string{}, RouterIDs: ids,
		ChannelMessageHandlers: media.ChannelMessageHandlers{
			ChannelRequestHandlers: append([]string{}, ids...), ChannelNotificationHandlers: []string{}}}, nil
}

// GetResourceUsage sums the usage of the real workers its MafaldaRouters
// use.
func (w *workerView) GetResourceUsage(ctx context.Context) (*media.WorkerResourceUsage, error) {
	if err := w.checkOpen(); err != nil {
		return nil, err
	}
	sum := &media.WorkerResourceUsage{}
	for _, mw := range w.realWorkers() {
		ru, err := mw.GetResourceUsage(ctx)
		if err != nil {
			return nil, fmt.Errorf("mafalda: resource usage: %w", err)
		}
		sum.UTime += ru.UTime
		sum.STime += ru.STime
		sum.MaxRSS = max(sum.MaxRSS, ru.MaxRSS)
	}
	return sum, nil
}

// realWorkers are the workers the view's MafaldaRouters use.
func (w *workerView) realWorkers() []media.Worker {
	w.mu.Lock()
	routers := w.routers
	w.m.p.mu.Lock()
	seen := map[*workerEntry]bool{}
	var out []media.Worker
	for _, we := range w.m.p.workers {
		for _, re := range we.routers {
			for mr := range re.users {
				if _, ok := routers[mr]; ok && !seen[we] {
					seen[we] = true
					out = append(out, we.worker)
				}
			}
		}
	}
	w.m.p.mu.Unlock()
	w.mu.Unlock()
	return out
}

// UpdateSettings applies to the real workers its MafaldaRouters use.
func (w *workerView) UpdateSettings(ctx context.Context, s *media.WorkerUpdateableSettings) error {
	if err := w.checkOpen(); err != nil {
		return err
	}
	if s != nil && s.LogLevel != "" && !s.LogLevel.Valid() {
		return &media.ParamError{Field: "logLevel", Reason: fmt.Sprintf("invalid %q", s.LogLevel)}
	}
	for _, mw := range w.realWorkers() {
		if err := mw.UpdateSettings(ctx, s); err != nil {
			return fmt.Errorf("mafalda: update settings: %w", err)
		}
	}
	return nil
}

// CreateRouter creates a MafaldaRouter with the view's settings.
func (w *workerView) CreateRouter(ctx context.Context, o *media.RouterOptions) (media.Router, error) {
	if err := w.checkOpen(); err != nil {
		return nil, err
	}
	opts := &MafaldaRouterOptions{WorkerSettings: w.settings}
	if o != nil {
		opts.RouterOptions = *o
	}
	mr, err := w.m.CreateMafaldaRouter(ctx, opts)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	closed := w.closed
	if !closed {
		w.routers[mr] = struct{}{}
	}
	w.mu.Unlock()
	if closed {
		_ = mr.Close(ctx)
		return nil, media.NewError(media.ErrClosed, "worker closed")
	}
	mr.OnClose(func() {
		w.mu.Lock()
		delete(w.routers, mr)
		w.mu.Unlock()
	})
	w.onNewRouter.emit(mr)
	return mr, nil
}
