// Package crosspipe pipes a producer between two routers that cannot pipe
// to each other themselves because they live behind different media APIs:
// worker processes of one host, or servers of a cluster. It does what
// mediasoup's pipeToRouter does between workers, through the two routers'
// own interfaces: a PipeTransport on each side, connected to each other,
// a pipe consumer of the producer on the source side and a pipe producer
// of the same id on the destination side.
//
// The two sides listen where their Side says, so that a pipe between
// servers uses each server's own media address (never 127.0.0.1 when the
// servers are on different hosts). The pair lives as long as the pipe:
// when the pipe consumer closes (its producer closed) the pipe producer
// closes, whose consumers get "producerclose", and the other way round;
// the producer's pause and resume follow.
package crosspipe

import (
	"context"
	"fmt"
	"time"

	"github.com/ropehq/rope/media"
)

// CloseTimeout bounds the closes that follow one side's end.
const CloseTimeout = 5 * time.Second

// Side is one end of a pipe: a router and where its pipe transport
// listens.
type Side struct {
	Router     media.Router
	ListenInfo *media.TransportListenInfo
}

type closer interface{ Close(context.Context) error }

// Pipe pipes the RTP producer o.ProducerID of src.Router to dst.Router.
// o's Router and ListenInfo are ignored (the sides say them); EnableRtx and
// EnableSrtp apply to both transports. Data producers are not piped
// (media.ErrUnsupported): pipe transports carry no SCTP yet.
func Pipe(ctx context.Context, src, dst Side, o *media.PipeToRouterOptions) (res *media.PipeToRouterResult, err error) {
	if o.ProducerID == "" {
		return nil, media.NewError(media.ErrUnsupported, "crosspipe: piping data producers between media APIs")
	}
	var made []closer
	defer func() {
		if err != nil {
			for _, m := range made {
				_ = m.Close(context.WithoutCancel(ctx))
			}
		}
	}()
	local, err := src.Router.CreatePipeTransport(ctx, transportOptions(src, o))
	if err != nil {
		return nil, fmt.Errorf("crosspipe: source pipe transport: %w", err)
	}
	made = append(made, local)
	remote, err := dst.Router.CreatePipeTransport(ctx, transportOptions(dst, o))
	if err != nil {
		return nil, fmt.Errorf("crosspipe: destination pipe transport: %w", err)
	}
	made = append(made, remote)
	if err := local.Connect(ctx, connectTo(remote)); err != nil {
		return nil, fmt.Errorf("crosspipe: connect source: %w", err)
	}
	if err := remote.Connect(ctx, connectTo(local)); err != nil {
		return nil, fmt.Errorf("crosspipe: connect destination: %w", err)
	}
	pc, err := local.Consume(ctx, &media.ConsumerOptions{ProducerID: o.ProducerID})
	if err != nil {
		return nil, err
	}
	pp, err := remote.Produce(ctx, &media.ProducerOptions{ID: o.ProducerID, Kind: pc.Kind(),
		RtpParameters: pc.RtpParameters(), Paused: pc.ProducerPaused(), AppData: media.AppData{}})
	if err != nil {
		return nil, fmt.Errorf("crosspipe: pipe producer: %w", err)
	}
	follow(ctx, pc, pp, local, remote)
	return &media.PipeToRouterResult{PipeConsumer: pc, PipeProducer: pp}, nil
}

// follow ties the pair's lives together. The callbacks may run on a
// client's event goroutine, which may call back; failures are ignored: a
// side whose process or server went has nothing left to close.
func follow(ctx context.Context, pc media.Consumer, pp media.Producer, local, remote media.PipeTransport) {
	bg := context.WithoutCancel(ctx)
	closeAll := func() {
		ctx, cancel := context.WithTimeout(bg, CloseTimeout)
		defer cancel()
		for _, m := range []closer{pc, pp, local, remote} {
			_ = m.Close(ctx)
		}
	}
	call := func(fn func(context.Context) error) func() {
		return func() {
			ctx, cancel := context.WithTimeout(bg, CloseTimeout)
			defer cancel()
			_ = fn(ctx)
		}
	}
	pc.OnClose(closeAll)
	pp.OnClose(closeAll)
	pc.OnProducerPause(call(pp.Pause))
	pc.OnProducerResume(call(pp.Resume))
}

func transportOptions(s Side, o *media.PipeToRouterOptions) *media.PipeTransportOptions {
	li := s.ListenInfo
	if li == nil {
		li = &media.TransportListenInfo{Protocol: media.ProtocolUDP, IP: "127.0.0.1"}
	}
	return &media.PipeTransportOptions{ListenInfo: li, EnableRtx: o.EnableRtx, EnableSrtp: o.EnableSrtp}
}

// connectTo is where the other side sends: the transport's announced (or
// listening) address.
func connectTo(t media.PipeTransport) *media.PipeTransportConnectOptions {
	tu := t.Tuple()
	return &media.PipeTransportConnectOptions{IP: tu.LocalAddress, Port: tu.LocalPort, SrtpParameters: t.SrtpParameters()}
}
