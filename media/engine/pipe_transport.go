package engine

import (
	"context"

	"github.com/ropehq/rope/media"
)

// pipeTransport connects two routers over UDP (mediasoup PipeTransport):
// RTP/RTCP muxed, no comedia, producers keep their ids.
type pipeTransport struct {
	*transport
	udp *udpLink
}

var _ media.PipeTransport = (*pipeTransport)(nil)

func (r *router) CreatePipeTransport(ctx context.Context, o *media.PipeTransportOptions) (media.PipeTransport, error) {
	pt, err := r.createPipeTransport(ctx, o)
	if err != nil {
		return nil, err
	}
	return pt, nil
}

func (r *router) createPipeTransport(ctx context.Context, o *media.PipeTransportOptions) (*pipeTransport, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := r.checkOpen("router"); err != nil {
		return nil, err
	}
	if o == nil {
		return nil, &media.ParamError{Field: "options", Reason: "required"}
	}
	rtx := o.EnableRtx
	l := &udpLink{dumpRtx: &rtx}
	if o.EnableSrtp {
		var err error
		if l.srtpLocal, err = newLocalSrtp(media.AESCM128HMACSHA1_80); err != nil {
			return nil, err
		}
	}
	if err := l.open(r.worker, o.ListenInfo, nil, true); err != nil {
		return nil, err
	}
	t := newTransport(r, "pipe-transport", o.AppData)
	if o.EnableSctp {
		if err := l.enableSctp(t, o.NumSctpStreams, o.MaxSctpMessageSize, o.SctpSendBufferSize, defaultPipeSctpMessageSize); err != nil {
			l.close()
			return nil, err
		}
	}
	t.pipe, t.enableRtx = true, o.EnableRtx
	pt := &pipeTransport{transport: t, udp: l}
	t.outer, t.link, l.t = pt, l, t
	if err := t.start(); err != nil {
		l.close()
		return nil, err
	}
	l.start()
	return pt, nil
}

func (pt *pipeTransport) Tuple() media.TransportTuple           { return pt.udp.Tuple() }
func (pt *pipeTransport) SrtpParameters() *media.SrtpParameters { return pt.udp.SrtpParameters() }
func (pt *pipeTransport) SctpParameters() *media.SctpParameters { return pt.udp.SctpParameters() }
func (pt *pipeTransport) SctpState() media.SctpState            { return pt.udp.SctpState() }
func (pt *pipeTransport) OnSctpStateChange(fn func(media.SctpState)) func() {
	return pt.udp.OnSctpStateChange(fn)
}

// ProduceData makes a data producer reading an SCTP stream (enableSctp);
// a pipe data producer takes the piped data producer's id.
func (pt *pipeTransport) ProduceData(ctx context.Context, o *media.DataProducerOptions) (media.DataProducer, error) {
	return pt.udp.produceData(ctx, o)
}

// ConsumeData makes a data consumer writing an SCTP stream (enableSctp).
func (pt *pipeTransport) ConsumeData(ctx context.Context, o *media.DataConsumerOptions) (media.DataConsumer, error) {
	return pt.udp.consumeData(ctx, o)
}

func (pt *pipeTransport) Connect(ctx context.Context, o *media.PipeTransportConnectOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := pt.checkOpen("transport"); err != nil {
		return err
	}
	if o == nil {
		return &media.ParamError{Field: "options", Reason: "required"}
	}
	return pt.udp.connect(o.IP, o.Port, 0, o.SrtpParameters)
}
