package engine

import (
	"context"
	"fmt"
	"sync"

	"github.com/ropehq/rope/media"
)

// pipePair is a connected pair of pipe transports between two routers,
// reused by every PipeToRouter towards the same destination.
type pipePair struct {
	local, remote *pipeTransport
}

// pipeMu serialises pipe pair creation across all routers, so concurrent
// PipeToRouter calls share one pair. Taken before router.mu.
var pipeMu sync.Mutex

func (r *router) PipeToRouter(ctx context.Context, o *media.PipeToRouterOptions) (*media.PipeToRouterResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := r.checkOpen("router"); err != nil {
		return nil, err
	}
	if o == nil || (o.ProducerID == "") == (o.DataProducerID == "") {
		return nil, &media.ParamError{Field: "producerId", Reason: "exactly one of producerId and dataProducerId is required"}
	}
	dst, ok := o.Router.(*router)
	if !ok || dst == nil {
		return nil, &media.ParamError{Field: "router", Reason: "a router of the local engine is required"}
	}
	if dst == r {
		return nil, &media.ParamError{Field: "router", Reason: "cannot use this router as destination"}
	}
	if o.DataProducerID != "" {
		dp, err := r.dataProducer(o.DataProducerID)
		if err != nil {
			return nil, err
		}
		pair, err := r.pipePairTo(ctx, dst, o)
		if err != nil {
			return nil, err
		}
		return pipeDataProducer(ctx, dp, pair)
	}
	producer, err := r.producer(o.ProducerID)
	if err != nil {
		return nil, err
	}
	pair, err := r.pipePairTo(ctx, dst, o)
	if err != nil {
		return nil, err
	}
	return pipeProducer(ctx, producer, pair)
}

func pipeProducer(ctx context.Context, src *producer, pair *pipePair) (*media.PipeToRouterResult, error) {
	pc, err := pair.local.Consume(ctx, &media.ConsumerOptions{ProducerID: src.id})
	if err != nil {
		return nil, fmt.Errorf("pipeToRouter: %w", err)
	}
	pp, err := pair.remote.Produce(ctx, &media.ProducerOptions{
		ID: src.id, Kind: pc.Kind(), RtpParameters: pc.RtpParameters(),
		Paused: pc.ProducerPaused(), AppData: src.AppData().Clone(),
	})
	if err != nil {
		pc.Close(ctx)
		return nil, fmt.Errorf("pipeToRouter: %w", err)
	}
	// Keep the pair in step: mediasoup ties their lifecycles the same way.
	pc.OnClose(func() { pp.(*producer).close(closeBySelf) })
	pc.OnProducerPause(func() { _ = pp.Pause(context.Background()) })
	pc.OnProducerResume(func() { _ = pp.Resume(context.Background()) })
	pp.OnClose(func() { pc.(*consumer).close(closeBySelf) })
	if src.closed.Load() {
		pc.Close(ctx)
		return nil, media.NewError(media.ErrClosed, "producer %s closed", src.id)
	}
	return &media.PipeToRouterResult{PipeConsumer: pc, PipeProducer: pp}, nil
}

// pipeDataProducer pipes a data producer as mediasoup does: a pipe data
// consumer on the local pipe transport and, on the remote one, a pipe
// data producer of the same id reading the consumer's stream. It first
// waits for the pair's SCTP association, so that messages sent once it
// returns are not dropped (mediasoup drops what a data consumer sends
// before its association is up).
func pipeDataProducer(ctx context.Context, src *dataProducer, pair *pipePair) (*media.PipeToRouterResult, error) {
	if pair.local.udp.sctp == nil || pair.remote.udp.sctp == nil {
		return nil, media.NewError(media.ErrInvalidState, "pipeToRouter: the pipe transports to this router have no SCTP (enableSctp false)")
	}
	if err := pair.local.udp.sctp.waitConnected(ctx); err != nil {
		return nil, fmt.Errorf("pipeToRouter: %w", err)
	}
	if err := pair.remote.udp.sctp.waitConnected(ctx); err != nil {
		return nil, fmt.Errorf("pipeToRouter: %w", err)
	}
	dc, err := pair.local.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: src.id})
	if err != nil {
		return nil, fmt.Errorf("pipeToRouter: %w", err)
	}
	dp, err := pair.remote.ProduceData(ctx, &media.DataProducerOptions{
		ID: src.id, SctpStreamParameters: dc.SctpStreamParameters(), Label: dc.Label(), Protocol: dc.Protocol(),
		Paused: dc.DataProducerPaused(), AppData: src.AppData().Clone(),
	})
	if err != nil {
		dc.Close(ctx)
		return nil, fmt.Errorf("pipeToRouter: %w", err)
	}
	// Keep the pair in step, as for producers: a close ends both, the
	// source's pause and resume reach the far consumers.
	pdc, pdp := dc.(*sctpDataConsumer).dataConsumer, dp.(*dataProducer)
	pdc.OnClose(func() { pdp.close(closeBySelf) })
	pdc.OnDataProducerPause(func() { _ = pdp.Pause(context.Background()) })
	pdc.OnDataProducerResume(func() { _ = pdp.Resume(context.Background()) })
	pdp.OnClose(func() { pdc.close(closeBySelf) })
	if src.closed.Load() {
		dc.Close(ctx)
		return nil, media.NewError(media.ErrClosed, "data producer %s closed", src.id)
	}
	return &media.PipeToRouterResult{PipeDataConsumer: dc, PipeDataProducer: dp}, nil
}

// pipePairTo returns the cached pipe pair towards dst or creates and
// connects one.
func (r *router) pipePairTo(ctx context.Context, dst *router, o *media.PipeToRouterOptions) (*pipePair, error) {
	pipeMu.Lock()
	defer pipeMu.Unlock()
	r.mu.Lock()
	pair := r.pipePairs[dst]
	r.mu.Unlock()
	if pair != nil {
		return pair, nil
	}
	info := o.ListenInfo
	if info == nil {
		info = &media.TransportListenInfo{Protocol: media.ProtocolUDP, IP: "127.0.0.1"}
	}
	// As mediasoup, SCTP is on unless the options say otherwise, so that
	// one pair carries both RTP and data.
	opts := &media.PipeTransportOptions{ListenInfo: info, EnableRtx: o.EnableRtx, EnableSrtp: o.EnableSrtp,
		EnableSctp: o.EnableSctp == nil || *o.EnableSctp, NumSctpStreams: o.NumSctpStreams}
	local, err := r.createPipeTransport(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("pipeToRouter: local pipe transport: %w", err)
	}
	remote, err := dst.createPipeTransport(ctx, opts)
	if err != nil {
		local.close(closeBySelf)
		return nil, fmt.Errorf("pipeToRouter: remote pipe transport: %w", err)
	}
	if err := connectPipes(ctx, local, remote); err != nil {
		local.close(closeBySelf)
		remote.close(closeBySelf)
		return nil, err
	}
	pair = &pipePair{local: local, remote: remote}
	forget := func() {
		r.mu.Lock()
		if r.pipePairs[dst] == pair {
			delete(r.pipePairs, dst)
		}
		r.mu.Unlock()
	}
	local.OnClose(func() { forget(); remote.close(closeBySelf) })
	remote.OnClose(func() { forget(); local.close(closeBySelf) })
	r.mu.Lock()
	r.pipePairs[dst] = pair
	r.mu.Unlock()
	return pair, nil
}

func connectPipes(ctx context.Context, a, b *pipeTransport) error {
	at, bt := a.Tuple(), b.Tuple()
	if err := a.Connect(ctx, &media.PipeTransportConnectOptions{IP: bt.LocalAddress, Port: bt.LocalPort, SrtpParameters: b.SrtpParameters()}); err != nil {
		return fmt.Errorf("pipeToRouter: connect: %w", err)
	}
	if err := b.Connect(ctx, &media.PipeTransportConnectOptions{IP: at.LocalAddress, Port: at.LocalPort, SrtpParameters: a.SrtpParameters()}); err != nil {
		return fmt.Errorf("pipeToRouter: connect: %w", err)
	}
	return nil
}
