package mediaserver

import (
	"context"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/ropeserver"
)

// ProducerRef names a producer in observer events: its ROPE id.
type ProducerRef struct {
	ProducerID string `json:"producerId"`
}

// VolumeEntry is one entry of AudioLevelObserver's "volumes" event.
type VolumeEntry struct {
	ProducerID string `json:"producerId"`
	Volume     int    `json:"volume"`
}

var observerEvents = []string{"routerclose", "pause", "resume", "addproducer", "removeproducer"}

func observerState(x media.RtpObserver) map[string]any { return map[string]any{"paused": x.Paused()} }

func observerMethods(s *Server) map[string]ropeserver.MethodFunc {
	type ob = media.RtpObserver
	type ref = media.RtpObserverAddRemoveProducerOptions
	return map[string]ropeserver.MethodFunc{
		"close":  method(s, func(ctx context.Context, _ *ropeserver.Object, x ob, _ *none) (any, error) { return nil, x.Close(ctx) }),
		"pause":  method(s, func(ctx context.Context, _ *ropeserver.Object, x ob, _ *none) (any, error) { return nil, x.Pause(ctx) }),
		"resume": method(s, func(ctx context.Context, _ *ropeserver.Object, x ob, _ *none) (any, error) { return nil, x.Resume(ctx) }),
		"addProducer": method(s, func(ctx context.Context, _ *ropeserver.Object, x ob, p *ref) (any, error) {
			return nil, x.AddProducer(ctx, *p)
		}),
		"removeProducer": method(s, func(ctx context.Context, _ *ropeserver.Object, x ob, p *ref) (any, error) {
			return nil, x.RemoveProducer(ctx, *p)
		}),
	}
}

func wireObserver(s *Server, o *ropeserver.Object, x media.RtpObserver) {
	x.OnClose(o.Close)
	x.OnRouterClose(func() { s.emit(o, "routerclose", nil) })
	x.OnPause(func() { s.emit(o, "pause", nil) })
	x.OnResume(func() { s.emit(o, "resume", nil) })
	x.OnAddProducer(func(p media.Producer) { s.emit(o, "addproducer", ProducerRef{s.ropeID(p)}) })
	x.OnRemoveProducer(func(p media.Producer) { s.emit(o, "removeproducer", ProducerRef{s.ropeID(p)}) })
}

func activeSpeakerObserverKind() *kind {
	return newKind(TypeActiveSpeakerObserver, []string{"paused"},
		append(append([]string{}, observerEvents...), "dominantspeaker"),
		func(x media.ActiveSpeakerObserver) map[string]any { return observerState(x) },
		observerMethods,
		func(s *Server, o *ropeserver.Object, x media.ActiveSpeakerObserver) {
			wireObserver(s, o, x)
			x.OnDominantSpeaker(func(p media.Producer) { s.emit(o, "dominantspeaker", ProducerRef{s.ropeID(p)}) })
		})
}

func audioLevelObserverKind() *kind {
	return newKind(TypeAudioLevelObserver, []string{"paused"},
		append(append([]string{}, observerEvents...), "volumes", "silence"),
		func(x media.AudioLevelObserver) map[string]any { return observerState(x) },
		observerMethods,
		func(s *Server, o *ropeserver.Object, x media.AudioLevelObserver) {
			wireObserver(s, o, x)
			x.OnVolumes(func(v []media.AudioLevelObserverVolume) {
				out := make([]VolumeEntry, len(v))
				for i, e := range v {
					out[i] = VolumeEntry{ProducerID: s.ropeID(e.Producer), Volume: e.Volume}
				}
				s.emit(o, "volumes", out)
			})
			x.OnSilence(func() { s.emit(o, "silence", nil) })
		})
}
