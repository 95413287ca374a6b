package mediaclient

import (
	"context"

	"github.com/ropehq/rope/media"
)

type rtpObserver struct{ *base }

func (x *rtpObserver) Paused() bool                     { return get[bool](x.base, "paused") }
func (x *rtpObserver) Close(ctx context.Context) error  { return x.close(ctx) }
func (x *rtpObserver) Pause(ctx context.Context) error  { return x.call(ctx, "pause", nil, nil) }
func (x *rtpObserver) Resume(ctx context.Context) error { return x.call(ctx, "resume", nil, nil) }

func (x *rtpObserver) AddProducer(ctx context.Context, o media.RtpObserverAddRemoveProducerOptions) error {
	return x.call(ctx, "addProducer", o, nil)
}

func (x *rtpObserver) RemoveProducer(ctx context.Context, o media.RtpObserverAddRemoveProducerOptions) error {
	return x.call(ctx, "removeProducer", o, nil)
}

func (x *rtpObserver) OnRouterClose(fn func()) func() { return x.on("routerclose", fn) }
func (x *rtpObserver) OnPause(fn func()) func()       { return x.on("pause", fn) }
func (x *rtpObserver) OnResume(fn func()) func()      { return x.on("resume", fn) }

func (x *rtpObserver) OnAddProducer(fn func(media.Producer)) func() {
	return x.onProducer("addproducer", fn)
}

func (x *rtpObserver) OnRemoveProducer(fn func(media.Producer)) func() {
	return x.onProducer("removeproducer", fn)
}

// producerRef mirrors mediaserver.ProducerRef.
type producerRef struct {
	ProducerID string `json:"producerId"`
}

// producer returns the producer with that ROPE id, if mirrored.
func (x *rtpObserver) producer(id string) (media.Producer, bool) {
	w, ok := x.object(id)
	if !ok {
		return nil, false
	}
	p, ok := w.(media.Producer)
	return p, ok
}

func (x *rtpObserver) onProducer(event string, fn func(media.Producer)) func() {
	return onData(x.base, event, func(r producerRef) {
		if p, ok := x.producer(r.ProducerID); ok {
			fn(p)
		}
	})
}

type activeSpeakerObserver struct{ rtpObserver }

var _ media.ActiveSpeakerObserver = (*activeSpeakerObserver)(nil)

func (x *activeSpeakerObserver) OnDominantSpeaker(fn func(media.Producer)) func() {
	return x.onProducer("dominantspeaker", fn)
}

type audioLevelObserver struct{ rtpObserver }

var _ media.AudioLevelObserver = (*audioLevelObserver)(nil)

func (x *audioLevelObserver) OnVolumes(fn func([]media.AudioLevelObserverVolume)) func() {
	return onData(x.base, "volumes", func(v []struct {
		ProducerID string `json:"producerId"`
		Volume     int    `json:"volume"`
	}) {
		out := make([]media.AudioLevelObserverVolume, 0, len(v))
		for _, e := range v {
			if p, ok := x.producer(e.ProducerID); ok {
				out = append(out, media.AudioLevelObserverVolume{Producer: p, Volume: e.Volume})
			}
		}
		fn(out)
	})
}

func (x *audioLevelObserver) OnSilence(fn func()) func() { return x.on("silence", fn) }
