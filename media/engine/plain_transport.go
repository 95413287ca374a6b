package engine

import (
	"context"
	"fmt"

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
	if o.EnableSctp {
		return nil, fmt.Errorf("plain transport: enableSctp: %w", media.ErrUnsupported)
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
	l.announce = info.AnnouncedAddress
	if rtcpMux {
		return nil
	}
	if rtcpInfo == nil {
		rtcpInfo = &media.TransportListenInfo{Protocol: info.Protocol, IP: info.IP, AnnouncedAddress: info.AnnouncedAddress}
	}
	if l.rtcp, err = listen(w, "rtcpListenInfo", rtcpInfo); err != nil {
		l.rtp.Close()
		return err
	}
	return nil
}

func (pt *plainTransport) Tuple() media.TransportTuple           { return pt.udp.Tuple() }
func (pt *plainTransport) RtcpTuple() *media.TransportTuple      { return pt.udp.RtcpTuple() }
func (pt *plainTransport) SrtpParameters() *media.SrtpParameters { return pt.udp.SrtpParameters() }
func (pt *plainTransport) SctpParameters() *media.SctpParameters { return nil }
func (pt *plainTransport) SctpState() media.SctpState            { return "" }

func (pt *plainTransport) OnTuple(fn func(media.TransportTuple)) func() {
	return pt.udp.onTuple.On(fn)
}

func (pt *plainTransport) OnRtcpTuple(fn func(media.TransportTuple)) func() {
	return pt.udp.onRtcpTuple.On(fn)
}

func (pt *plainTransport) OnSctpStateChange(fn func(media.SctpState)) func() { return func() {} }

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
