// Package crosspipe pipes producers and data producers between routers
// that cannot pipe to each other themselves because they live behind
// different media APIs: worker processes of one host, or servers of a
// cluster. It does what mediasoup's pipeToRouter does between workers,
// through the routers' own interfaces: one pair of connected
// PipeTransports per pair of routers, created at the first pipe between
// them (with SCTP unless the options turn it off, so that the pair
// carries RTP and data) and reused by every later one (so ports grow with
// router pairs, not with producers), and on it a pipe consumer of the
// producer on the source side and a pipe producer of the same id on the
// destination side; for a data producer, a pipe data consumer and a pipe
// data producer of the same id reading the consumer's SCTP stream.
//
// The two sides listen where their Side says, so that a pipe between
// servers uses each server's own media address (never 127.0.0.1 when the
// servers are on different hosts). A pipe lives as long as its producer:
// when the pipe consumer closes (its producer closed) the pipe producer
// closes, whose consumers get "producerclose", and the other way round;
// the producer's pause and resume follow. The same holds for data
// producers. A pair of transports lives as
// long as both routers: when either transport closes (its router closed,
// its server went), the other closes and the next pipe makes a new pair.
package crosspipe

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ropehq/rope/media"
)

// CloseTimeout bounds the closes that follow one side's end.
const CloseTimeout = 5 * time.Second

// Side is one end of a pipe: a router and where its pipe transport
// listens; a nil ListenInfo leaves that to the router's implementation
// (a media server's own default: its RTC address and the address it
// announces).
type Side struct {
	Router     media.Router
	ListenInfo *media.TransportListenInfo
}

type closer interface{ Close(context.Context) error }

// Piper pipes producers and keeps the transport pair of each pair of
// routers for the next pipe between them. Its zero value is ready; it is
// safe for concurrent use.
type Piper struct {
	// mu guards pairs.
	mu    sync.Mutex
	pairs map[pairKey]*pair
}

// pairKey names the transport pair from one router to another. The
// routers must be comparable values that stay the same for a router's
// life (the wrappers of one implementation).
type pairKey struct{ src, dst media.Router }

// pair is the connected transports of a router pair; ready is closed once
// err, local and remote are set.
type pair struct {
	ready         chan struct{}
	err           error
	local, remote media.PipeTransport
}

// Pipe pipes the producer o.ProducerID, or the data producer
// o.DataProducerID, of src.Router to dst.Router, over the routers'
// transport pair (made on first use). o's Router and ListenInfo are
// ignored (the sides say them); EnableSctp (default true),
// NumSctpStreams, EnableRtx and EnableSrtp apply to a new pair. A data
// producer needs a pair with SCTP (else media.ErrInvalidState); its pipe
// waits for the pair's SCTP association, so that what the data producer
// sends once Pipe returns is not lost.
func (p *Piper) Pipe(ctx context.Context, src, dst Side, o *media.PipeToRouterOptions) (*media.PipeToRouterResult, error) {
	if o == nil || (o.ProducerID == "") == (o.DataProducerID == "") {
		return nil, &media.ParamError{Field: "producerId", Reason: "exactly one of producerId and dataProducerId is required"}
	}
	pr, err := p.pair(ctx, src, dst, o)
	if err != nil {
		return nil, err
	}
	if o.DataProducerID != "" {
		return pipeData(ctx, pr, o.DataProducerID)
	}
	pc, err := pr.local.Consume(ctx, &media.ConsumerOptions{ProducerID: o.ProducerID})
	if err != nil {
		return nil, err
	}
	pp, err := pr.remote.Produce(ctx, &media.ProducerOptions{ID: o.ProducerID, Kind: pc.Kind(),
		RtpParameters: pc.RtpParameters(), Paused: pc.ProducerPaused(), AppData: media.AppData{}})
	if err != nil {
		_ = pc.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("crosspipe: pipe producer: %w", err)
	}
	follow(ctx, pc, pp)
	return &media.PipeToRouterResult{PipeConsumer: pc, PipeProducer: pp}, nil
}

// pipeData pipes a data producer over pr, as mediasoup's pipeToRouter:
// a pipe data consumer on the source side, a pipe data producer of the
// same id on the destination side reading its stream.
func pipeData(ctx context.Context, pr *pair, id string) (*media.PipeToRouterResult, error) {
	if pr.local.SctpParameters() == nil || pr.remote.SctpParameters() == nil {
		return nil, media.NewError(media.ErrInvalidState, "crosspipe: the pipe transports of these routers have no SCTP (enableSctp false)")
	}
	for _, t := range []media.PipeTransport{pr.local, pr.remote} {
		if err := waitSctp(ctx, t); err != nil {
			return nil, err
		}
	}
	dc, err := pr.local.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: id})
	if err != nil {
		return nil, err
	}
	dp, err := pr.remote.ProduceData(ctx, &media.DataProducerOptions{ID: id, SctpStreamParameters: dc.SctpStreamParameters(),
		Label: dc.Label(), Protocol: dc.Protocol(), Paused: dc.DataProducerPaused(), AppData: media.AppData{}})
	if err != nil {
		_ = dc.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("crosspipe: pipe data producer: %w", err)
	}
	followData(ctx, dc, dp)
	return &media.PipeToRouterResult{PipeDataConsumer: dc, PipeDataProducer: dp}, nil
}

// waitSctp waits until t's SCTP association is connected; it fails when
// the association fails or ends, or t closes, first.
func waitSctp(ctx context.Context, t media.PipeTransport) error {
	changed := make(chan struct{}, 1)
	poke := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	defer t.OnSctpStateChange(func(media.SctpState) { poke() })()
	defer t.OnClose(poke)()
	for {
		switch st := t.SctpState(); {
		case t.Closed():
			return media.NewError(media.ErrClosed, "crosspipe: pipe transport %s closed", t.ID())
		case st == media.SctpConnected:
			return nil
		case st == media.SctpFailed || st == media.SctpClosed:
			return media.NewError(media.ErrInvalidState, "crosspipe: SCTP of pipe transport %s %s", t.ID(), st)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("crosspipe: waiting for SCTP on pipe transport %s: %w", t.ID(), ctx.Err())
		}
	}
}

// Pairs is the number of transport pairs open or being opened.
func (p *Piper) Pairs() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pairs)
}

// pair returns the routers' transport pair, connecting a new one when
// there is none.
func (p *Piper) pair(ctx context.Context, src, dst Side, o *media.PipeToRouterOptions) (*pair, error) {
	key := pairKey{src.Router, dst.Router}
	p.mu.Lock()
	if p.pairs == nil {
		p.pairs = map[pairKey]*pair{}
	}
	pr, ok := p.pairs[key]
	if !ok {
		pr = &pair{ready: make(chan struct{})}
		p.pairs[key] = pr
	}
	p.mu.Unlock()
	if !ok {
		pr.local, pr.remote, pr.err = connectPair(ctx, src, dst, o)
		if pr.err == nil {
			p.watch(key, pr)
		} else {
			p.forget(key, pr)
		}
		close(pr.ready)
	}
	select {
	case <-pr.ready:
	case <-ctx.Done():
		return nil, fmt.Errorf("crosspipe: waiting for the pipe transports: %w", ctx.Err())
	}
	if pr.err != nil {
		return nil, pr.err
	}
	return pr, nil
}

// watch ends the pair with either of its transports: the other closes and
// the pair leaves the Piper.
func (p *Piper) watch(key pairKey, pr *pair) {
	end := func() {
		p.forget(key, pr)
		ctx, cancel := context.WithTimeout(context.Background(), CloseTimeout)
		defer cancel()
		_ = pr.local.Close(ctx)
		_ = pr.remote.Close(ctx)
	}
	pr.local.OnClose(end)
	pr.remote.OnClose(end)
}

func (p *Piper) forget(key pairKey, pr *pair) {
	p.mu.Lock()
	if p.pairs[key] == pr {
		delete(p.pairs, key)
	}
	p.mu.Unlock()
}

// connectPair creates a pipe transport on each side and connects each to
// the other.
func connectPair(ctx context.Context, src, dst Side, o *media.PipeToRouterOptions) (local, remote media.PipeTransport, err error) {
	defer func() {
		if err != nil {
			for _, t := range []media.PipeTransport{local, remote} {
				if t != nil {
					_ = t.Close(context.WithoutCancel(ctx))
				}
			}
			local, remote = nil, nil
		}
	}()
	if local, err = src.Router.CreatePipeTransport(ctx, transportOptions(src, o)); err != nil {
		return nil, nil, fmt.Errorf("crosspipe: source pipe transport: %w", err)
	}
	if remote, err = dst.Router.CreatePipeTransport(ctx, transportOptions(dst, o)); err != nil {
		return local, nil, fmt.Errorf("crosspipe: destination pipe transport: %w", err)
	}
	if err = local.Connect(ctx, connectTo(remote)); err != nil {
		return local, remote, fmt.Errorf("crosspipe: connect source: %w", err)
	}
	if err = remote.Connect(ctx, connectTo(local)); err != nil {
		return local, remote, fmt.Errorf("crosspipe: connect destination: %w", err)
	}
	return local, remote, nil
}

// follow ties a pipe's consumer and producer together. The callbacks may
// run on a client's event goroutine, which may call back; failures are
// ignored: a side whose process or server went has nothing left to close.
func follow(ctx context.Context, pc media.Consumer, pp media.Producer) {
	call := detached(ctx)
	pc.OnClose(call(pp.Close))
	pp.OnClose(call(pc.Close))
	pc.OnProducerPause(call(pp.Pause))
	pc.OnProducerResume(call(pp.Resume))
}

// followData ties a data pipe's consumer and producer together, as
// follow does a pipe's.
func followData(ctx context.Context, dc media.DataConsumer, dp media.DataProducer) {
	call := detached(ctx)
	dc.OnClose(call(dp.Close))
	dp.OnClose(call(dc.Close))
	dc.OnDataProducerPause(call(dp.Pause))
	dc.OnDataProducerResume(call(dp.Resume))
}

// detached turns a call into a listener that runs it with its own
// CloseTimeout, outliving ctx's cancellation (keeping its values).
func detached(ctx context.Context) func(fn func(context.Context) error) func() {
	bg := context.WithoutCancel(ctx)
	return func(fn func(context.Context) error) func() {
		return func() {
			ctx, cancel := context.WithTimeout(bg, CloseTimeout)
			defer cancel()
			_ = fn(ctx)
		}
	}
}

func transportOptions(s Side, o *media.PipeToRouterOptions) *media.PipeTransportOptions {
	return &media.PipeTransportOptions{ListenInfo: s.ListenInfo, EnableRtx: o.EnableRtx, EnableSrtp: o.EnableSrtp,
		EnableSctp: o.EnableSctp == nil || *o.EnableSctp, NumSctpStreams: o.NumSctpStreams}
}

// connectTo is where the other side sends: the transport's announced (or
// listening) address.
func connectTo(t media.PipeTransport) *media.PipeTransportConnectOptions {
	tu := t.Tuple()
	return &media.PipeTransportConnectOptions{IP: tu.LocalAddress, Port: tu.LocalPort, SrtpParameters: t.SrtpParameters()}
}
