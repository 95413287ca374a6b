package mediaserver

import (
	"context"
	"errors"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeserver"
)

// Names of the ROPE types, as mediasoup's classes.
const (
	TypeMediaService          = "MediaService"
	TypeWorker                = "Worker"
	TypeRouter                = "Router"
	TypeWebRtcServer          = "WebRtcServer"
	TypeWebRtcTransport       = "WebRtcTransport"
	TypePlainTransport        = "PlainTransport"
	TypePipeTransport         = "PipeTransport"
	TypeDirectTransport       = "DirectTransport"
	TypeProducer              = "Producer"
	TypeConsumer              = "Consumer"
	TypeDataProducer          = "DataProducer"
	TypeDataConsumer          = "DataConsumer"
	TypeActiveSpeakerObserver = "ActiveSpeakerObserver"
	TypeAudioLevelObserver    = "AudioLevelObserver"
)

// allKinds is the catalogue; kindOf tries them in order.
func allKinds() []*kind {
	return []*kind{
		mediaServiceKind(), workerKind(), webRtcServerKind(), routerKind(),
		webRtcTransportKind(), plainTransportKind(), pipeTransportKind(), directTransportKind(),
		producerKind(), consumerKind(), dataProducerKind(), dataConsumerKind(),
		activeSpeakerObserverKind(), audioLevelObserverKind(),
	}
}

func mediaServiceKind() *kind {
	return newKind(TypeMediaService, []string{"supportedRtpCapabilities", "version"}, nil,
		func(a media.API) map[string]any {
			return map[string]any{"supportedRtpCapabilities": a.SupportedRtpCapabilities(), "version": apiVersion(a)}
		},
		func(s *Server) map[string]ropeserver.MethodFunc {
			return map[string]ropeserver.MethodFunc{
				"createWorker": s.createWorkerMethod(),
			}
		},
		func(*Server, *ropeserver.Object, media.API) {})
}

func workerKind() *kind {
	return newKind(TypeWorker, []string{"pid", "died"}, []string{"died"},
		func(w media.Worker) map[string]any { return map[string]any{"pid": w.PID(), "died": w.Died()} },
		workerMethods,
		func(s *Server, o *ropeserver.Object, w media.Worker) {
			w.OnClose(o.Close)
			w.OnDied(func(err error) { s.emit(o, "died", errorText(err)) })
			w.OnNewRouter(func(r media.Router) { s.observed(o, r) })
			w.OnNewWebRtcServer(func(x media.WebRtcServer) { s.observed(o, x) })
		})
}

func workerMethods(s *Server) map[string]ropeserver.MethodFunc {
	return map[string]ropeserver.MethodFunc{
		"close": method(s, func(ctx context.Context, _ *ropeserver.Object, w media.Worker, _ *struct{}) (any, error) {
			if !s.opts.AllowWorkerClose {
				return nil, rope.NewError(rope.CodeUnauthorized, "closing a worker is not allowed by this server")
			}
			return nil, w.Close(ctx)
		}),
		"dump": method(s, func(ctx context.Context, _ *ropeserver.Object, w media.Worker, _ *struct{}) (any, error) {
			return w.Dump(ctx)
		}),
		"getResourceUsage": method(s, func(ctx context.Context, _ *ropeserver.Object, w media.Worker, _ *struct{}) (any, error) {
			return w.GetResourceUsage(ctx)
		}),
		"updateSettings": method(s, func(ctx context.Context, _ *ropeserver.Object, w media.Worker, p *media.WorkerUpdateableSettings) (any, error) {
			return nil, w.UpdateSettings(ctx, p)
		}),
		"createRouter": method(s, func(ctx context.Context, o *ropeserver.Object, w media.Worker, p *media.RouterOptions) (any, error) {
			r, err := w.CreateRouter(ctx, p)
			return created(s, o, r, err)
		}),
		"createWebRtcServer": method(s, func(ctx context.Context, o *ropeserver.Object, w media.Worker, p *media.WebRtcServerOptions) (any, error) {
			if err := s.opts.Listen.checkListenInfos("listenInfos", p.ListenInfos); err != nil {
				return nil, err
			}
			x, err := w.CreateWebRtcServer(ctx, p)
			return created(s, o, x, err)
		}),
	}
}

// webRtcServerKind serves media.WebRtcServer. Its observer events
// "webrtctransporthandled" and "webrtctransportunhandled" are ordinary
// events whose data is the transport's ROPE id.
func webRtcServerKind() *kind {
	return newKind(TypeWebRtcServer, []string{}, []string{"workerclose", "webrtctransporthandled", "webrtctransportunhandled"},
		func(media.WebRtcServer) map[string]any { return map[string]any{} },
		func(s *Server) map[string]ropeserver.MethodFunc {
			return map[string]ropeserver.MethodFunc{
				"close": method(s, func(ctx context.Context, _ *ropeserver.Object, x media.WebRtcServer, _ *struct{}) (any, error) {
					return nil, x.Close(ctx)
				}),
				"dump": method(s, func(ctx context.Context, _ *ropeserver.Object, x media.WebRtcServer, _ *struct{}) (any, error) {
					return x.Dump(ctx)
				}),
			}
		},
		func(s *Server, o *ropeserver.Object, x media.WebRtcServer) {
			x.OnClose(o.Close)
			x.OnWorkerClose(func() { s.emit(o, "workerclose", nil) })
			x.OnWebRtcTransportHandled(func(t media.WebRtcTransport) { s.emit(o, "webrtctransporthandled", s.ropeID(t)) })
			x.OnWebRtcTransportUnhandled(func(t media.WebRtcTransport) { s.emit(o, "webrtctransportunhandled", s.ropeID(t)) })
		})
}

func routerKind() *kind {
	return newKind(TypeRouter, []string{"rtpCapabilities"}, []string{"workerclose"},
		func(r media.Router) map[string]any { return map[string]any{"rtpCapabilities": r.RtpCapabilities()} },
		routerMethods,
		func(s *Server, o *ropeserver.Object, r media.Router) {
			r.OnClose(o.Close)
			r.OnWorkerClose(func() { s.emit(o, "workerclose", nil) })
			r.OnNewTransport(func(t media.Transport) { s.observed(o, t) })
			r.OnNewRtpObserver(func(x media.RtpObserver) { s.observed(o, x) })
		})
}

// observed registers an object announced by a media observer event.
func (s *Server) observed(parent *ropeserver.Object, m any) {
	if _, err := s.ensure(parent, m); err != nil && !errors.Is(err, ropeserver.ErrClosed) {
		s.log.Error("mediaserver: register new object", "parent", parent.ID(), "err", err)
	}
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// apiVersion is the API's version (media.Versioned), else this module's
// (media.Version).
func apiVersion(a media.API) string {
	if v, ok := a.(media.Versioned); ok {
		return v.Version()
	}
	return media.Version()
}
