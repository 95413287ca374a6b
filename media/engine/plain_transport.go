package engine

import (
	"context"

	"github.com/ropehq/rope/media"
)

// plainTransport is RTP/RTCP over UDP, optionally SRTP (mediasoup
// PlainTransport).
type plainTransport struct {
	*transport
	udp *udpLink
}

var _ media.PlainTransport = (*plainTransport)(nil)

func (r *router) CreatePlainTransport(ctx context.Context, o *media.PlainTransportOptions) (media.PlainTransport, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := r.checkOpen("router"); err != nil {
		return nil, err
	}
	if o == nil {
		return nil, &media.ParamError{Field: "options", Reason: "required"}
	}
	rtcpMux := o.RtcpMux == nil || *o.RtcpMux
	l := &udpLink{comedia: o.Comedia, dumpMux: &rtcpMux, dumpComedia: &o.Comedia}
	if o.EnableSrtp {
		var err error
		if l.srtpLocal, err = newLocalSrtp(o.SrtpCryptoSuite); err != nil {
			return nil, err
		}
	}
	if err := l.open(r.worker, o.ListenInfo, o.RtcpListenInfo, rtcpMux); err != nil {
		return nil, err
	}
	t := newTransport(r, "plain-rtp-transport", o.AppData)
	if o.EnableSctp {
		if err := l.enableSctp(t, o.NumSctpStreams, o.MaxSctpMessageSize, o.SctpSendBufferSize, defaultSctpMessageSize); err != nil {
			l.close()
			return nil, err
		}
	}
	pt := &plainTransport{transport: t, udp: l}
	t.outer, t.link, l.t = pt, l, t
	if err := t.start(); err != nil {
		l.close()
		return nil, err
	}
	l.start()
	return pt, nil
}

// open opens the RTP socket and, without rtcpMux, the RTCP socket.
func (l *udpLink) open(w *worker, info, rtcpInfo *media.TransportListenInfo, rtcpMux bool) error {
	var err error
	if l.rtp, err = listen(w, "listenInfo", info); err != nil {
		return err
	}
	l.announce = info.Announced()
	if rtcpMux {
		return l.detach(w)
	}
	if rtcpInfo == nil {
		// listenInfo's copy, as mediasoup's, but without its port
		// (mediasoup's copy keeps it and then fails to bind it twice).
		c := *info
		c.Port = 0
		rtcpInfo = &c
	}
	if l.rtcp, err = listen(w, "rtcpListenInfo", rtcpInfo); err != nil {
		l.rtp.Close()
		return err
	}
	return l.detach(w)
}

func (pt *plainTransport) Tuple() media.TransportTuple           { return pt.udp.Tuple() }
func (pt *plainTransport) RtcpTuple() *media.TransportTuple      { return pt.udp.RtcpTuple() }
func (pt *plainTransport) SrtpParameters() *media.SrtpParameters { return pt.udp.SrtpParameters() }
func (pt *plainTransport) SctpParameters() *media.SctpParameters { return pt.udp.SctpParameters() }
func (pt *plainTransport) SctpState() media.SctpState            { return pt.udp.SctpState() }

func (pt *plainTransport) OnTuple(fn func(media.TransportTuple)) func() {
	return pt.udp.onTuple.On(fn)
}

func (pt *plainTransport) OnRtcpTuple(fn func(media.TransportTuple)) func() {
	return pt.udp.onRtcpTuple.On(fn)
}

func (pt *plainTransport) OnSctpStateChange(fn func(media.SctpState)) func() {
	return pt.udp.OnSctpStateChange(fn)
}

// ProduceData makes a data producer reading an SCTP stream (enableSctp).
func (pt *plainTransport) ProduceData(ctx context.Context, o *media.DataProducerOptions) (media.DataProducer, error) {
	return pt.udp.produceData(ctx, o)
}

// ConsumeData makes a data consumer writing an SCTP stream (enableSctp).
func (pt *plainTransport) ConsumeData(ctx context.Context, o *media.DataConsumerOptions) (media.DataConsumer, error) {
	return pt.udp.consumeData(ctx, o)
}

func (pt *plainTransport) Connect(ctx context.Context, o *media.PlainTransportConnectOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := pt.checkOpen("transport"); err != nil {
		return err
	}
	if o == nil {
		o = &media.PlainTransportConnectOptions{}
	}
	return pt.udp.connect(o.IP, o.Port, o.RtcpPort, o.SrtpParameters)
}
