package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/event"
	"github.com/ropehq/rope/media/internal/evloop"
	"github.com/ropehq/rope/media/internal/rtppkt"
	"github.com/ropehq/rope/media/internal/udpio"
	"github.com/ropehq/rope/media/webrtc/listener"
)

// readBatch is the number of datagrams read per recvmmsg.
const readBatch = 32

// udpLink is the UDP side of plain and pipe transports: an RTP socket,
// an optional separate RTCP socket, the remote tuples and optional SRTP.
type udpLink struct {
	t        *transport
	rtp      *udpio.Conn
	rtcp     *udpio.Conn // nil with rtcpMux
	announce string
	comedia  bool

	remoteRTP  atomic.Pointer[netip.AddrPort]
	remoteRTCP atomic.Pointer[netip.AddrPort]
	// rtpConnected and rtcpConnected say the sockets are connect(2)ed to
	// their remote address (sends then skip the route lookup).
	rtpConnected, rtcpConnected atomic.Bool
	srtpLocal                   *media.SrtpParameters
	srtp                        atomic.Pointer[srtpSession]
	// sctp is the SCTP association (sctp_udp.go), nil without
	// enableSctp. Set before the read loops start.
	sctp *sctpUDP
	// connectMu serialises Connect.
	connectMu sync.Mutex
	connected bool

	// Kind-specific dump fields (nil when not applicable).
	dumpMux, dumpComedia, dumpRtx *bool

	// loop is the worker's event loop reading the sockets (detached
	// from Go's poller), nil when they have reader goroutines (wg).
	loop *evloop.Loop
	// regMu guards regs, the sockets' registrations in loop, and
	// closing.
	regMu   sync.Mutex
	regs    []*evloop.Registration
	closing bool

	wg          sync.WaitGroup
	onTuple     event.Listeners[media.TransportTuple]
	onRtcpTuple event.Listeners[media.TransportTuple]
}

// listen opens a socket as info says, as mediasoup's plain and pipe
// transports do: UDP only ("tcp" is a TypeError), on portRange when it
// has both bounds (port is then ignored), else on port, else on the
// worker's range; with info's flags and buffer sizes.
func listen(w *worker, field string, info *media.TransportListenInfo) (*udpio.Conn, error) {
	if info == nil {
		return nil, &media.ParamError{Field: field, Reason: "required"}
	}
	if info.Protocol != "" && info.Protocol != media.ProtocolUDP {
		return nil, &media.ParamError{Field: field + ".protocol", Reason: fmt.Sprintf("unsupported listen protocol %q (plain and pipe transports are UDP only)", info.Protocol)}
	}
	ip, err := netip.ParseAddr(info.IP)
	if err != nil {
		return nil, &media.ParamError{Field: field + ".ip", Reason: fmt.Sprintf("invalid IP %q", info.IP)}
	}
	if info.SendBufferSize < 0 || info.RecvBufferSize < 0 {
		return nil, &media.ParamError{Field: field, Reason: "negative socket buffer size"}
	}
	opts := udpio.ListenOptions{SendBuffer: info.SendBufferSize, RecvBuffer: info.RecvBufferSize}
	if f := info.Flags; f != nil {
		opts.IPv6Only, opts.ReusePort = f.IPv6Only, f.UDPReusePort
	}
	var c *udpio.Conn
	ranged := true
	switch pr := info.PortRange; {
	case pr != nil && pr.Min != 0 && pr.Max != 0:
		if pr.Max < pr.Min {
			return nil, &media.ParamError{Field: field + ".portRange", Reason: "maxPort cannot be less than minPort"}
		}
		c, err = udpio.ListenRangeWith(ip, pr.Min, pr.Max, w.nextPort.Add(7919), opts)
	case info.Port != 0:
		ranged = false
		c, err = udpio.ListenWith(ip, info.Port, opts)
	default:
		min, max, start := w.portRange()
		c, err = udpio.ListenRangeWith(ip, min, max, start, opts)
	}
	if err != nil {
		return nil, listenFailure(field, ranged, err)
	}
	if log := w.logger(); log.Enabled(context.Background(), slog.LevelDebug) {
		// As mediasoup's MS_DEBUG_TAG(info, "UDP socket buffer sizes").
		if send, recv, err := c.BufferSizes(); err == nil {
			log.Debug("engine: UDP socket buffer sizes", "tag", "info", "local", c.LocalAddr(), "send", send, "recv", recv)
		}
	}
	return c, nil
}

// isListenFailure reports a socket that could not be opened for one of
// the reasons listenFailure names.
func isListenFailure(err error) bool {
	return errors.Is(err, listener.ErrNoPort) || errors.Is(err, syscall.EADDRINUSE) ||
		errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EACCES)
}

// listenFailure makes a socket that could not be opened a ParamError
// naming the field, whose text is all a client sees (mediaserver sends a
// media error's text without what it wraps); the OS error stays wrapped
// after it for the logs. ranged says the ports of a range were tried.
// Other failures get the field as context.
func listenFailure(field string, ranged bool, err error) error {
	var reason string
	switch {
	case errors.Is(err, listener.ErrNoPort), ranged && errors.Is(err, syscall.EADDRINUSE):
		reason = "no free port in range"
	case errors.Is(err, syscall.EADDRINUSE):
		reason = "port in use"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		reason = "ip is not an address of this host"
	case errors.Is(err, syscall.EACCES):
		reason = "port not permitted"
	default:
		return fmt.Errorf("%s: %w", field, err)
	}
	return fmt.Errorf("%w: %w", &media.ParamError{Field: field, Reason: reason}, err)
}

// detach takes the sockets out of Go's poller for the worker's event
// loop, if it has one (right after they are opened: nothing else uses
// them yet). On failure the sockets are closed.
func (l *udpLink) detach(w *worker) error {
	loop := w.eventLoop()
	if loop == nil {
		return nil
	}
	for _, c := range []*udpio.Conn{l.rtp, l.rtcp} {
		if c == nil {
			continue
		}
		if err := c.Detach(); err != nil {
			l.closeSockets()
			return fmt.Errorf("listen: %w", err)
		}
	}
	l.loop = loop
	return nil
}

// start starts reading: the event loop, or a goroutine per socket.
func (l *udpLink) start() {
	if l.loop != nil {
		l.startOnLoop()
		return
	}
	l.wg.Add(1)
	go l.readLoop(l.rtp, false)
	if l.rtcp != nil {
		l.wg.Add(1)
		go l.readLoop(l.rtcp, true)
	}
}

// startOnLoop registers the sockets with the event loop (unless the link
// is already closing). If the loop has closed, the worker is closing and
// so is the transport: nothing is read.
func (l *udpLink) startOnLoop() {
	l.regMu.Lock()
	defer l.regMu.Unlock()
	if l.closing {
		return
	}
	if r, err := l.loop.Add(l.rtp, &udpReader{l: l}); err == nil {
		l.regs = append(l.regs, r)
	}
	if l.rtcp != nil {
		if r, err := l.loop.Add(l.rtcp, &udpReader{l: l, rtcpOnly: true}); err == nil {
			l.regs = append(l.regs, r)
		}
	}
}

// close stops reading and closes the sockets. A socket leaves the event
// loop before it is closed, and once its handler no longer runs (unless
// close is called from it).
func (l *udpLink) close() {
	if l.sctp != nil {
		l.sctp.close()
	}
	l.regMu.Lock()
	l.closing = true
	regs := l.regs
	l.regs = nil
	l.regMu.Unlock()
	for _, r := range regs {
		r.Remove()
	}
	l.closeSockets()
}

func (l *udpLink) closeSockets() {
	l.rtp.Close()
	if l.rtcp != nil {
		l.rtcp.Close()
	}
}

func (l *udpLink) wait() {
	l.wg.Wait()
	if l.sctp != nil {
		l.sctp.wait()
	}
}

func (l *udpLink) readLoop(conn *udpio.Conn, rtcpOnly bool) {
	w := l.t.router.worker
	defer l.wg.Done()
	defer w.recoverPanic("transport reader")
	bufs := make([]byte, readBatch*rtppkt.MaxPacketLen)
	ms := make([]udpio.Message, readBatch)
	for i := range ms {
		ms[i].Buf = bufs[i*rtppkt.MaxPacketLen : (i+1)*rtppkt.MaxPacketLen]
	}
	touched := make([]*producer, 0, 8)
	for {
		n, err := conn.ReadBatch(ms)
		if err != nil {
			if udpio.IsClosed(err) || l.t.closed.Load() {
				return
			}
			continue
		}
		if f := w.fault.Load(); f != nil {
			(*f)()
		}
		now := nanotime()
		for i := 0; i < n; i++ {
			if p := l.handle(ms[i].Buf[:ms[i].N], ms[i].Addr, rtcpOnly, now); p != nil && !slices.Contains(touched, p) {
				touched = append(touched, p)
			}
		}
		for _, p := range touched {
			p.flush()
		}
		clear(touched)
		touched = touched[:0]
	}
}

// handle checks the sender's address (learning it with comedia),
// decrypts and hands the packet to the transport.
func (l *udpLink) handle(b []byte, from netip.AddrPort, rtcpSocket bool, now int64) *producer {
	if !rtppkt.IsRTCP(b) && !rtppkt.IsRTP(b) {
		if l.sctp != nil && !rtcpSocket && isSCTP(b) {
			l.handleSCTP(b, from)
		}
		return nil
	}
	remote := &l.remoteRTP
	if rtcpSocket {
		remote = &l.remoteRTCP
	}
	if r := remote.Load(); r == nil {
		if !l.comedia || !l.learn(remote, from, rtcpSocket) {
			return nil
		}
	} else if *r != from {
		return nil
	}
	if s := l.srtp.Load(); s != nil {
		var err error
		if b, err = s.unprotect(b); err != nil {
			return nil
		}
	} else if l.srtpLocal != nil {
		return nil // SRTP enabled but not connected yet
	}
	return l.t.receive(b, now)
}

// handleSCTP checks the sender's address (learning it with comedia, as
// an RTP packet would) and hands the packet to the association, as it
// came: SRTP never covers SCTP.
func (l *udpLink) handleSCTP(b []byte, from netip.AddrPort) {
	if r := l.remoteRTP.Load(); r == nil {
		if !l.comedia || !l.learn(&l.remoteRTP, from, false) {
			return
		}
	} else if *r != from {
		return
	}
	l.t.bytesReceived.Add(uint64(len(b)))
	l.sctp.receive(b)
}

// sendSCTP sends one SCTP packet of the association to the remote RTP
// tuple; before there is one it is dropped (SCTP retransmits).
func (l *udpLink) sendSCTP(b []byte) {
	r := l.remoteRTP.Load()
	if r == nil {
		return
	}
	l.t.bytesSent.Add(uint64(len(b)))
	l.write(l.rtp, &l.rtpConnected, b, r)
}

// learn sets the remote address from the first packet (comedia) and
// emits "tuple" or "rtcptuple". Later packets from other addresses are
// dropped, as mediasoup does.
func (l *udpLink) learn(remote *atomic.Pointer[netip.AddrPort], from netip.AddrPort, rtcpSocket bool) bool {
	if !remote.CompareAndSwap(nil, &from) {
		return false
	}
	l.connectSocket(rtcpSocket, from)
	if rtcpSocket {
		tuple := l.tuple(l.rtcp, &from)
		l.t.loopCallback(func() { l.onRtcpTuple.Emit(tuple) })
		return true
	}
	tuple := l.tuple(l.rtp, &from)
	l.t.loopCallback(func() { l.onTuple.Emit(tuple) })
	if l.sctp != nil {
		l.sctp.start()
	}
	return true
}

func (l *udpLink) sendRTP(b []byte) {
	r := l.remoteRTP.Load()
	if r == nil {
		return
	}
	if s := l.srtp.Load(); s != nil {
		s.protect(b, false, func(out []byte) { l.write(l.rtp, &l.rtpConnected, out, r) })
		return
	}
	if l.srtpLocal != nil {
		return
	}
	l.write(l.rtp, &l.rtpConnected, b, r)
}

func (l *udpLink) sendRTPBatch(bufs [][]byte) {
	if l.srtp.Load() != nil || l.srtpLocal != nil || !l.rtpConnected.Load() {
		for _, b := range bufs {
			l.sendRTP(b)
		}
		return
	}
	_ = l.rtp.WriteBatch(bufs)
}

// queueRTPBatch queues bufs on ring when they would go as they are to
// the connected peer (no SRTP).
func (l *udpLink) queueRTPBatch(ring *sendRing, bufs [][]byte) bool {
	if l.srtp.Load() != nil || l.srtpLocal != nil || !l.rtpConnected.Load() {
		return false
	}
	return ring.queue(l.rtp, bufs)
}

// write sends b on conn, to its connected peer when it has one.
func (l *udpLink) write(conn *udpio.Conn, connected *atomic.Bool, b []byte, to *netip.AddrPort) {
	if connected.Load() {
		_ = conn.Write(b)
		return
	}
	_ = conn.WriteTo(b, *to)
}

// connectSocket connects the RTP or RTCP socket to its remote address.
func (l *udpLink) connectSocket(rtcp bool, to netip.AddrPort) {
	conn, flag := l.rtp, &l.rtpConnected
	if rtcp {
		conn, flag = l.rtcp, &l.rtcpConnected
	}
	if conn.Connect(to) == nil {
		flag.Store(true)
	}
}

func (l *udpLink) sendRTCP(b []byte) {
	conn, r, connected := l.rtp, l.remoteRTP.Load(), &l.rtpConnected
	if l.rtcp != nil {
		conn, r, connected = l.rtcp, l.remoteRTCP.Load(), &l.rtcpConnected
	}
	if r == nil {
		return
	}
	if s := l.srtp.Load(); s != nil {
		s.protect(b, true, func(out []byte) { l.write(conn, connected, out, r) })
		return
	}
	if l.srtpLocal != nil {
		return
	}
	l.write(conn, connected, b, r)
}

// connect sets the remote side (non-comedia) and SRTP keys.
func (l *udpLink) connect(ip string, port, rtcpPort uint16, srtp *media.SrtpParameters) error {
	l.connectMu.Lock()
	defer l.connectMu.Unlock()
	if l.connected {
		return media.NewError(media.ErrInvalidState, "connect() already called")
	}
	var session *srtpSession
	if l.srtpLocal != nil {
		if srtp == nil {
			return &media.ParamError{Field: "srtpParameters", Reason: "required when SRTP is enabled"}
		}
		var err error
		if session, err = newSrtpSession(l.srtpLocal, srtp); err != nil {
			return err
		}
	} else if srtp != nil {
		return &media.ParamError{Field: "srtpParameters", Reason: "SRTP not enabled"}
	}
	if !l.comedia {
		rtpAddr, rtcpAddr, err := l.remoteAddrs(ip, port, rtcpPort)
		if err != nil {
			return err
		}
		l.remoteRTP.Store(&rtpAddr)
		l.connectSocket(false, rtpAddr)
		if l.rtcp != nil {
			l.remoteRTCP.Store(&rtcpAddr)
			l.connectSocket(true, rtcpAddr)
		}
	}
	if session != nil {
		l.srtp.Store(session)
	}
	l.connected = true
	if l.sctp != nil {
		// As mediasoup, connect() makes the transport connected, which
		// starts SCTP (with comedia it sends once the tuple is learned).
		l.sctp.start()
	}
	return nil
}

func (l *udpLink) remoteAddrs(ip string, port, rtcpPort uint16) (rtpAddr, rtcpAddr netip.AddrPort, err error) {
	addr, perr := netip.ParseAddr(ip)
	if perr != nil {
		return rtpAddr, rtcpAddr, &media.ParamError{Field: "ip", Reason: fmt.Sprintf("invalid IP %q", ip)}
	}
	if port == 0 {
		return rtpAddr, rtcpAddr, &media.ParamError{Field: "port", Reason: "required"}
	}
	if l.rtcp != nil && rtcpPort == 0 {
		return rtpAddr, rtcpAddr, &media.ParamError{Field: "rtcpPort", Reason: "required without rtcpMux"}
	}
	return netip.AddrPortFrom(addr.Unmap(), port), netip.AddrPortFrom(addr.Unmap(), rtcpPort), nil
}

func (l *udpLink) tuple(c *udpio.Conn, remote *netip.AddrPort) media.TransportTuple {
	local := c.LocalAddr()
	t := media.TransportTuple{LocalAddress: l.announce, LocalPort: local.Port(), Protocol: media.ProtocolUDP}
	if t.LocalAddress == "" {
		t.LocalAddress = local.Addr().String()
	}
	if remote != nil {
		t.RemoteIP, t.RemotePort = remote.Addr().String(), remote.Port()
	}
	return t
}

func (l *udpLink) Tuple() media.TransportTuple { return l.tuple(l.rtp, l.remoteRTP.Load()) }

func (l *udpLink) RtcpTuple() *media.TransportTuple {
	if l.rtcp == nil {
		return nil
	}
	t := l.tuple(l.rtcp, l.remoteRTCP.Load())
	return &t
}

func (l *udpLink) SrtpParameters() *media.SrtpParameters {
	if l.srtpLocal == nil {
		return nil
	}
	p := *l.srtpLocal
	return &p
}

func (l *udpLink) fillDump(d *media.TransportDump) {
	tuple := l.Tuple()
	d.Tuple, d.RtcpTuple, d.SrtpParameters = &tuple, l.RtcpTuple(), l.SrtpParameters()
	d.RtcpMux, d.Comedia, d.Rtx = l.dumpMux, l.dumpComedia, l.dumpRtx
	if l.sctp != nil {
		d.SctpParameters, d.SctpState = l.sctp.parameters(), l.sctp.sctpState()
		d.SctpListener = &media.SctpListenerDump{StreamIDTable: l.sctp.data.streamIDTable()}
	}
}

func (l *udpLink) fillStats(s *media.TransportStats) {
	tuple := l.Tuple()
	s.Tuple, s.RtcpTuple = &tuple, l.RtcpTuple()
	s.RtcpMux, s.Comedia = l.dumpMux, l.dumpComedia
	s.SctpState = l.SctpState()
}

// SctpParameters are the local sctpParameters, nil without SCTP.
func (l *udpLink) SctpParameters() *media.SctpParameters {
	if l.sctp == nil {
		return nil
	}
	return l.sctp.parameters()
}

// SctpState is "" without SCTP.
func (l *udpLink) SctpState() media.SctpState {
	if l.sctp == nil {
		return ""
	}
	return l.sctp.sctpState()
}

func (l *udpLink) OnSctpStateChange(fn func(media.SctpState)) func() {
	if l.sctp == nil {
		return func() {}
	}
	return l.sctp.onState.On(fn)
}

// enableSctp gives the link its association (before start), as opts
// say; def is the kind's default message and send buffer size.
func (l *udpLink) enableSctp(t *transport, num *media.NumSctpStreams, maxMessage, sendBuffer, def int) error {
	params, buf, err := sctpConfig(num, maxMessage, sendBuffer, def)
	if err != nil {
		return err
	}
	l.sctp = newSctpUDP(t, params, buf, l.sendSCTP)
	return nil
}

// checkSctp is the common check of ProduceData and ConsumeData.
func (l *udpLink) checkSctp(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := l.t.checkOpen("transport"); err != nil {
		return err
	}
	if l.sctp == nil {
		return media.NewError(media.ErrInvalidState, "SCTP not enabled on transport %s", l.t.id)
	}
	return nil
}

func (l *udpLink) produceData(ctx context.Context, o *media.DataProducerOptions) (media.DataProducer, error) {
	if err := l.checkSctp(ctx); err != nil {
		return nil, err
	}
	return l.sctp.data.produce(ctx, o)
}

func (l *udpLink) consumeData(ctx context.Context, o *media.DataConsumerOptions) (media.DataConsumer, error) {
	if err := l.checkSctp(ctx); err != nil {
		return nil, err
	}
	return l.sctp.data.consume(ctx, o)
}

var _ = net.ErrClosed
