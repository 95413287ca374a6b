package mafaldaclient

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/ropeclient"
)

// mediaRouter names the embedded media.Router, so it stays unexported.
type mediaRouter = media.Router

// MafaldaRouter is a MafaldaRouter on the server: mediaclient's
// media.Router for its mirror, plus the Mafalda events and options.
type MafaldaRouter struct {
	mediaRouter
	c *Client
	o *ropeclient.Object
}

var _ mafalda.Router = (*MafaldaRouter)(nil)

// workerDiedEvent and errorEvent mirror mafaldaserver's event data.
type workerDiedEvent struct {
	Worker mafalda.WorkerInfo `json:"worker"`
	Error  string             `json:"error"`
}

type errorEvent struct {
	Message string `json:"message"`
	Code    string `json:"code"`
}

// Options returns the options it was created with, defaults applied.
func (r *MafaldaRouter) Options() mafalda.MafaldaRouterOptions {
	var o mafalda.MafaldaRouterOptions
	_ = r.o.DecodeProp("options", &o)
	return o
}

// ChoosesWebRtcListen reports whether it has WebRtcServerOptions
// (mediaserver.WebRtcListenChooser), so a server serving it leaves a
// createWebRtcTransport without listenInfos to the remote MafaldaRouter.
func (r *MafaldaRouter) ChoosesWebRtcListen() bool { return r.Options().WebRtcServerOptions != nil }

// Transports returns its open transports, sorted by id.
func (r *MafaldaRouter) Transports() []media.Transport { return children[media.Transport](r.c, r.o) }

// RtpObservers returns its open observers, sorted by id.
func (r *MafaldaRouter) RtpObservers() []media.RtpObserver {
	return children[media.RtpObserver](r.c, r.o)
}

// OnError ("error") reports failures that no call returns; a media error
// matches its sentinel.
func (r *MafaldaRouter) OnError(fn func(error)) func() {
	return onData(r, "error", func(e errorEvent) {
		if e.Code != "" {
			fn(media.ErrorFromWire(e.Code, e.Message))
			return
		}
		fn(errors.New(e.Message))
	})
}

// OnNewRouterInfo ("newrouter") fires when it starts using a router.
func (r *MafaldaRouter) OnNewRouterInfo(fn func(mafalda.RouterInfo)) func() {
	return onData(r, "newrouter", fn)
}

// OnWorkerDiedInfo ("workerdied") fires when a worker it uses died, with
// the server's reason.
func (r *MafaldaRouter) OnWorkerDiedInfo(fn func(mafalda.WorkerInfo, error)) func() {
	return onData(r, "workerdied", func(e workerDiedEvent) { fn(e.Worker, errors.New(e.Error)) })
}

// onData registers fn for an event whose data decodes as T.
func onData[T any](r *MafaldaRouter, event string, fn func(T)) func() {
	if fn == nil {
		return func() {}
	}
	return r.o.OnEvent(func(e string, data json.RawMessage) {
		if e != event {
			return
		}
		var v T
		if err := json.Unmarshal(data, &v); err != nil {
			r.c.opts.Logger.Error("mafaldaclient: bad event data", "object", r.o.ID(), "event", e, "err", err)
			return
		}
		fn(v)
	})
}

// The creating methods add the mafalda sentinel (mafalda.ErrNoWorker) to
// mediaclient's errors.

func (r *MafaldaRouter) CreateWebRtcTransport(ctx context.Context, o *media.WebRtcTransportOptions) (media.WebRtcTransport, error) {
	return reason(r.mediaRouter.CreateWebRtcTransport(ctx, o))
}

func (r *MafaldaRouter) CreatePlainTransport(ctx context.Context, o *media.PlainTransportOptions) (media.PlainTransport, error) {
	return reason(r.mediaRouter.CreatePlainTransport(ctx, o))
}

func (r *MafaldaRouter) CreatePipeTransport(ctx context.Context, o *media.PipeTransportOptions) (media.PipeTransport, error) {
	return reason(r.mediaRouter.CreatePipeTransport(ctx, o))
}

func (r *MafaldaRouter) CreateDirectTransport(ctx context.Context, o *media.DirectTransportOptions) (media.DirectTransport, error) {
	return reason(r.mediaRouter.CreateDirectTransport(ctx, o))
}

func (r *MafaldaRouter) CreateActiveSpeakerObserver(ctx context.Context, o *media.ActiveSpeakerObserverOptions) (media.ActiveSpeakerObserver, error) {
	return reason(r.mediaRouter.CreateActiveSpeakerObserver(ctx, o))
}

func (r *MafaldaRouter) CreateAudioLevelObserver(ctx context.Context, o *media.AudioLevelObserverOptions) (media.AudioLevelObserver, error) {
	return reason(r.mediaRouter.CreateAudioLevelObserver(ctx, o))
}

// PipeToRouter pipes to o.Router (a MafaldaRouter or router of the same
// server); a MafaldaRouter destination places a router for it.
func (r *MafaldaRouter) PipeToRouter(ctx context.Context, o *media.PipeToRouterOptions) (*media.PipeToRouterResult, error) {
	return reason(r.mediaRouter.PipeToRouter(ctx, o))
}
