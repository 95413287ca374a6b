package mediaserver

import (
	"context"
	"maps"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/ropeserver"
)

// Events every transport type declares.
var transportEvents = []string{"routerclose", "trace"}

// BitrateParams are the params of setMaxIncomingBitrate,
// setMaxOutgoingBitrate and setMinOutgoingBitrate.
type BitrateParams struct {
	Bitrate int `json:"bitrate"`
}

// TraceParams are the params of enableTraceEvent.
type TraceParams[T any] struct {
	Types []T `json:"types"`
}

// transportMethods are the methods every transport type has.
func transportMethods(s *Server) map[string]ropeserver.MethodFunc {
	type tr = media.Transport
	type none = struct{}
	return map[string]ropeserver.MethodFunc{
		"close": method(s, func(ctx context.Context, _ *ropeserver.Object, t tr, _ *none) (any, error) { return nil, t.Close(ctx) }),
		"dump":  method(s, func(ctx context.Context, _ *ropeserver.Object, t tr, _ *none) (any, error) { return t.Dump(ctx) }),
		"getStats": method(s, func(ctx context.Context, _ *ropeserver.Object, t tr, _ *none) (any, error) {
			return t.GetStats(ctx)
		}),
		"produce": method(s, func(ctx context.Context, o *ropeserver.Object, t tr, p *media.ProducerOptions) (any, error) {
			x, err := t.Produce(ctx, p)
			return created(s, o, x, err)
		}),
		"consume": method(s, func(ctx context.Context, o *ropeserver.Object, t tr, p *media.ConsumerOptions) (any, error) {
			x, err := t.Consume(ctx, p)
			return created(s, o, x, err)
		}),
		"produceData": method(s, func(ctx context.Context, o *ropeserver.Object, t tr, p *media.DataProducerOptions) (any, error) {
			x, err := t.ProduceData(ctx, p)
			return created(s, o, x, err)
		}),
		"consumeData": method(s, func(ctx context.Context, o *ropeserver.Object, t tr, p *media.DataConsumerOptions) (any, error) {
			x, err := t.ConsumeData(ctx, p)
			return created(s, o, x, err)
		}),
		"setMaxIncomingBitrate": method(s, func(ctx context.Context, _ *ropeserver.Object, t tr, p *BitrateParams) (any, error) {
			return nil, t.SetMaxIncomingBitrate(ctx, p.Bitrate)
		}),
		"setMaxOutgoingBitrate": method(s, func(ctx context.Context, _ *ropeserver.Object, t tr, p *BitrateParams) (any, error) {
			return nil, t.SetMaxOutgoingBitrate(ctx, p.Bitrate)
		}),
		"setMinOutgoingBitrate": method(s, func(ctx context.Context, _ *ropeserver.Object, t tr, p *BitrateParams) (any, error) {
			return nil, t.SetMinOutgoingBitrate(ctx, p.Bitrate)
		}),
		"enableTraceEvent": method(s, func(ctx context.Context, _ *ropeserver.Object, t tr, p *TraceParams[media.TransportTraceEventType]) (any, error) {
			return nil, t.EnableTraceEvent(ctx, p.Types)
		}),
	}
}

// withTransport adds the common transport methods to extra.
func withTransport(extra func(*Server) map[string]ropeserver.MethodFunc) func(*Server) map[string]ropeserver.MethodFunc {
	return func(s *Server) map[string]ropeserver.MethodFunc {
		m := transportMethods(s)
		if extra != nil {
			maps.Copy(m, extra(s))
		}
		return m
	}
}

// wireTransport wires what every transport has.
func wireTransport(s *Server, o *ropeserver.Object, t media.Transport) {
	t.OnClose(o.Close)
	t.OnRouterClose(func() { s.emit(o, "routerclose", nil) })
	t.OnTrace(func(d media.TransportTraceEventData) { s.emit(o, "trace", d) })
	t.OnNewProducer(func(p media.Producer) { s.observed(o, p) })
	t.OnNewConsumer(func(c media.Consumer) { s.observed(o, c) })
	t.OnNewDataProducer(func(p media.DataProducer) { s.observed(o, p) })
	t.OnNewDataConsumer(func(c media.DataConsumer) { s.observed(o, c) })
}

func events(extra ...string) []string {
	return append(append([]string{}, transportEvents...), extra...)
}

func webRtcTransportKind() *kind {
	return newKind(TypeWebRtcTransport,
		[]string{"iceRole", "iceParameters", "iceCandidates", "iceState", "iceSelectedTuple", "dtlsParameters",
			"dtlsState", "dtlsRemoteCert", "sctpParameters", "sctpState"},
		events("icestatechange", "iceselectedtuplechange", "dtlsstatechange", "sctpstatechange", "listenserverclose"),
		func(t media.WebRtcTransport) map[string]any {
			return map[string]any{"iceRole": t.IceRole(), "iceParameters": t.IceParameters(), "iceCandidates": t.IceCandidates(),
				"iceState": t.IceState(), "iceSelectedTuple": t.IceSelectedTuple(), "dtlsParameters": t.DtlsParameters(),
				"dtlsState": t.DtlsState(), "dtlsRemoteCert": t.DtlsRemoteCert(), "sctpParameters": t.SctpParameters(),
				"sctpState": t.SctpState()}
		},
		withTransport(func(s *Server) map[string]ropeserver.MethodFunc {
			return map[string]ropeserver.MethodFunc{
				"connect": method(s, func(ctx context.Context, _ *ropeserver.Object, t media.WebRtcTransport, p *media.WebRtcTransportConnectOptions) (any, error) {
					return nil, t.Connect(ctx, p)
				}),
				"restartIce": method(s, func(ctx context.Context, _ *ropeserver.Object, t media.WebRtcTransport, _ *struct{}) (any, error) {
					return t.RestartIce(ctx)
				}),
			}
		}),
		func(s *Server, o *ropeserver.Object, t media.WebRtcTransport) {
			wireTransport(s, o, t)
			t.OnIceStateChange(func(v media.IceState) { s.emit(o, "icestatechange", v) })
			t.OnIceSelectedTupleChange(func(v media.TransportTuple) { s.emit(o, "iceselectedtuplechange", v) })
			t.OnDtlsStateChange(func(v media.DtlsState) { s.emit(o, "dtlsstatechange", v) })
			t.OnSctpStateChange(func(v media.SctpState) { s.emit(o, "sctpstatechange", v) })
			t.OnListenServerClose(func() { s.emit(o, "listenserverclose", nil) })
		})
}

func plainTransportKind() *kind {
	return newKind(TypePlainTransport,
		[]string{"tuple", "rtcpTuple", "sctpParameters", "sctpState", "srtpParameters"},
		events("tuple", "rtcptuple", "sctpstatechange"),
		func(t media.PlainTransport) map[string]any {
			return map[string]any{"tuple": t.Tuple(), "rtcpTuple": t.RtcpTuple(), "sctpParameters": t.SctpParameters(),
				"sctpState": t.SctpState(), "srtpParameters": t.SrtpParameters()}
		},
		withTransport(func(s *Server) map[string]ropeserver.MethodFunc {
			return map[string]ropeserver.MethodFunc{
				"connect": method(s, func(ctx context.Context, _ *ropeserver.Object, t media.PlainTransport, p *media.PlainTransportConnectOptions) (any, error) {
					return nil, t.Connect(ctx, p)
				}),
			}
		}),
		func(s *Server, o *ropeserver.Object, t media.PlainTransport) {
			wireTransport(s, o, t)
			t.OnTuple(func(v media.TransportTuple) { s.emit(o, "tuple", v) })
			t.OnRtcpTuple(func(v media.TransportTuple) { s.emit(o, "rtcptuple", v) })
			t.OnSctpStateChange(func(v media.SctpState) { s.emit(o, "sctpstatechange", v) })
		})
}

func pipeTransportKind() *kind {
	return newKind(TypePipeTransport,
		[]string{"tuple", "sctpParameters", "sctpState", "srtpParameters"},
		events("sctpstatechange"),
		func(t media.PipeTransport) map[string]any {
			return map[string]any{"tuple": t.Tuple(), "sctpParameters": t.SctpParameters(),
				"sctpState": t.SctpState(), "srtpParameters": t.SrtpParameters()}
		},
		withTransport(func(s *Server) map[string]ropeserver.MethodFunc {
			return map[string]ropeserver.MethodFunc{
				"connect": method(s, func(ctx context.Context, _ *ropeserver.Object, t media.PipeTransport, p *media.PipeTransportConnectOptions) (any, error) {
					return nil, t.Connect(ctx, p)
				}),
			}
		}),
		func(s *Server, o *ropeserver.Object, t media.PipeTransport) {
			wireTransport(s, o, t)
			t.OnSctpStateChange(func(v media.SctpState) { s.emit(o, "sctpstatechange", v) })
		})
}

func directTransportKind() *kind {
	return newKind(TypeDirectTransport, []string{}, events(),
		func(media.DirectTransport) map[string]any { return map[string]any{} },
		withTransport(func(s *Server) map[string]ropeserver.MethodFunc {
			return map[string]ropeserver.MethodFunc{
				"sendRtcp": method(s, func(_ context.Context, _ *ropeserver.Object, t media.DirectTransport, m *PacketParams) (any, error) {
					if err := s.checkPacket(m); err != nil {
						return nil, err
					}
					return nil, t.SendRtcp(m.Packet)
				}),
				"subscribeRtcp":   s.subscribeMethod(NotifyRTCP, attachRtcp),
				"unsubscribeRtcp": s.unsubscribeMethod(),
			}
		}),
		func(s *Server, o *ropeserver.Object, t media.DirectTransport) { wireTransport(s, o, t) })
}
