package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/event"
	"github.com/ropehq/rope/media/webrtc"
	"github.com/ropehq/rope/media/webrtc/dtlstransport"
	"github.com/ropehq/rope/media/webrtc/ice"
)

// webRtcTransport is ICE-lite + DTLS + SRTP (+ SCTP data channels, see
// webrtc_data.go) for WebRTC endpoints (mediasoup WebRtcTransport), on
// the connection layer of media/webrtc, with its own sockets or those of
// a WebRtcServer (webrtc_server.go). RTP enters
// the forwarding path from webrtc's OnRTP, as a plain transport's read
// loop hands it on, and leaves through WriteRTP; RTCP likewise.
type webRtcTransport struct {
	*transport
	link *webRtcLink
	// server is the WebRtcServer whose sockets the transport uses, or nil
	// when it has its own.
	server *webRtcServer
}

var _ media.WebRtcTransport = (*webRtcTransport)(nil)

// webRtcLink is the link of a WebRtcTransport: a media/webrtc Transport
// with its own sockets or on a WebRtcServer's.
type webRtcLink struct {
	t  *transport
	tr *webrtc.Transport

	// rxMu serialises the receive path: media/webrtc calls OnRTP and
	// OnRTCP from one goroutine per socket and TCP connection, while the
	// forwarding path expects one reader per transport (as a plain
	// transport's read loop). It is taken before producer.ingress.
	rxMu sync.Mutex
	// touched are the producers that got packets in the current read
	// batch; readBatchEnd flushes their consumers' queues through batch.
	// Guarded by rxMu.
	touched []*producer
	batch   webrtc.RTPBatchWriter

	// iceUp and dtlsUp say the selected tuple and the SRTP keys are there,
	// so that sends before that are dropped without an error value.
	iceUp, dtlsUp atomic.Bool

	// closeWG waits for a close started from one of the transport's own
	// callbacks (webrtc's Close waits for the goroutine calling it).
	closeWG   sync.WaitGroup
	closeOnce sync.Once

	// data holds the data channels (sctp_data.go); nil without SCTP.
	data *sctpData

	onIceState  event.Listeners[media.IceState]
	onIceTuple  event.Listeners[media.TransportTuple]
	onDtlsState event.Listeners[media.DtlsState]
	onSctpState event.Listeners[media.SctpState]

	onListenServerClose event.Listeners[struct{}]
}

func (r *router) CreateWebRtcTransport(ctx context.Context, o *media.WebRtcTransportOptions) (media.WebRtcTransport, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := r.checkOpen("router"); err != nil {
		return nil, err
	}
	if o == nil || (o.WebRtcServer == nil && len(o.ListenInfos) == 0) {
		return nil, &media.ParamError{Field: "listenInfos", Reason: "missing webRtcServer and listenInfos (one of them is mandatory)"}
	}
	var server *webRtcServer
	var infos []webrtc.ListenInfo
	if o.WebRtcServer != nil {
		s, ok := o.WebRtcServer.(*webRtcServer)
		if !ok || s.worker != r.worker {
			return nil, &media.ParamError{Field: "webRtcServer", Reason: fmt.Sprintf("WebRtcServer %s belongs to another worker", o.WebRtcServer.ID())}
		}
		if err := s.checkOpen("webRtcServer"); err != nil {
			return nil, err
		}
		server = s
	} else {
		var err error
		if infos, err = webRtcListenInfos(r.worker, o.ListenInfos); err != nil {
			return nil, err
		}
	}
	sctpParams, sctpSendBuffer, err := sctpConfig(o.NumSctpStreams, o.MaxSctpMessageSize, o.SctpSendBufferSize, defaultSctpMessageSize)
	if err != nil {
		return nil, err
	}
	// As mediasoup: UDP on by default; TCP too with a WebRtcServer.
	// Without a server, the listen infos say which protocols to open.
	enableUDP := o.EnableUDP == nil || *o.EnableUDP
	enableTCP := o.EnableTCP != nil && *o.EnableTCP
	if o.EnableTCP == nil && server != nil {
		enableTCP = true
	}
	cands := &webrtc.CandidateOptions{DisableUDP: !enableUDP, PreferUDP: o.PreferUDP, PreferTCP: o.PreferTCP}
	if server != nil {
		cands.DisableTCP = !enableTCP
		if len(server.srv.Candidates(cands)) == 0 {
			return nil, &media.ParamError{Field: "enableUdp", Reason: "empty iceCandidates: enableUdp and enableTcp leave none of the WebRtcServer's sockets"}
		}
	}
	t := newTransport(r, "webrtc-transport", o.AppData)
	if o.InitialAvailableOutgoingBitrate > 0 {
		t.initialOutgoing = o.InitialAvailableOutgoingBitrate
	}
	l := &webRtcLink{t: t}
	if o.EnableSctp {
		l.data = newSctpData(t, sctpParams, sctpSendBuffer, l.association)
	}
	consent := time.Duration(o.IceConsentTimeout) * time.Second
	if o.IceConsentTimeout < 0 {
		consent = -1
	}
	topts := &webrtc.TransportOptions{
		ListenInfos:              infos,
		Candidates:               cands,
		Certificate:              r.worker.cert,
		ICEConsentTimeout:        consent,
		EnableSCTP:               o.EnableSctp,
		MaxSCTPMessageSize:       uint32(sctpParams.MaxMessageSize),
		SCTPStreamsOS:            uint16(sctpParams.OS),
		SCTPStreamsMIS:           uint16(sctpParams.MIS),
		OnRTP:                    l.receive,
		OnRTCP:                   l.receive,
		OnReadBatchEnd:           l.readBatchEnd,
		OnICEStateChange:         l.iceStateChange,
		OnICESelectedTupleChange: l.iceTupleChange,
		OnDTLSStateChange:        l.dtlsStateChange,
		OnSCTPStateChange:        l.sctpStateChange,
		OnSCTPStream:             l.sctpStream,
		Logger:                   r.worker.logger(),
		OnPanic:                  func(v any) { r.worker.panicked("webrtc transport", v) },
		Loop:                     r.worker.eventLoop(),
	}
	var tr *webrtc.Transport
	if server != nil {
		tr, err = server.srv.NewTransport(topts)
	} else {
		tr, err = webrtc.NewTransport(topts)
	}
	switch {
	case errors.Is(err, webrtc.ErrInvalidListenInfo):
		return nil, &media.ParamError{Field: "listenInfos", Reason: err.Error()}
	case isListenFailure(err):
		return nil, fmt.Errorf("createWebRtcTransport: %w", listenFailure("listenInfos", false, err))
	case errors.Is(err, webrtc.ErrClosed) && server != nil:
		return nil, media.NewError(media.ErrClosed, "webRtcServer %s closed", server.id)
	case err != nil:
		return nil, fmt.Errorf("createWebRtcTransport: %w", err)
	}
	l.tr = tr
	wt := &webRtcTransport{transport: t, link: l, server: server}
	t.outer, t.link, t.closeHook = wt, l, wt.closeDone
	if err := t.start(); err != nil {
		_ = tr.Close()
		return nil, err
	}
	if server != nil {
		if err := server.handle(wt); err != nil {
			t.close(closeByListenServer)
			return nil, err
		}
	}
	return wt, nil
}

// closeDone runs at the end of the transport's close: a transport whose
// server closed says so; one that closed otherwise leaves its server.
func (wt *webRtcTransport) closeDone(reason closeReason) {
	if reason == closeByListenServer {
		emit(&wt.link.onListenServerClose)
		return
	}
	if wt.server != nil {
		wt.server.unhandle(wt)
	}
}

func (wt *webRtcTransport) OnListenServerClose(fn func()) func() {
	return on(&wt.link.onListenServerClose, fn)
}

// webRtcListenInfos converts listen infos; without port and port range,
// ports come from the worker's range.
func webRtcListenInfos(w *worker, in []media.TransportListenInfo) ([]webrtc.ListenInfo, error) {
	out := make([]webrtc.ListenInfo, 0, len(in))
	for i, li := range in {
		proto := li.Protocol
		if proto == "" {
			proto = media.ProtocolUDP
		}
		if proto != media.ProtocolUDP && proto != media.ProtocolTCP {
			return nil, &media.ParamError{Field: fmt.Sprintf("listenInfos[%d].protocol", i), Reason: fmt.Sprintf("invalid %q", proto)}
		}
		wi := webrtc.ListenInfo{Protocol: string(proto), IP: li.IP, AnnouncedAddress: li.Announced(),
			Port: li.Port, SendBufferSize: li.SendBufferSize, RecvBufferSize: li.RecvBufferSize}
		if f := li.Flags; f != nil {
			wi.IPv6Only, wi.UDPReusePort = f.IPv6Only, f.UDPReusePort
		}
		switch pr := li.PortRange; {
		case pr != nil && pr.Min != 0 && pr.Max != 0:
			// As mediasoup: a port range makes the port ignored.
			wi.Port, wi.PortRange = 0, webrtc.PortRange{Min: pr.Min, Max: pr.Max}
		case li.Port != 0:
		default:
			min, max, _ := w.portRange()
			wi.PortRange = webrtc.PortRange{Min: min, Max: max}
		}
		out = append(out, wi)
	}
	return out, nil
}

// receive takes one decrypted RTP or RTCP packet from media/webrtc into
// the forwarding path: consumers queue their copies until the read batch
// ends (readBatchEnd), as after a plain transport's recvmmsg. It does not
// allocate for RTP.
func (l *webRtcLink) receive(pkt []byte) {
	defer l.t.router.worker.recoverPanic("webrtc transport receive")
	l.rxMu.Lock()
	defer l.rxMu.Unlock()
	if p := l.t.receive(pkt, nanotime()); p != nil && !slices.Contains(l.touched, p) {
		l.touched = append(l.touched, p)
	}
}

// readBatchEnd sends what the consumers of this read batch's producers
// queued: one sendmmsg per consumer, or per WebRtcServer socket for the
// consumers of transports that share one (webrtc.RTPBatchWriter).
func (l *webRtcLink) readBatchEnd() {
	defer l.t.router.worker.recoverPanic("webrtc transport send")
	l.rxMu.Lock()
	defer l.rxMu.Unlock()
	for _, p := range l.touched {
		for _, c := range *p.consumers.Load() {
			c.flushInto(&l.batch)
		}
	}
	sentAt := nanotime()
	_ = l.batch.Flush()
	for _, p := range l.touched {
		for _, c := range *p.consumers.Load() {
			c.recordSent(sentAt)
			c.releaseOut()
		}
	}
	clear(l.touched)
	l.touched = l.touched[:0]
}

func (l *webRtcLink) iceStateChange(s ice.State) {
	l.iceUp.Store(s == ice.StateConnected || s == ice.StateCompleted)
	st := media.IceState(s.String())
	l.t.loopCallback(func() { l.onIceState.Emit(st) })
}

func (l *webRtcLink) iceTupleChange(tup ice.Tuple) {
	mt := l.tuple(tup)
	l.t.loopCallback(func() { l.onIceTuple.Emit(mt) })
}

func (l *webRtcLink) dtlsStateChange(s dtlstransport.State, _ error) {
	l.dtlsUp.Store(s == dtlstransport.StateConnected)
	st := media.DtlsState(s.String())
	l.t.loopCallback(func() { l.onDtlsState.Emit(st) })
}

func (l *webRtcLink) sctpStateChange(s webrtc.SCTPState) {
	st := media.SctpState(s.String())
	l.t.loopCallback(func() { l.onSctpState.Emit(st) })
}

// tuple converts an ICE tuple, with the local address as announced in
// the matching candidate.
func (l *webRtcLink) tuple(tup ice.Tuple) media.TransportTuple {
	mt := media.TransportTuple{
		LocalAddress: tup.Local.Addr().Unmap().String(), LocalPort: tup.Local.Port(),
		RemoteIP: tup.Remote.Addr().Unmap().String(), RemotePort: tup.Remote.Port(),
		Protocol: media.TransportProtocol(tup.Protocol.String()),
	}
	for _, c := range l.tr.Parameters().ICECandidates {
		if c.Port == mt.LocalPort && c.Protocol == string(mt.Protocol) {
			mt.LocalAddress = c.Address
			break
		}
	}
	return mt
}

// link implementation.

func (l *webRtcLink) ready() bool { return l.iceUp.Load() && l.dtlsUp.Load() }

func (l *webRtcLink) sendRTP(b []byte) {
	if l.ready() {
		_ = l.tr.WriteRTP(b)
	}
}

// sendRTPBatch encrypts a consumer's batch and sends it with one
// sendmmsg (one write on TCP). The buffers are the consumer's own output
// queue (rewritten copies, 1500 bytes of capacity each, not read again
// after the flush), so packets are encrypted in place.
func (l *webRtcLink) sendRTPBatch(bufs [][]byte) {
	if l.ready() {
		_ = l.tr.WriteRTPBatchInPlace(bufs)
	}
}

func (l *webRtcLink) sendRTCP(b []byte) {
	if l.ready() {
		_ = l.tr.WriteRTCP(b)
	}
}

// close closes the connection layer. From one of the transport's own
// callbacks it cannot wait (webrtc's Close waits for that goroutine), so
// it closes on another goroutine that wait waits for.
func (l *webRtcLink) close() {
	l.closeOnce.Do(func() {
		l.iceUp.Store(false)
		l.dtlsUp.Store(false)
		if l.data != nil {
			l.data.stop()
		}
		if l.t.inLoop.Load() == 0 {
			_ = l.tr.Close()
			return
		}
		l.closeWG.Add(1)
		go func() {
			defer l.closeWG.Done()
			defer l.t.router.worker.recoverPanic("webrtc transport close")
			_ = l.tr.Close()
		}()
	})
}

func (l *webRtcLink) wait() {
	l.closeWG.Wait()
	if l.data != nil {
		l.data.readers.Wait()
	}
}

func (l *webRtcLink) sctpParameters() *media.SctpParameters {
	p := l.tr.Parameters().SCTPParameters
	if p == nil {
		return nil
	}
	return &media.SctpParameters{Port: int(p.Port), OS: int(p.OS), MIS: int(p.MIS), MaxMessageSize: int(p.MaxMessageSize)}
}

func (l *webRtcLink) sctpState() media.SctpState {
	if l.tr.Parameters().SCTPParameters == nil {
		return ""
	}
	return media.SctpState(l.tr.SCTPState().String())
}

// fillDump adds mediasoup's WebRtcTransportDump fields.
func (l *webRtcLink) fillDump(d *media.TransportDump) {
	wt := l.t.outer.(*webRtcTransport)
	ip, dp := wt.IceParameters(), wt.DtlsParameters()
	d.SctpParameters, d.SctpState = l.sctpParameters(), l.sctpState()
	d.IceRole, d.IceParameters, d.IceCandidates = wt.IceRole(), &ip, wt.IceCandidates()
	d.IceState, d.IceSelectedTuple = wt.IceState(), wt.IceSelectedTuple()
	d.DtlsParameters, d.DtlsState, d.DtlsRemoteCert = &dp, wt.DtlsState(), wt.DtlsRemoteCert()
}

// fillStats adds mediasoup's WebRtcTransportStat fields.
func (l *webRtcLink) fillStats(s *media.TransportStats) {
	wt := l.t.outer.(*webRtcTransport)
	s.SctpState = l.sctpState()
	s.IceRole, s.IceState, s.IceSelectedTuple, s.DtlsState = wt.IceRole(), wt.IceState(), wt.IceSelectedTuple(), wt.DtlsState()
}

// media.WebRtcTransport.

func (wt *webRtcTransport) IceRole() string { return "controlled" }

func (wt *webRtcTransport) IceParameters() media.IceParameters {
	return iceParameters(wt.link.tr.Parameters().ICEParameters)
}

func iceParameters(p webrtc.ICEParameters) media.IceParameters {
	return media.IceParameters{UsernameFragment: p.UsernameFragment, Password: p.Password, IceLite: p.ICELite}
}

func (wt *webRtcTransport) IceCandidates() []media.IceCandidate {
	cs := wt.link.tr.Parameters().ICECandidates
	out := make([]media.IceCandidate, 0, len(cs))
	for _, c := range cs {
		out = append(out, media.IceCandidate{Foundation: c.Foundation, Priority: c.Priority, Address: c.Address,
			IP: c.IP, Protocol: media.TransportProtocol(c.Protocol), Port: c.Port, Type: c.Type, TCPType: c.TCPType})
	}
	return out
}

func (wt *webRtcTransport) IceState() media.IceState {
	return media.IceState(wt.link.tr.ICEState().String())
}

func (wt *webRtcTransport) IceSelectedTuple() *media.TransportTuple {
	tup, ok := wt.link.tr.ICESelectedTuple()
	if !ok {
		return nil
	}
	mt := wt.link.tuple(tup)
	return &mt
}

func (wt *webRtcTransport) DtlsParameters() media.DtlsParameters {
	p := wt.link.tr.Parameters().DTLSParameters
	d := media.DtlsParameters{Role: string(p.Role), Fingerprints: make([]media.DtlsFingerprint, 0, len(p.Fingerprints))}
	for _, fp := range p.Fingerprints {
		d.Fingerprints = append(d.Fingerprints, media.DtlsFingerprint{Algorithm: fp.Algorithm, Value: fp.Value})
	}
	return d
}

func (wt *webRtcTransport) DtlsState() media.DtlsState {
	return media.DtlsState(wt.link.tr.DTLSState().String())
}

// DtlsRemoteCert is the peer's certificate (PEM) once DTLS is connected,
// else "".
func (wt *webRtcTransport) DtlsRemoteCert() string { return wt.link.tr.RemoteCertificate() }

func (wt *webRtcTransport) SctpParameters() *media.SctpParameters { return wt.link.sctpParameters() }
func (wt *webRtcTransport) SctpState() media.SctpState            { return wt.link.sctpState() }

func (wt *webRtcTransport) OnIceStateChange(fn func(media.IceState)) func() {
	return wt.link.onIceState.On(fn)
}

func (wt *webRtcTransport) OnIceSelectedTupleChange(fn func(media.TransportTuple)) func() {
	return wt.link.onIceTuple.On(fn)
}

func (wt *webRtcTransport) OnDtlsStateChange(fn func(media.DtlsState)) func() {
	return wt.link.onDtlsState.On(fn)
}

func (wt *webRtcTransport) OnSctpStateChange(fn func(media.SctpState)) func() {
	return wt.link.onSctpState.On(fn)
}

// Connect sets the remote DTLS parameters (mediasoup's connect()); DTLS
// starts once ICE is connected.
func (wt *webRtcTransport) Connect(ctx context.Context, o *media.WebRtcTransportConnectOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := wt.checkOpen("transport"); err != nil {
		return err
	}
	if o == nil || o.DtlsParameters == nil {
		return &media.ParamError{Field: "dtlsParameters", Reason: "required"}
	}
	remote := webrtc.DTLSParameters{Role: dtlstransport.Role(o.DtlsParameters.Role)}
	for _, fp := range o.DtlsParameters.Fingerprints {
		remote.Fingerprints = append(remote.Fingerprints, webrtc.DTLSFingerprint{Algorithm: fp.Algorithm, Value: fp.Value})
	}
	_, err := wt.link.tr.Connect(remote)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, webrtc.ErrAlreadyConnected):
		return media.NewError(media.ErrInvalidState, "connect() already called")
	case errors.Is(err, webrtc.ErrClosed):
		return media.NewError(media.ErrClosed, "transport %s closed", wt.id)
	case errors.Is(err, webrtc.ErrNoFingerprint):
		return &media.ParamError{Field: "dtlsParameters.fingerprints", Reason: "empty or unsupported"}
	case errors.Is(err, dtlstransport.ErrInvalidRole):
		return &media.ParamError{Field: "dtlsParameters.role", Reason: fmt.Sprintf("invalid %q", o.DtlsParameters.Role)}
	}
	return fmt.Errorf("connect: %w", err)
}

// RestartIce sets new local ICE credentials and returns them.
func (wt *webRtcTransport) RestartIce(ctx context.Context) (media.IceParameters, error) {
	if err := ctx.Err(); err != nil {
		return media.IceParameters{}, err
	}
	if err := wt.checkOpen("transport"); err != nil {
		return media.IceParameters{}, err
	}
	p, err := wt.link.tr.RestartICE()
	if err != nil {
		if errors.Is(err, webrtc.ErrClosed) {
			return media.IceParameters{}, media.NewError(media.ErrClosed, "transport %s closed", wt.id)
		}
		return media.IceParameters{}, fmt.Errorf("restartIce: %w", err)
	}
	return iceParameters(p), nil
}
