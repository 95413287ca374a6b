package mediaclient

import (
	"context"
	"fmt"

	"github.com/ropehq/rope/media"
)

type router struct{ *base }

var _ media.Router = (*router)(nil)

func (r *router) RtpCapabilities() media.RtpCapabilities {
	return get[media.RtpCapabilities](r.base, "rtpCapabilities")
}

func (r *router) Close(ctx context.Context) error { return r.close(ctx) }

func (r *router) Dump(ctx context.Context) (*media.RouterDump, error) {
	var d media.RouterDump
	return &d, r.call(ctx, "dump", nil, &d)
}

// createAs calls a creating method and returns the new object as T.
func createAs[T any](ctx context.Context, b *base, method string, params any) (T, error) {
	var zero T
	o, err := b.create(ctx, method, params)
	if err != nil {
		return zero, err
	}
	t, ok := b.c.wrap(o).(T)
	if !ok {
		return zero, fmt.Errorf("mediaclient: %s returned a %s: %w", method, o.Type(), media.ErrInvalidState)
	}
	return t, nil
}

// createWebRtcTransportParams mirror mediaserver.CreateWebRtcTransportParams.
type createWebRtcTransportParams struct {
	*media.WebRtcTransportOptions
	WebRtcServerID string `json:"webRtcServerId,omitempty"`
}

// CreateWebRtcTransport sends o.WebRtcServer as its id; the server must be
// one of this Client's.
func (r *router) CreateWebRtcTransport(ctx context.Context, o *media.WebRtcTransportOptions) (media.WebRtcTransport, error) {
	if o == nil {
		o = &media.WebRtcTransportOptions{}
	}
	p := createWebRtcTransportParams{WebRtcTransportOptions: o}
	if o.WebRtcServer != nil {
		s, ok := o.WebRtcServer.(*webRtcServer)
		if !ok || s.c != r.c {
			return nil, &media.ParamError{Field: "webRtcServer", Reason: "not a WebRtcServer of this connection's server"}
		}
		if s.Closed() {
			return nil, media.NewError(media.ErrClosed, "webRtcServer %s closed", s.ID())
		}
		p.WebRtcServerID = s.ID()
	}
	return createAs[media.WebRtcTransport](ctx, r.base, "createWebRtcTransport", p)
}

func (r *router) CreatePlainTransport(ctx context.Context, o *media.PlainTransportOptions) (media.PlainTransport, error) {
	return createAs[media.PlainTransport](ctx, r.base, "createPlainTransport", orEmpty(o))
}

func (r *router) CreatePipeTransport(ctx context.Context, o *media.PipeTransportOptions) (media.PipeTransport, error) {
	return createAs[media.PipeTransport](ctx, r.base, "createPipeTransport", orEmpty(o))
}

func (r *router) CreateDirectTransport(ctx context.Context, o *media.DirectTransportOptions) (media.DirectTransport, error) {
	return createAs[media.DirectTransport](ctx, r.base, "createDirectTransport", orEmpty(o))
}

func (r *router) CreateActiveSpeakerObserver(ctx context.Context, o *media.ActiveSpeakerObserverOptions) (media.ActiveSpeakerObserver, error) {
	return createAs[media.ActiveSpeakerObserver](ctx, r.base, "createActiveSpeakerObserver", orEmpty(o))
}

func (r *router) CreateAudioLevelObserver(ctx context.Context, o *media.AudioLevelObserverOptions) (media.AudioLevelObserver, error) {
	return createAs[media.AudioLevelObserver](ctx, r.base, "createAudioLevelObserver", orEmpty(o))
}

// pipeToRouterParams mirror mediaserver.PipeToRouterParams.
type pipeToRouterParams struct {
	*media.PipeToRouterOptions
	RouterID string `json:"routerId"`
}

type pipeToRouterResult struct {
	PipeConsumerID     string `json:"pipeConsumerId"`
	PipeProducerID     string `json:"pipeProducerId"`
	PipeDataConsumerID string `json:"pipeDataConsumerId"`
	PipeDataProducerID string `json:"pipeDataProducerId"`
}

// PipeToRouter pipes to the router of options.Router.ID(), which must be
// served by the same server.
func (r *router) PipeToRouter(ctx context.Context, o *media.PipeToRouterOptions) (*media.PipeToRouterResult, error) {
	if o == nil || o.Router == nil {
		return nil, &media.ParamError{Field: "router", Reason: "required"}
	}
	var res pipeToRouterResult
	if err := r.call(ctx, "pipeToRouter", pipeToRouterParams{o, o.Router.ID()}, &res); err != nil {
		return nil, err
	}
	out := &media.PipeToRouterResult{}
	if x, ok := r.object(res.PipeConsumerID); ok {
		out.PipeConsumer, _ = x.(media.Consumer)
	}
	if x, ok := r.object(res.PipeProducerID); ok {
		out.PipeProducer, _ = x.(media.Producer)
	}
	if x, ok := r.object(res.PipeDataConsumerID); ok {
		out.PipeDataConsumer, _ = x.(media.DataConsumer)
	}
	if x, ok := r.object(res.PipeDataProducerID); ok {
		out.PipeDataProducer, _ = x.(media.DataProducer)
	}
	return out, nil
}

// CanConsume asks the server, waiting at most Options.Timeout; any
// failure answers false.
func (r *router) CanConsume(producerID string, caps *media.RtpCapabilities) bool {
	ctx, cancel := context.WithTimeout(context.Background(), r.c.opts.Timeout)
	defer cancel()
	var ok bool
	err := r.call(ctx, "canConsume", map[string]any{"producerId": producerID, "rtpCapabilities": caps}, &ok)
	if err != nil {
		r.c.opts.Logger.Warn("mediaclient: canConsume", "router", r.ID(), "err", err)
		return false
	}
	return ok
}

func (r *router) OnWorkerClose(fn func()) func() { return r.on("workerclose", fn) }

func (r *router) OnNewTransport(fn func(media.Transport)) func() {
	return r.onChild(func(x any) { fn(x.(media.Transport)) },
		typeWebRtcTransport, typePlainTransport, typePipeTransport, typeDirectTransport)
}

func (r *router) OnNewRtpObserver(fn func(media.RtpObserver)) func() {
	return r.onChild(func(x any) { fn(x.(media.RtpObserver)) }, typeActiveSpeakerObserver, typeAudioLevelObserver)
}
