package mediaclient

import (
	"context"

	"github.com/ropehq/rope/media"
)

// transport is what every remote transport kind has.
type transport struct{ *base }

func (t *transport) Close(ctx context.Context) error { return t.close(ctx) }

func (t *transport) Dump(ctx context.Context) (*media.TransportDump, error) {
	var d media.TransportDump
	return &d, t.call(ctx, "dump", nil, &d)
}

func (t *transport) GetStats(ctx context.Context) ([]media.TransportStats, error) {
	var s []media.TransportStats
	return s, t.call(ctx, "getStats", nil, &s)
}

func (t *transport) Produce(ctx context.Context, o *media.ProducerOptions) (media.Producer, error) {
	return createAs[media.Producer](ctx, t.base, "produce", orEmpty(o))
}

func (t *transport) Consume(ctx context.Context, o *media.ConsumerOptions) (media.Consumer, error) {
	return createAs[media.Consumer](ctx, t.base, "consume", orEmpty(o))
}

func (t *transport) ProduceData(ctx context.Context, o *media.DataProducerOptions) (media.DataProducer, error) {
	return createAs[media.DataProducer](ctx, t.base, "produceData", orEmpty(o))
}

func (t *transport) ConsumeData(ctx context.Context, o *media.DataConsumerOptions) (media.DataConsumer, error) {
	return createAs[media.DataConsumer](ctx, t.base, "consumeData", orEmpty(o))
}

func (t *transport) SetMaxIncomingBitrate(ctx context.Context, bitrate int) error {
	return t.call(ctx, "setMaxIncomingBitrate", map[string]int{"bitrate": bitrate}, nil)
}

func (t *transport) SetMaxOutgoingBitrate(ctx context.Context, bitrate int) error {
	return t.call(ctx, "setMaxOutgoingBitrate", map[string]int{"bitrate": bitrate}, nil)
}

func (t *transport) SetMinOutgoingBitrate(ctx context.Context, bitrate int) error {
	return t.call(ctx, "setMinOutgoingBitrate", map[string]int{"bitrate": bitrate}, nil)
}

func (t *transport) EnableTraceEvent(ctx context.Context, types []media.TransportTraceEventType) error {
	return t.call(ctx, "enableTraceEvent", map[string]any{"types": orNone(types)}, nil)
}

func (t *transport) OnRouterClose(fn func()) func() { return t.on("routerclose", fn) }

func (t *transport) OnNewProducer(fn func(media.Producer)) func() {
	return t.onChild(func(x any) { fn(x.(media.Producer)) }, typeProducer)
}

func (t *transport) OnNewConsumer(fn func(media.Consumer)) func() {
	return t.onChild(func(x any) { fn(x.(media.Consumer)) }, typeConsumer)
}

func (t *transport) OnNewDataProducer(fn func(media.DataProducer)) func() {
	return t.onChild(func(x any) { fn(x.(media.DataProducer)) }, typeDataProducer)
}

func (t *transport) OnNewDataConsumer(fn func(media.DataConsumer)) func() {
	return t.onChild(func(x any) { fn(x.(media.DataConsumer)) }, typeDataConsumer)
}

func (t *transport) OnTrace(fn func(media.TransportTraceEventData)) func() {
	return onData(t.base, "trace", fn)
}

func (t *transport) SctpParameters() *media.SctpParameters {
	return get[*media.SctpParameters](t.base, "sctpParameters")
}

// SctpState is "closed" once the transport has closed (as mediasoup's),
// if it had SCTP: the server publishes no state after the close.
func (t *transport) SctpState() media.SctpState {
	s := get[media.SctpState](t.base, "sctpState")
	if s != "" && t.o.Closed() {
		return media.SctpClosed
	}
	return s
}

func (t *transport) SrtpParameters() *media.SrtpParameters {
	return get[*media.SrtpParameters](t.base, "srtpParameters")
}

func (t *transport) Tuple() media.TransportTuple { return get[media.TransportTuple](t.base, "tuple") }

func (t *transport) OnSctpStateChange(fn func(media.SctpState)) func() {
	return onData(t.base, "sctpstatechange", fn)
}

// orNone sends [] for a nil slice.
func orNone[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

type webRtcTransport struct{ transport }

var _ media.WebRtcTransport = (*webRtcTransport)(nil)

func (t *webRtcTransport) IceRole() string { return get[string](t.base, "iceRole") }
func (t *webRtcTransport) IceParameters() media.IceParameters {
	return get[media.IceParameters](t.base, "iceParameters")
}
func (t *webRtcTransport) IceCandidates() []media.IceCandidate {
	return get[[]media.IceCandidate](t.base, "iceCandidates")
}

// IceState, IceSelectedTuple and DtlsState are "closed", nil and
// "closed" once the transport has closed, as mediasoup's: the server
// publishes no state after the close.
func (t *webRtcTransport) IceState() media.IceState {
	if t.o.Closed() {
		return "closed"
	}
	return get[media.IceState](t.base, "iceState")
}
func (t *webRtcTransport) IceSelectedTuple() *media.TransportTuple {
	if t.o.Closed() {
		return nil
	}
	return get[*media.TransportTuple](t.base, "iceSelectedTuple")
}
func (t *webRtcTransport) DtlsParameters() media.DtlsParameters {
	return get[media.DtlsParameters](t.base, "dtlsParameters")
}
func (t *webRtcTransport) DtlsState() media.DtlsState {
	if t.o.Closed() {
		return "closed"
	}
	return get[media.DtlsState](t.base, "dtlsState")
}
func (t *webRtcTransport) DtlsRemoteCert() string { return get[string](t.base, "dtlsRemoteCert") }

func (t *webRtcTransport) Connect(ctx context.Context, o *media.WebRtcTransportConnectOptions) error {
	return t.call(ctx, "connect", orEmpty(o), nil)
}

func (t *webRtcTransport) RestartIce(ctx context.Context) (media.IceParameters, error) {
	var p media.IceParameters
	return p, t.call(ctx, "restartIce", nil, &p)
}

func (t *webRtcTransport) OnIceStateChange(fn func(media.IceState)) func() {
	return onData(t.base, "icestatechange", fn)
}

func (t *webRtcTransport) OnIceSelectedTupleChange(fn func(media.TransportTuple)) func() {
	return onData(t.base, "iceselectedtuplechange", fn)
}

func (t *webRtcTransport) OnDtlsStateChange(fn func(media.DtlsState)) func() {
	return onData(t.base, "dtlsstatechange", fn)
}

func (t *webRtcTransport) OnListenServerClose(fn func()) func() { return t.on("listenserverclose", fn) }

type plainTransport struct{ transport }

var _ media.PlainTransport = (*plainTransport)(nil)

func (t *plainTransport) RtcpTuple() *media.TransportTuple {
	return get[*media.TransportTuple](t.base, "rtcpTuple")
}

func (t *plainTransport) Connect(ctx context.Context, o *media.PlainTransportConnectOptions) error {
	return t.call(ctx, "connect", orEmpty(o), nil)
}

func (t *plainTransport) OnTuple(fn func(media.TransportTuple)) func() {
	return onData(t.base, "tuple", fn)
}

func (t *plainTransport) OnRtcpTuple(fn func(media.TransportTuple)) func() {
	return onData(t.base, "rtcptuple", fn)
}

type pipeTransport struct{ transport }

var _ media.PipeTransport = (*pipeTransport)(nil)

func (t *pipeTransport) Connect(ctx context.Context, o *media.PipeTransportConnectOptions) error {
	return t.call(ctx, "connect", orEmpty(o), nil)
}

type directTransport struct{ transport }

var _ media.DirectTransport = (*directTransport)(nil)

// SendRtcp sends one RTCP packet through the server: a call that waits
// at most Options.Timeout.
func (t *directTransport) SendRtcp(packet []byte) error { return t.sendPacket("sendRtcp", packet) }

// OnRtcp receives the transport's RTCP: while it has a listener, this
// connection is subscribed to its packets.
func (t *directTransport) OnRtcp(fn func([]byte)) func() {
	return t.onPackets(notifyRTCP, "subscribeRtcp", "unsubscribeRtcp", fn)
}
