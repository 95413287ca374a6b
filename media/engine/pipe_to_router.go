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
		if _, err := r.dataProducer(o.DataProducerID); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("pipeToRouter: data producers need SCTP on pipe transports: %w", media.ErrUnsupported)
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
	opts := &media.PipeTransportOptions{ListenInfo: info, EnableRtx: o.EnableRtx, EnableSrtp: o.EnableSrtp}
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
