package mafaldaserver

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediaserver"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeserver"
)

// RootID is the ROPE id of the Mafalda root object.
const RootID = "mafalda"

// Names of the ROPE types this package adds to mediaserver's.
const (
	TypeMafalda       = "Mafalda"
	TypeMafaldaRouter = "MafaldaRouter"
)

// ReasonNoWorker is data.detail.reason of an error matching
// mafalda.ErrNoWorker.
const ReasonNoWorker = "no_worker"

// Options configure a Server. Nil means defaults.
type Options struct {
	// Media configures the mediaserver that serves Mafalda.API() and the
	// MafaldaRouters' transports. Its ListenInfo is where their
	// transports listen when a client gives none, and its WorkerSettings
	// fill the empty workerSettings fields of createMafaldaRouter as
	// they fill createWorker's. Default nil: mediaserver's defaults.
	Media *mediaserver.Options
}

// Server serves one mafalda.Service on a ROPE server.
type Server struct {
	svc   mafalda.Service
	media *mediaserver.Server
	opts  Options
	root  *ropeserver.Object

	// mu guards the fields below. Lock order: mu, then mediaserver's and
	// the ROPE server's locks. No Mafalda call is made with mu held.
	mu sync.Mutex
	// created are the MafaldaRouters clients created; Close closes them.
	created map[mafalda.Router]struct{}
	closed  bool
}

// WorkerDiedEvent is the data of a MafaldaRouter's "workerdied".
type WorkerDiedEvent struct {
	Worker mafalda.WorkerInfo `json:"worker"`
	// Error is why the worker died.
	Error string `json:"error"`
}

// ErrorEvent is the data of a MafaldaRouter's "error": the message and,
// when the error is a media error, its code.
type ErrorEvent struct {
	Message string `json:"message"`
	Code    string `json:"code,omitempty"`
}

// Register serves svc on rs: its media API through mediaserver (root
// "media"), the Mafalda root (id "mafalda") and the MafaldaRouter type.
// opts may be nil.
func Register(rs *ropeserver.Server, svc mafalda.Service, opts *Options) (*Server, error) {
	s := &Server{svc: svc, created: map[mafalda.Router]struct{}{}}
	if opts != nil {
		s.opts = *opts
	}
	ms, err := mediaserver.Register(rs, svc.API(), s.opts.Media)
	if err != nil {
		return nil, fmt.Errorf("mafaldaserver: %w", err)
	}
	s.media = ms
	err = ms.Extend(mediaserver.Extension{
		Name:       TypeMafaldaRouter,
		Base:       mediaserver.TypeRouter,
		Properties: []string{"options"},
		Events:     []string{"newrouter", "workerdied", "error"},
		State: func(m any) map[string]any {
			return map[string]any{"options": m.(mafalda.Router).Options()}
		},
		Wire:   wireRouter,
		Errors: map[string]error{ReasonNoWorker: mafalda.ErrNoWorker},
	})
	if err != nil {
		return nil, fmt.Errorf("mafaldaserver: %w", err)
	}
	err = rs.RegisterType(ropeserver.Type{Name: TypeMafalda, Properties: []string{"supportedRtpCapabilities"},
		Methods: s.rootMethods()})
	if err != nil {
		return nil, fmt.Errorf("mafaldaserver: %w", err)
	}
	s.root, err = rs.Create(TypeMafalda, &ropeserver.ObjectOptions{ID: RootID, Value: svc,
		Props: map[string]any{"supportedRtpCapabilities": svc.SupportedRtpCapabilities()}})
	if err != nil {
		return nil, fmt.Errorf("mafaldaserver: %w", err)
	}
	return s, nil
}

// Media returns the mediaserver serving the media API and the
// MafaldaRouters' transports.
func (s *Server) Media() *mediaserver.Server { return s.media }

// AddMafaldaRouter exposes a MafaldaRouter the application created itself
// and returns its ROPE id. The application still owns it.
func (s *Server) AddMafaldaRouter(mr mafalda.Router) (id string, err error) {
	o, err := s.media.Add(TypeMafaldaRouter, s.root, mr)
	if err != nil {
		return "", fmt.Errorf("mafaldaserver: %w", err)
	}
	return o.ID(), nil
}

// Close closes the MafaldaRouters clients created, then the media server
// (and the workers clients created there), then the root object. The
// Mafalda itself stays open: its owner closes it. It is idempotent.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	routers := make([]mafalda.Router, 0, len(s.created))
	for mr := range s.created {
		routers = append(routers, mr)
	}
	s.created = map[mafalda.Router]struct{}{}
	s.mu.Unlock()
	var errs []error
	for _, mr := range routers {
		if err := mr.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, s.media.Close(ctx))
	s.root.Close()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("mafaldaserver: close: %w", err)
	}
	return nil
}

func (s *Server) rootMethods() map[string]ropeserver.MethodFunc {
	type none = struct{}
	return map[string]ropeserver.MethodFunc{
		"createMafaldaRouter": s.media.LeasedType(TypeMafaldaRouter, rootMethod(s, s.createMafaldaRouter)), // leased (Part I §17), quota (§18)
		"getResourceUsages": rootMethod(s, func(ctx context.Context, _ *none) (any, error) {
			return s.svc.GetResourceUsages(ctx)
		}),
		"dump": rootMethod(s, func(ctx context.Context, _ *none) (any, error) {
			return s.svc.Dump(ctx)
		}),
		"closeAllMafaldaRouters": rootMethod(s, func(ctx context.Context, _ *none) (any, error) {
			return nil, s.svc.CloseAllMafaldaRouters(ctx)
		}),
	}
}

// rootMethod adapts fn to a method of the root: it binds the params and
// converts errors for the wire.
func rootMethod[P any](s *Server, fn func(ctx context.Context, p *P) (any, error)) ropeserver.MethodFunc {
	return func(ctx context.Context, call *ropeserver.Call) (any, error) {
		p := new(P)
		if err := call.Bind(p); err != nil {
			return nil, err
		}
		res, err := fn(ctx, p)
		if err != nil {
			return nil, s.media.WireError(err)
		}
		return res, nil
	}
}

func (s *Server) createMafaldaRouter(ctx context.Context, p *mafalda.MafaldaRouterOptions) (any, error) {
	if err := s.media.ApplyWorkerSettings(&p.WorkerSettings); err != nil {
		return nil, err
	}
	if p.WebRtcServerOptions != nil {
		if err := s.media.CheckListenInfos("webRtcServerOptions.listenInfos", p.WebRtcServerOptions.ListenInfos); err != nil {
			return nil, err
		}
	}
	mr, err := s.svc.CreateRouter(ctx, p)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	closed := s.closed
	if !closed {
		s.created[mr] = struct{}{}
	}
	s.mu.Unlock()
	if closed {
		_ = mr.Close(context.WithoutCancel(ctx))
		return nil, rope.NewError(rope.CodeInvalidState, "mafalda server closed")
	}
	forget := func() {
		s.mu.Lock()
		delete(s.created, mr)
		s.mu.Unlock()
	}
	mr.OnClose(forget)
	if mr.Closed() { // closed before OnClose took
		forget()
	}
	o, err := s.media.Add(TypeMafaldaRouter, s.root, mr)
	if err != nil {
		// Do not leave a MafaldaRouter no client can reach.
		_ = mr.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return rope.CreateResult{ID: o.ID()}, nil
}

// wireRouter emits a MafaldaRouter's own events on its ROPE object.
func wireRouter(ms *mediaserver.Server, o *ropeserver.Object, m any) {
	mr := m.(mafalda.Router)
	mr.OnNewRouterInfo(func(ri mafalda.RouterInfo) { ms.Emit(o, "newrouter", ri) })
	mr.OnWorkerDiedInfo(func(wi mafalda.WorkerInfo, err error) {
		ms.Emit(o, "workerdied", WorkerDiedEvent{Worker: wi, Error: errorText(err)})
	})
	mr.OnError(func(err error) { ms.Emit(o, "error", ErrorEvent{Message: errorText(err), Code: media.ErrorCode(err)}) })
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
