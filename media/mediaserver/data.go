package mediaserver

import (
	"context"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/ropeserver"
)

// SendParams are the params of DataProducer.send (DirectTransport only).
type SendParams struct {
	// Message is the message, base64 in JSON.
	Message []byte `json:"message"`
	// PPID defaults to 53 (binary), 57 for an empty message.
	PPID               int      `json:"ppid,omitempty"`
	Subchannels        []uint16 `json:"subchannels,omitempty"`
	RequiredSubchannel *uint16  `json:"requiredSubchannel,omitempty"`
}

// MessageEvent is the data of DataConsumer's "message" event.
type MessageEvent struct {
	// Message is the message, base64 in JSON.
	Message []byte `json:"message"`
	PPID    int    `json:"ppid"`
}

func dataProducerKind() *kind {
	return newKind(TypeDataProducer,
		[]string{"id", "type", "sctpStreamParameters", "label", "protocol", "paused"},
		[]string{"transportclose", "pause", "resume"},
		func(p media.DataProducer) map[string]any {
			return map[string]any{"id": p.ID(), "type": p.Type(), "sctpStreamParameters": p.SctpStreamParameters(),
				"label": p.Label(), "protocol": p.Protocol(), "paused": p.Paused()}
		},
		func(s *Server) map[string]ropeserver.MethodFunc {
			type dp = media.DataProducer
			return map[string]ropeserver.MethodFunc{
				"close":    method(s, func(ctx context.Context, _ *ropeserver.Object, p dp, _ *none) (any, error) { return nil, p.Close(ctx) }),
				"dump":     method(s, func(ctx context.Context, _ *ropeserver.Object, p dp, _ *none) (any, error) { return p.Dump(ctx) }),
				"getStats": method(s, func(ctx context.Context, _ *ropeserver.Object, p dp, _ *none) (any, error) { return p.GetStats(ctx) }),
				"pause":    method(s, func(ctx context.Context, _ *ropeserver.Object, p dp, _ *none) (any, error) { return nil, p.Pause(ctx) }),
				"resume":   method(s, func(ctx context.Context, _ *ropeserver.Object, p dp, _ *none) (any, error) { return nil, p.Resume(ctx) }),
				"send": method(s, func(_ context.Context, _ *ropeserver.Object, p dp, m *SendParams) (any, error) {
					return nil, p.Send(m.Message, &media.DataSendOptions{PPID: m.PPID, Subchannels: m.Subchannels, RequiredSubchannel: m.RequiredSubchannel})
				}),
			}
		},
		func(s *Server, o *ropeserver.Object, p media.DataProducer) {
			p.OnClose(o.Close)
			p.OnTransportClose(func() { s.emit(o, "transportclose", nil) })
			p.OnPause(func() { s.emit(o, "pause", nil) })
			p.OnResume(func() { s.emit(o, "resume", nil) })
		})
}

// ThresholdParams are the params of setBufferedAmountLowThreshold.
type ThresholdParams struct {
	Threshold int `json:"threshold"`
}

// ConsumerSendParams are the params of DataConsumer.send.
type ConsumerSendParams struct {
	// Message is the message, base64 in JSON.
	Message []byte `json:"message"`
	// PPID defaults to 53 (binary), 57 for an empty message.
	PPID int `json:"ppid,omitempty"`
}

// SubchannelsParams are the params of setSubchannels.
type SubchannelsParams struct {
	Subchannels []uint16 `json:"subchannels"`
}

// SubchannelParams are the params of addSubchannel and removeSubchannel.
type SubchannelParams struct {
	Subchannel uint16 `json:"subchannel"`
}

func dataConsumerKind() *kind {
	return newKind(TypeDataConsumer,
		[]string{"dataProducerId", "type", "sctpStreamParameters", "label", "protocol", "paused", "dataProducerPaused", "subchannels"},
		[]string{"transportclose", "dataproducerclose", "dataproducerpause", "dataproducerresume", "pause", "resume",
			"message", "sctpsendbufferfull", "bufferedamountlow"},
		func(c media.DataConsumer) map[string]any {
			sub := c.Subchannels()
			if sub == nil {
				sub = []uint16{}
			}
			return map[string]any{"dataProducerId": c.DataProducerID(), "type": c.Type(),
				"sctpStreamParameters": c.SctpStreamParameters(), "label": c.Label(), "protocol": c.Protocol(),
				"paused": c.Paused(), "dataProducerPaused": c.DataProducerPaused(), "subchannels": sub}
		},
		dataConsumerMethods,
		wireDataConsumer)
}

func dataConsumerMethods(s *Server) map[string]ropeserver.MethodFunc {
	type dc = media.DataConsumer
	return map[string]ropeserver.MethodFunc{
		"close":    method(s, func(ctx context.Context, _ *ropeserver.Object, c dc, _ *none) (any, error) { return nil, c.Close(ctx) }),
		"dump":     method(s, func(ctx context.Context, _ *ropeserver.Object, c dc, _ *none) (any, error) { return c.Dump(ctx) }),
		"getStats": method(s, func(ctx context.Context, _ *ropeserver.Object, c dc, _ *none) (any, error) { return c.GetStats(ctx) }),
		"pause":    method(s, func(ctx context.Context, _ *ropeserver.Object, c dc, _ *none) (any, error) { return nil, c.Pause(ctx) }),
		"resume":   method(s, func(ctx context.Context, _ *ropeserver.Object, c dc, _ *none) (any, error) { return nil, c.Resume(ctx) }),
		"setBufferedAmountLowThreshold": method(s, func(ctx context.Context, _ *ropeserver.Object, c dc, p *ThresholdParams) (any, error) {
			return nil, c.SetBufferedAmountLowThreshold(ctx, p.Threshold)
		}),
		"getBufferedAmount": method(s, func(ctx context.Context, _ *ropeserver.Object, c dc, _ *none) (any, error) {
			return c.GetBufferedAmount(ctx)
		}),
		"send": method(s, func(ctx context.Context, _ *ropeserver.Object, c dc, p *ConsumerSendParams) (any, error) {
			return nil, c.Send(ctx, p.Message, p.PPID)
		}),
		"setSubchannels": method(s, func(ctx context.Context, _ *ropeserver.Object, c dc, p *SubchannelsParams) (any, error) {
			return nil, c.SetSubchannels(ctx, p.Subchannels)
		}),
		"addSubchannel": method(s, func(ctx context.Context, _ *ropeserver.Object, c dc, p *SubchannelParams) (any, error) {
			return nil, c.AddSubchannel(ctx, p.Subchannel)
		}),
		"removeSubchannel": method(s, func(ctx context.Context, _ *ropeserver.Object, c dc, p *SubchannelParams) (any, error) {
			return nil, c.RemoveSubchannel(ctx, p.Subchannel)
		}),
	}
}

func wireDataConsumer(s *Server, o *ropeserver.Object, c media.DataConsumer) {
	c.OnClose(o.Close)
	for ev, on := range map[string]func(func()) func(){
		"transportclose": c.OnTransportClose, "dataproducerclose": c.OnDataProducerClose,
		"dataproducerpause": c.OnDataProducerPause, "dataproducerresume": c.OnDataProducerResume,
		"pause": c.OnPause, "resume": c.OnResume, "sctpsendbufferfull": c.OnSctpSendBufferFull,
	} {
		on(func() { s.emit(o, ev, nil) })
	}
	c.OnBufferedAmountLow(func(n int) { s.emit(o, "bufferedamountlow", map[string]int{"bufferedAmount": n}) })
	if c.Type() == media.DataDirect {
		// The slice is only valid during the call: the event encodes it
		// before returning.
		c.OnMessage(func(b []byte, ppid int) { s.emit(o, "message", MessageEvent{Message: b, PPID: ppid}) })
	}
}
