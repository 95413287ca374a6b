package mediaserver

import (
	"context"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/ropeserver"
)

// PipeToRouterParams are the params of Router.pipeToRouter: mediasoup's
// PipeToRouterOptions with the destination router named by its id.
type PipeToRouterParams struct {
	media.PipeToRouterOptions
	RouterID string `json:"routerId"`
}

// PipeToRouterResult is the result of Router.pipeToRouter: the ROPE ids of
// the objects created (or reused), empty when not applicable.
type PipeToRouterResult struct {
	PipeConsumerID     string `json:"pipeConsumerId,omitempty"`
	PipeProducerID     string `json:"pipeProducerId,omitempty"`
	PipeDataConsumerID string `json:"pipeDataConsumerId,omitempty"`
	PipeDataProducerID string `json:"pipeDataProducerId,omitempty"`
}

// CreateWebRtcTransportParams are the params of
// Router.createWebRtcTransport: mediasoup's WebRtcTransportOptions with
// the WebRtcServer named by its id.
type CreateWebRtcTransportParams struct {
	media.WebRtcTransportOptions
	WebRtcServerID string `json:"webRtcServerId,omitempty"`
}

// CanConsumeParams are the params of Router.canConsume.
type CanConsumeParams struct {
	ProducerID      string                 `json:"producerId"`
	RtpCapabilities *media.RtpCapabilities `json:"rtpCapabilities"`
}

// WebRtcListenChooser is implemented by routers that put a WebRTC
// transport created without listenInfos or webRtcServerId on sockets of
// their choosing (a MafaldaRouter with webRtcServerOptions uses its
// workers' WebRtcServers). When ChoosesWebRtcListen reports true, the
// server leaves listenInfos empty instead of filling in
// Options.ListenInfo.
type WebRtcListenChooser interface {
	ChoosesWebRtcListen() bool
}

func choosesWebRtcListen(r media.Router) bool {
	c, ok := r.(WebRtcListenChooser)
	return ok && c.ChoosesWebRtcListen()
}

func routerMethods(s *Server) map[string]ropeserver.MethodFunc {
	return map[string]ropeserver.MethodFunc{
		"close": method(s, func(ctx context.Context, _ *ropeserver.Object, r media.Router, _ *struct{}) (any, error) {
			return nil, r.Close(ctx)
		}),
		"dump": method(s, func(ctx context.Context, _ *ropeserver.Object, r media.Router, _ *struct{}) (any, error) {
			return r.Dump(ctx)
		}),
		"createWebRtcTransport": method(s, func(ctx context.Context, o *ropeserver.Object, r media.Router, p *CreateWebRtcTransportParams) (any, error) {
			opts := p.WebRtcTransportOptions
			if p.WebRtcServerID != "" {
				x, ok := s.rs.Object(p.WebRtcServerID)
				if !ok || x.Type() != TypeWebRtcServer {
					return nil, media.NewError(media.ErrNotFound, "webRtcServer %q not found", p.WebRtcServerID)
				}
				opts.WebRtcServer = x.Value().(media.WebRtcServer)
			} else if err := s.opts.Listen.checkListenInfos("listenInfos", opts.ListenInfos); err != nil {
				return nil, err
			} else if len(opts.ListenInfos) == 0 && s.opts.ListenInfo != nil && !choosesWebRtcListen(r) {
				opts.ListenInfos = []media.TransportListenInfo{*s.listenInfo()}
			}
			t, err := r.CreateWebRtcTransport(ctx, &opts)
			return created(s, o, t, err)
		}),
		"createPlainTransport": method(s, func(ctx context.Context, o *ropeserver.Object, r media.Router, p *media.PlainTransportOptions) (any, error) {
			if err := s.opts.Listen.checkListenInfo("listenInfo", p.ListenInfo); err != nil {
				return nil, err
			}
			if err := s.opts.Listen.checkListenInfo("rtcpListenInfo", p.RtcpListenInfo); err != nil {
				return nil, err
			}
			if p.ListenInfo == nil {
				p.ListenInfo = s.listenInfo()
			}
			t, err := r.CreatePlainTransport(ctx, p)
			return created(s, o, t, err)
		}),
		"createPipeTransport": method(s, func(ctx context.Context, o *ropeserver.Object, r media.Router, p *media.PipeTransportOptions) (any, error) {
			if err := s.opts.Listen.checkListenInfo("listenInfo", p.ListenInfo); err != nil {
				return nil, err
			}
			if p.ListenInfo == nil {
				p.ListenInfo = s.listenInfo()
			}
			t, err := r.CreatePipeTransport(ctx, p)
			return created(s, o, t, err)
		}),
		"createDirectTransport": method(s, func(ctx context.Context, o *ropeserver.Object, r media.Router, p *media.DirectTransportOptions) (any, error) {
			t, err := r.CreateDirectTransport(ctx, p)
			return created(s, o, t, err)
		}),
		"createActiveSpeakerObserver": method(s, func(ctx context.Context, o *ropeserver.Object, r media.Router, p *media.ActiveSpeakerObserverOptions) (any, error) {
			x, err := r.CreateActiveSpeakerObserver(ctx, p)
			return created(s, o, x, err)
		}),
		"createAudioLevelObserver": method(s, func(ctx context.Context, o *ropeserver.Object, r media.Router, p *media.AudioLevelObserverOptions) (any, error) {
			x, err := r.CreateAudioLevelObserver(ctx, p)
			return created(s, o, x, err)
		}),
		"pipeToRouter": method(s, s.pipeToRouter),
		"canConsume": method(s, func(_ context.Context, _ *ropeserver.Object, r media.Router, p *CanConsumeParams) (any, error) {
			return r.CanConsume(p.ProducerID, p.RtpCapabilities), nil
		}),
	}
}

func (s *Server) pipeToRouter(ctx context.Context, o *ropeserver.Object, r media.Router, p *PipeToRouterParams) (any, error) {
	var dst *ropeserver.Object
	var dstRouter media.Router // a Router or an Extension of it
	if d, ok := s.rs.Object(p.RouterID); ok {
		dst = d
		dstRouter, _ = d.Value().(media.Router)
	}
	if dstRouter == nil {
		return nil, media.NewError(media.ErrNotFound, "router %q not found", p.RouterID)
	}
	opts := p.PipeToRouterOptions
	if err := s.opts.Listen.checkListenInfo("listenInfo", opts.ListenInfo); err != nil {
		return nil, err
	}
	if opts.ListenInfo == nil {
		opts.ListenInfo = s.listenInfo()
	}
	opts.Router = dstRouter
	res, err := r.PipeToRouter(ctx, &opts)
	if err != nil {
		return nil, err
	}
	out := PipeToRouterResult{}
	for _, x := range []struct {
		m      any
		parent *ropeserver.Object
		id     *string
	}{{res.PipeConsumer, o, &out.PipeConsumerID}, {res.PipeProducer, dst, &out.PipeProducerID},
		{res.PipeDataConsumer, o, &out.PipeDataConsumerID}, {res.PipeDataProducer, dst, &out.PipeDataProducerID}} {
		if x.m == nil {
			continue
		}
		// A router that pipes through transports it does not announce
		// (a MafaldaRouter's inner routers), or announces them only
		// later (from another goroutine), leaves the pipe objects
		// unregistered: they go under the routers, so clients reach
		// them in the result.
		if _, ok := s.lookup(x.m); !ok {
			s.observed(x.parent, x.m)
		}
		*x.id = s.ropeID(x.m)
	}
	return out, nil
}
