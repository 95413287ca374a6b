package mediaserver

import (
	"context"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/ropeserver"
)

type none = struct{}

func producerKind() *kind {
	return refreshing(newKind(TypeProducer,
		[]string{"id", "kind", "rtpParameters", "type", "consumableRtpParameters", "paused", "score"},
		[]string{"transportclose", "score", "videoorientationchange", "pause", "resume", "trace"},
		func(p media.Producer) map[string]any {
			return map[string]any{"id": p.ID(), "kind": p.Kind(), "rtpParameters": p.RtpParameters(), "type": p.Type(),
				"consumableRtpParameters": p.ConsumableRtpParameters(), "paused": p.Paused(), "score": scores(p.Score())}
		},
		func(s *Server) map[string]ropeserver.MethodFunc {
			type pr = media.Producer
			return map[string]ropeserver.MethodFunc{
				"close":    method(s, func(ctx context.Context, _ *ropeserver.Object, p pr, _ *none) (any, error) { return nil, p.Close(ctx) }),
				"dump":     method(s, func(ctx context.Context, _ *ropeserver.Object, p pr, _ *none) (any, error) { return p.Dump(ctx) }),
				"getStats": method(s, func(ctx context.Context, _ *ropeserver.Object, p pr, _ *none) (any, error) { return p.GetStats(ctx) }),
				"pause":    method(s, func(ctx context.Context, _ *ropeserver.Object, p pr, _ *none) (any, error) { return nil, p.Pause(ctx) }),
				"resume":   method(s, func(ctx context.Context, _ *ropeserver.Object, p pr, _ *none) (any, error) { return nil, p.Resume(ctx) }),
				"enableTraceEvent": method(s, func(ctx context.Context, _ *ropeserver.Object, p pr, t *TraceParams[media.ProducerTraceEventType]) (any, error) {
					return nil, p.EnableTraceEvent(ctx, t.Types)
				}),
				"send": method(s, func(_ context.Context, _ *ropeserver.Object, p pr, m *PacketParams) (any, error) {
					if err := s.checkPacket(m); err != nil {
						return nil, err
					}
					return nil, p.Send(m.Packet)
				}),
			}
		},
		func(s *Server, o *ropeserver.Object, p media.Producer) {
			p.OnClose(o.Close)
			p.OnTransportClose(func() { s.emit(o, "transportclose", nil) })
			p.OnScore(func(v []media.ProducerScore) { s.emit(o, "score", scores(v)) })
			p.OnVideoOrientationChange(func(v media.ProducerVideoOrientation) { s.emit(o, "videoorientationchange", v) })
			p.OnPause(func() { s.emit(o, "pause", nil) })
			p.OnResume(func() { s.emit(o, "resume", nil) })
			p.OnTrace(func(v media.ProducerTraceEventData) { s.emit(o, "trace", v) })
		}),
		func(p media.Producer) map[string]any {
			return map[string]any{"paused": p.Paused(), "score": scores(p.Score())}
		})
}

// scores never encodes as null.
func scores(v []media.ProducerScore) []media.ProducerScore {
	if v == nil {
		return []media.ProducerScore{}
	}
	return v
}

// PriorityParams are the params of Consumer.setPriority.
type PriorityParams struct {
	Priority int `json:"priority"`
}

func consumerKind() *kind {
	return refreshing(newKind(TypeConsumer,
		[]string{"producerId", "kind", "rtpParameters", "type", "paused", "producerPaused", "priority", "score",
			"preferredLayers", "currentLayers"},
		[]string{"transportclose", "producerclose", "producerpause", "producerresume", "score", "layerschange",
			"pause", "resume", "trace"},
		func(c media.Consumer) map[string]any {
			st := consumerLive(c)
			st["producerId"], st["kind"], st["rtpParameters"], st["type"] = c.ProducerID(), c.Kind(), c.RtpParameters(), c.Type()
			return st
		},
		consumerMethods,
		func(s *Server, o *ropeserver.Object, c media.Consumer) {
			c.OnClose(o.Close)
			for ev, on := range map[string]func(func()) func(){
				"transportclose": c.OnTransportClose, "producerclose": c.OnProducerClose,
				"producerpause": c.OnProducerPause, "producerresume": c.OnProducerResume,
				"pause": c.OnPause, "resume": c.OnResume,
			} {
				on(func() { s.emit(o, ev, nil) })
			}
			c.OnScore(func(v media.ConsumerScore) { s.emit(o, "score", v) })
			c.OnLayersChange(func(v *media.ConsumerLayers) { s.emit(o, "layerschange", v) })
			c.OnTrace(func(v media.ProducerTraceEventData) { s.emit(o, "trace", v) })
		}),
		consumerLive)
}

// consumerLive is what changes of a consumer after its creation.
func consumerLive(c media.Consumer) map[string]any {
	return map[string]any{"paused": c.Paused(), "producerPaused": c.ProducerPaused(), "priority": c.Priority(),
		"score": c.Score(), "preferredLayers": c.PreferredLayers(), "currentLayers": c.CurrentLayers()}
}

func consumerMethods(s *Server) map[string]ropeserver.MethodFunc {
	type co = media.Consumer
	return map[string]ropeserver.MethodFunc{
		"close":    method(s, func(ctx context.Context, _ *ropeserver.Object, c co, _ *none) (any, error) { return nil, c.Close(ctx) }),
		"dump":     method(s, func(ctx context.Context, _ *ropeserver.Object, c co, _ *none) (any, error) { return c.Dump(ctx) }),
		"getStats": method(s, func(ctx context.Context, _ *ropeserver.Object, c co, _ *none) (any, error) { return c.GetStats(ctx) }),
		"pause":    method(s, func(ctx context.Context, _ *ropeserver.Object, c co, _ *none) (any, error) { return nil, c.Pause(ctx) }),
		"resume":   method(s, func(ctx context.Context, _ *ropeserver.Object, c co, _ *none) (any, error) { return nil, c.Resume(ctx) }),
		"setPreferredLayers": method(s, func(ctx context.Context, _ *ropeserver.Object, c co, p *media.ConsumerLayers) (any, error) {
			return nil, c.SetPreferredLayers(ctx, *p)
		}),
		"setPriority": method(s, func(ctx context.Context, _ *ropeserver.Object, c co, p *PriorityParams) (any, error) {
			return nil, c.SetPriority(ctx, p.Priority)
		}),
		"unsetPriority": method(s, func(ctx context.Context, _ *ropeserver.Object, c co, _ *none) (any, error) {
			return nil, c.UnsetPriority(ctx)
		}),
		"requestKeyFrame": method(s, func(ctx context.Context, _ *ropeserver.Object, c co, _ *none) (any, error) {
			return nil, c.RequestKeyFrame(ctx)
		}),
		"enableTraceEvent": method(s, func(ctx context.Context, _ *ropeserver.Object, c co, t *TraceParams[media.ProducerTraceEventType]) (any, error) {
			return nil, c.EnableTraceEvent(ctx, t.Types)
		}),
		"subscribeRtp":   s.subscribeMethod(NotifyRTP, attachRtp),
		"unsubscribeRtp": s.unsubscribeMethod(),
	}
}
