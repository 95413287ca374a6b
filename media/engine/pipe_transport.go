package engine

import (
	"context"
	"fmt"

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
	if o.EnableSctp {
		return nil, fmt.Errorf("pipe transport: enableSctp: %w", media.ErrUnsupported)
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
func (pt *pipeTransport) SctpParameters() *media.SctpParameters { return nil }
func (pt *pipeTransport) SctpState() media.SctpState            { return "" }
func (pt *pipeTransport) OnSctpStateChange(fn func(media.SctpState)) func() {
	return func() {}
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
