package engine

import (
	"context"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/event"
	"github.com/ropehq/rope/media/internal/rtppkt"
)

// directTransport lets the application send and receive RTP, RTCP and
// data messages through method calls (mediasoup DirectTransport).
type directTransport struct {
	*transport
	maxMessageSize int
	onRtcp         event.Listeners[[]byte]
}

var _ media.DirectTransport = (*directTransport)(nil)

func (r *router) CreateDirectTransport(ctx context.Context, o *media.DirectTransportOptions) (media.DirectTransport, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := r.checkOpen("router"); err != nil {
		return nil, err
	}
	var opts media.DirectTransportOptions
	if o != nil {
		opts = *o
	}
	if opts.MaxMessageSize < 0 {
		return nil, &media.ParamError{Field: "maxMessageSize", Reason: "negative"}
	}
	if opts.MaxMessageSize == 0 {
		opts.MaxMessageSize = 262144
	}
	t := newTransport(r, "direct-transport", opts.AppData)
	t.direct = true
	dt := &directTransport{transport: t, maxMessageSize: opts.MaxMessageSize}
	t.outer, t.link = dt, dt
	if err := t.start(); err != nil {
		return nil, err
	}
	return dt, nil
}

func (dt *directTransport) OnRtcp(fn func([]byte)) func() { return dt.onRtcp.On(fn) }

func (dt *directTransport) SendRtcp(b []byte) error {
	if err := dt.checkOpen("transport"); err != nil {
		return err
	}
	if !rtppkt.IsRTCP(b) {
		return &media.ParamError{Field: "packet", Reason: "not an RTCP packet"}
	}
	dt.bytesReceived.Add(uint64(len(b)))
	dt.receiveRTCP(b)
	return nil
}

// link implementation: consumers of a direct transport emit "rtp"
// themselves; RTCP goes to OnRtcp handlers.
func (dt *directTransport) sendRTP(b []byte)           {}
func (dt *directTransport) sendRTPBatch(bufs [][]byte) {}
func (dt *directTransport) sendRTCP(b []byte)          { dt.onRtcp.Emit(b) }
func (dt *directTransport) close()                     {}
func (dt *directTransport) wait()                      {}
func (dt *directTransport) fillDump(d *media.TransportDump) {
	d.MaxMessageSize = dt.maxMessageSize
}
func (dt *directTransport) fillStats(s *media.TransportStats) {}
