package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	pion "github.com/pion/webrtc/v4"

	"github.com/ropehq/rope/media"
)

// browser is a pion PeerConnection playing a browser running
// mediasoup-client: it offers, and takes an answer built from the
// WebRtcTransport's parameters the way mediasoup-client's RemoteSdp does.
type browser struct {
	pc     *pion.PeerConnection
	pt     uint8
	track  *pion.TrackLocalStaticRTP // sending browser only
	sender *pion.RTPSender
	tracks chan *pion.TrackRemote
}

// newBrowser makes a PeerConnection that knows VP8 with payload type pt
// and either sends a track or receives one; with pt 0 it has no media
// (data channels only).
func newBrowser(t *testing.T, pt uint8, send bool) *browser {
	t.Helper()
	var me pion.MediaEngine
	vp8 := pion.RTPCodecCapability{MimeType: pion.MimeTypeVP8, ClockRate: 90000}
	mustOK(t, me.RegisterCodec(pion.RTPCodecParameters{RTPCodecCapability: vp8, PayloadType: pion.PayloadType(pt)}, pion.RTPCodecTypeVideo))
	var se pion.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	api := pion.NewAPI(pion.WithMediaEngine(&me), pion.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(pion.Configuration{})
	mustOK(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	b := &browser{pc: pc, pt: pt, tracks: make(chan *pion.TrackRemote, 1)}
	switch {
	case pt == 0: // data channels only
		return b
	case send:
		b.track, err = pion.NewTrackLocalStaticRTP(vp8, "cam", "browser")
		mustOK(t, err)
		b.sender, err = pc.AddTrack(b.track)
		mustOK(t, err)
		return b
	}
	_, err = pc.AddTransceiverFromKind(pion.RTPCodecTypeVideo, pion.RTPTransceiverInit{Direction: pion.RTPTransceiverDirectionRecvonly})
	mustOK(t, err)
	pc.OnTrack(func(tr *pion.TrackRemote, _ *pion.RTPReceiver) { b.tracks <- tr })
	return b
}

// dataChannel opens a negotiated data channel with the given stream id,
// as mediasoup-client's produceData and consumeData do.
func (b *browser) dataChannel(t *testing.T, label string, id uint16) (dc *pion.DataChannel, open chan struct{}, msgs chan string) {
	t.Helper()
	negotiated := true
	dc, err := b.pc.CreateDataChannel(label, &pion.DataChannelInit{Negotiated: &negotiated, ID: &id})
	mustOK(t, err)
	open, msgs = make(chan struct{}), make(chan string, 16)
	dc.OnOpen(func() { close(open) })
	dc.OnMessage(func(m pion.DataChannelMessage) { msgs <- string(m.Data) })
	return dc, open, msgs
}

// offer makes and applies the local offer; it returns the parsed offer
// and the dtlsParameters mediasoup-client sends in connect() (role
// client).
func (b *browser) offer(t *testing.T) (*sdp.SessionDescription, *media.DtlsParameters) {
	t.Helper()
	offer, err := b.pc.CreateOffer(nil)
	mustOK(t, err)
	mustOK(t, b.pc.SetLocalDescription(offer))
	var desc sdp.SessionDescription
	mustOK(t, desc.UnmarshalString(offer.SDP))
	fp, ok := desc.Attribute("fingerprint")
	if !ok {
		fp, ok = desc.MediaDescriptions[0].Attribute("fingerprint")
	}
	if !ok {
		t.Fatal("offer without fingerprint")
	}
	alg, val, _ := strings.Cut(fp, " ")
	return &desc, &media.DtlsParameters{Role: "client", Fingerprints: []media.DtlsFingerprint{{Algorithm: alg, Value: val}}}
}

// offerSSRC is the first a=ssrc of the offer's video section.
func offerSSRC(t *testing.T, offer *sdp.SessionDescription) uint32 {
	t.Helper()
	for _, m := range offer.MediaDescriptions {
		if v, ok := m.Attribute("ssrc"); ok {
			id, _, _ := strings.Cut(v, " ")
			n, err := strconv.ParseUint(id, 10, 32)
			mustOK(t, err)
			return uint32(n)
		}
	}
	t.Fatal("offer without ssrc")
	return 0
}

// answer applies the answer mediasoup-client's RemoteSdp would write for
// tr: ice-lite, the last (strongest) fingerprint, ICE credentials, all
// candidates, setup passive (the transport is DTLS server), for a
// receiving browser the consumer's SSRC, and SCTP for data channels.
func (b *browser) answer(t *testing.T, offer *sdp.SessionDescription, tr media.WebRtcTransport, sendSSRC uint32) {
	t.Helper()
	dtls := tr.DtlsParameters()
	fp := dtls.Fingerprints[len(dtls.Fingerprints)-1]
	ip := tr.IceParameters()
	var mids []string
	for _, m := range offer.MediaDescriptions {
		mid, _ := m.Attribute("mid")
		mids = append(mids, mid)
	}
	var w strings.Builder
	fmt.Fprintf(&w, "v=0\r\no=mediasoup-client 10000 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n")
	fmt.Fprintf(&w, "a=ice-lite\r\na=fingerprint:%s %s\r\na=msid-semantic: WMS *\r\n", fp.Algorithm, fp.Value)
	fmt.Fprintf(&w, "a=group:BUNDLE %s\r\n", strings.Join(mids, " "))
	for i, m := range offer.MediaDescriptions {
		if m.MediaName.Media == "application" {
			fmt.Fprintf(&w, "m=application 7 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 127.0.0.1\r\n")
		} else {
			fmt.Fprintf(&w, "m=video 7 UDP/TLS/RTP/SAVPF %d\r\nc=IN IP4 127.0.0.1\r\n", b.pt)
		}
		fmt.Fprintf(&w, "a=mid:%s\r\na=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", mids[i], ip.UsernameFragment, ip.Password)
		for _, c := range tr.IceCandidates() {
			fmt.Fprintf(&w, "a=candidate:%s 1 %s %d %s %d typ host\r\n", c.Foundation, c.Protocol, c.Priority, c.Address, c.Port)
		}
		fmt.Fprintf(&w, "a=end-of-candidates\r\na=ice-options:renomination\r\na=setup:passive\r\n")
		if m.MediaName.Media == "application" {
			sp := tr.SctpParameters()
			fmt.Fprintf(&w, "a=sctp-port:%d\r\na=max-message-size:%d\r\n", sp.Port, sp.MaxMessageSize)
			continue
		}
		fmt.Fprintf(&w, "a=rtcp-mux\r\na=rtcp-rsize\r\na=rtpmap:%d VP8/90000\r\na=rtcp-fb:%d nack pli\r\n", b.pt, b.pt)
		if sendSSRC == 0 {
			w.WriteString("a=recvonly\r\n")
		} else {
			fmt.Fprintf(&w, "a=sendonly\r\na=msid:rope rope-video\r\na=ssrc:%d cname:rope\r\n", sendSSRC)
		}
	}
	mustOK(t, b.pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeAnswer, SDP: w.String()}))
}

func mustOK(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// stateLog records a transport's events.
type stateLog struct {
	mu     sync.Mutex
	ice    []media.IceState
	dtls   []media.DtlsState
	tuples []media.TransportTuple
}

func (l *stateLog) watch(tr media.WebRtcTransport) {
	tr.OnIceStateChange(func(s media.IceState) { l.mu.Lock(); l.ice = append(l.ice, s); l.mu.Unlock() })
	tr.OnDtlsStateChange(func(s media.DtlsState) { l.mu.Lock(); l.dtls = append(l.dtls, s); l.mu.Unlock() })
	tr.OnIceSelectedTupleChange(func(tup media.TransportTuple) {
		l.mu.Lock()
		l.tuples = append(l.tuples, tup)
		l.mu.Unlock()
	})
}

func (l *stateLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("ice %v dtls %v tuples %v", l.ice, l.dtls, l.tuples)
}

func (f *fixture) webRtc(o *media.WebRtcTransportOptions) media.WebRtcTransport {
	f.t.Helper()
	if o == nil {
		o = &media.WebRtcTransportOptions{ListenInfos: []media.TransportListenInfo{{IP: lo}}}
	}
	return must[media.WebRtcTransport](f.t)(f.router.CreateWebRtcTransport(f.ctx, o))
}

// TestWebRtcTransportParameters checks what createWebRtcTransport
// returns, connect() validation, restartIce, bitrates, dump and stats
// before any peer shows up, and the close events.
func TestWebRtcTransportParameters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := f.ctx
	tr := f.webRtc(&media.WebRtcTransportOptions{
		ListenInfos: []media.TransportListenInfo{{IP: lo, AnnouncedAddress: "192.0.2.1"}, {Protocol: media.ProtocolTCP, IP: lo}},
		EnableSctp:  true, NumSctpStreams: &media.NumSctpStreams{OS: 16, MIS: 32},
	})
	if tr.IceRole() != "controlled" || tr.IceState() != "new" || tr.DtlsState() != "new" || tr.IceSelectedTuple() != nil {
		t.Errorf("initial state: role %q ice %q dtls %q tuple %v", tr.IceRole(), tr.IceState(), tr.DtlsState(), tr.IceSelectedTuple())
	}
	ip := tr.IceParameters()
	if !ip.IceLite || ip.UsernameFragment == "" || ip.Password == "" {
		t.Errorf("iceParameters %+v", ip)
	}
	cs := tr.IceCandidates()
	if len(cs) != 2 || cs[0].Address != "192.0.2.1" || cs[0].Protocol != media.ProtocolUDP || cs[0].Port == 0 ||
		cs[1].Protocol != media.ProtocolTCP || cs[1].TCPType != "passive" || cs[0].Priority <= cs[1].Priority {
		t.Errorf("iceCandidates %+v", cs)
	}
	if d := tr.DtlsParameters(); d.Role != "auto" || len(d.Fingerprints) == 0 {
		t.Errorf("dtlsParameters %+v", d)
	}
	if p := tr.SctpParameters(); p == nil || *p != (media.SctpParameters{Port: 5000, OS: 16, MIS: 32, MaxMessageSize: 262144}) {
		t.Errorf("sctpParameters %+v", p)
	}
	if s := tr.SctpState(); s != media.SctpNew {
		t.Errorf("sctpState %q", s)
	}
	mustOK(t, tr.SetMaxIncomingBitrate(ctx, 1_000_000))
	mustOK(t, tr.SetMaxOutgoingBitrate(ctx, 2_000_000))

	// connect() validation.
	for _, o := range []*media.WebRtcTransportConnectOptions{nil, {}, {DtlsParameters: &media.DtlsParameters{Role: "client"}},
		{DtlsParameters: &media.DtlsParameters{Role: "boss", Fingerprints: []media.DtlsFingerprint{{Algorithm: "sha-256", Value: "AB"}}}}} {
		if err := tr.Connect(ctx, o); !isErr(err, media.ErrInvalidParams) {
			t.Errorf("Connect(%+v): %v", o, err)
		}
	}
	good := &media.WebRtcTransportConnectOptions{DtlsParameters: &media.DtlsParameters{Role: "server",
		Fingerprints: []media.DtlsFingerprint{{Algorithm: "sha-256", Value: "AB:CD"}}}}
	mustOK(t, tr.Connect(ctx, good))
	if d := tr.DtlsParameters(); d.Role != "client" {
		t.Errorf("dtlsParameters.role after connect %q", d.Role)
	}
	if err := tr.Connect(ctx, good); !isErr(err, media.ErrInvalidState) {
		t.Errorf("second Connect: %v", err)
	}

	p2 := must[media.IceParameters](t)(tr.RestartIce(ctx))
	if p2.UsernameFragment == ip.UsernameFragment || p2.Password == ip.Password || tr.IceParameters() != p2 {
		t.Errorf("restartIce %+v after %+v", p2, ip)
	}

	d := must[*media.TransportDump](t)(tr.Dump(ctx))
	if d.ID != tr.ID() || d.SctpState != media.SctpNew || d.SctpParameters == nil || d.Tuple != nil {
		t.Errorf("dump %+v", d)
	}
	st := must[[]media.TransportStats](t)(tr.GetStats(ctx))
	if len(st) != 1 || st[0].Type != "webrtc-transport" || st[0].TransportID != tr.ID() || st[0].SctpState != media.SctpNew {
		t.Errorf("stats %+v", st)
	}
	js, err := json.Marshal(st[0])
	mustOK(t, err)
	if !bytes.Contains(js, []byte(`"type":"webrtc-transport"`)) {
		t.Errorf("stats JSON %s", js)
	}

	// Close cascade: the router closing closes the transport.
	var routerClose, closed bool
	tr.OnRouterClose(func() { routerClose = true })
	tr.OnClose(func() { closed = true })
	mustOK(t, f.router.Close(ctx))
	if !routerClose || !closed || !tr.Closed() {
		t.Errorf("routerclose %v close %v closed %v", routerClose, closed, tr.Closed())
	}
	if _, err := tr.RestartIce(ctx); !isErr(err, media.ErrClosed) {
		t.Errorf("RestartIce after close: %v", err)
	}
	if err := tr.Connect(ctx, good); !isErr(err, media.ErrClosed) {
		t.Errorf("Connect after close: %v", err)
	}

	// Bad options.
	r := must[media.Router](t)(f.worker.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: mediaCodecs()}))
	for _, o := range []*media.WebRtcTransportOptions{nil, {}, {ListenInfos: []media.TransportListenInfo{{IP: "nope"}}},
		{ListenInfos: []media.TransportListenInfo{{IP: lo, Protocol: "sctp"}}}} {
		if _, err := r.CreateWebRtcTransport(ctx, o); !isErr(err, media.ErrInvalidParams) {
			t.Errorf("CreateWebRtcTransport(%+v): %v", o, err)
		}
	}
}

// TestWebRtcTransportForwarding runs a VP8 track from one pion
// PeerConnection (the sending browser) through a Producer on one
// WebRtcTransport and a Consumer on another to a second PeerConnection.
func TestWebRtcTransportForwarding(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sendTr, _, prod, cons := forwardThrough(t, f, func() media.WebRtcTransport { return f.webRtc(nil) })

	// Closing the sending transport closes the producer and, through
	// it, the consumer.
	consumerClosed := make(chan struct{})
	cons.OnProducerClose(func() { close(consumerClosed) })
	mustOK(t, sendTr.Close(context.Background()))
	select {
	case <-consumerClosed:
	case <-time.After(5 * time.Second):
		t.Fatal("consumer not closed with its producer's transport")
	}
	if !prod.Closed() || sendTr.IceState() != "closed" || sendTr.DtlsState() != "closed" {
		t.Errorf("after close: producer closed %v ice %q dtls %q", prod.Closed(), sendTr.IceState(), sendTr.DtlsState())
	}
}

// forwardThrough runs a VP8 track from a sending browser through a
// Producer on one transport made by newTr and a Consumer on another to a
// receiving browser, with RTCP both ways, and checks the transports'
// states, stats and events.
func forwardThrough(t *testing.T, f *fixture, newTr func() media.WebRtcTransport) (sendTr, recvTr media.WebRtcTransport, prod media.Producer, cons media.Consumer) {
	t.Helper()
	ctx := f.ctx
	caps := f.router.RtpCapabilities()
	var vp8 media.RtpCodecCapability
	for _, c := range caps.Codecs {
		if strings.EqualFold(c.MimeType, "video/VP8") {
			vp8 = c
		}
	}
	pt := uint8(*vp8.PreferredPayloadType)

	// Sending side: the browser offers, connect(), then the answer.
	sendTr = newTr()
	var sendLog stateLog
	sendLog.watch(sendTr)
	a := newBrowser(t, pt, true)
	offerA, dtlsA := a.offer(t)
	mustOK(t, sendTr.Connect(ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: dtlsA}))
	a.answer(t, offerA, sendTr, 0)
	mid, _ := offerA.MediaDescriptions[0].Attribute("mid")
	prod = must[media.Producer](t)(sendTr.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: media.RtpParameters{
		Mid:       mid,
		Codecs:    []media.RtpCodecParameters{{MimeType: vp8.MimeType, PayloadType: int(pt), ClockRate: vp8.ClockRate, RtcpFeedback: vp8.RtcpFeedback}},
		Encodings: []media.RtpEncodingParameters{{SSRC: offerSSRC(t, offerA)}},
		Rtcp:      media.RtcpParameters{CNAME: "browser-a"},
	}}))

	// Receiving side: consume, then the browser offers to receive and
	// gets the consumer's SSRC in the answer.
	recvTr = newTr()
	var recvLog stateLog
	recvLog.watch(recvTr)
	cons = must[media.Consumer](t)(recvTr.Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: &caps}))
	cp := cons.RtpParameters()
	b := newBrowser(t, uint8(cp.Codecs[0].PayloadType), false)
	offerB, dtlsB := b.offer(t)
	mustOK(t, recvTr.Connect(ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: dtlsB}))
	b.answer(t, offerB, recvTr, cp.Encodings[0].SSRC)

	waitFor(t, "both transports connected", func() bool {
		return sendTr.DtlsState() == "connected" && recvTr.DtlsState() == "connected"
	})

	// The sending browser sends VP8 key frames until the receiving one
	// has the track.
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		payload := []byte{0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a, 1, 2, 3, 4}
		for seq := uint16(1); ; seq++ {
			_ = a.track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq,
				Timestamp: uint32(seq) * 3000, Marker: true}, Payload: payload})
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	defer func() { close(stop); <-done }()
	select {
	case track := <-b.tracks:
		mustOK(t, track.SetReadDeadline(time.Now().Add(5*time.Second)))
		pkt, _, err := track.ReadRTP()
		mustOK(t, err)
		if pkt.SSRC != cp.Encodings[0].SSRC || int(pkt.PayloadType) != cp.Codecs[0].PayloadType || !bytes.HasPrefix(pkt.Payload, []byte{0x10, 0x00, 0x00, 0x9d}) {
			t.Fatalf("receiving browser got %v", pkt)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("receiving browser got no track; send %v; recv %v", &sendLog, &recvLog)
	}

	// RTCP both ways: a PLI from the receiving browser reaches the
	// consumer, and the producer asks the sending browser for a key frame.
	pliAtSender := make(chan bool, 1)
	ssrcA := offerSSRC(t, offerA)
	go func() {
		_ = a.sender.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			pkts, _, err := a.sender.ReadRTCP()
			if err != nil {
				pliAtSender <- false
				return
			}
			for _, p := range pkts {
				if pli, ok := p.(*rtcp.PictureLossIndication); ok && pli.MediaSSRC == ssrcA {
					pliAtSender <- true
					return
				}
			}
		}
	}()
	pli := &rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: cp.Encodings[0].SSRC}
	waitFor(t, "PLI at the consumer", func() bool {
		mustOK(t, b.pc.WriteRTCP([]rtcp.Packet{pli}))
		st := must[[]media.RtpStreamStats](t)(cons.GetStats(ctx))
		return st[0].PliCount > 0
	})
	if !<-pliAtSender {
		t.Error("no PLI at the sending browser")
	}

	for _, tr := range []media.WebRtcTransport{sendTr, recvTr} {
		if tr.IceState() != "completed" || tr.IceSelectedTuple() == nil || tr.IceSelectedTuple().RemotePort == 0 {
			t.Errorf("ice %q tuple %v", tr.IceState(), tr.IceSelectedTuple())
		}
		st := must[[]media.TransportStats](t)(tr.GetStats(ctx))
		if st[0].BytesReceived == 0 && st[0].BytesSent == 0 {
			t.Errorf("stats %+v", st[0])
		}
	}
	if s := must[[]media.TransportStats](t)(sendTr.GetStats(ctx)); s[0].RtpBytesReceived == 0 {
		t.Errorf("send transport stats %+v", s[0])
	}
	if s := must[[]media.TransportStats](t)(recvTr.GetStats(ctx)); s[0].RtpBytesSent == 0 {
		t.Errorf("recv transport stats %+v", s[0])
	}
	sendLog.mu.Lock()
	if len(sendLog.ice) == 0 || sendLog.ice[len(sendLog.ice)-1] != "completed" || len(sendLog.dtls) != 2 ||
		sendLog.dtls[0] != "connecting" || sendLog.dtls[1] != "connected" || len(sendLog.tuples) == 0 {
		t.Errorf("send transport events: ice %v dtls %v tuples %v", sendLog.ice, sendLog.dtls, sendLog.tuples)
	}
	sendLog.mu.Unlock()
	return sendTr, recvTr, prod, cons
}

// TestWebRtcTransportDataChannels runs messages from one browser's data
// channel through a DataProducer on one WebRtcTransport and a
// DataConsumer on another to a second browser, with mediasoup-client's
// stream ids: the client picks its producer's, the transport allocates
// its consumers'.
func TestWebRtcTransportDataChannels(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := f.ctx
	opts := func() *media.WebRtcTransportOptions {
		return &media.WebRtcTransportOptions{ListenInfos: []media.TransportListenInfo{{IP: lo}}, EnableSctp: true}
	}
	sendTr, recvTr := f.webRtc(opts()), f.webRtc(opts())
	var sctpStates []media.SctpState
	var sctpMu sync.Mutex
	sendTr.OnSctpStateChange(func(s media.SctpState) { sctpMu.Lock(); sctpStates = append(sctpStates, s); sctpMu.Unlock() })

	a := newBrowser(t, 0, false)
	dcA, openA, _ := a.dataChannel(t, "chat", 3)
	offerA, dtlsA := a.offer(t)
	mustOK(t, sendTr.Connect(ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: dtlsA}))
	a.answer(t, offerA, sendTr, 0)
	ordered := true
	dp := must[media.DataProducer](t)(sendTr.ProduceData(ctx, &media.DataProducerOptions{Label: "chat",
		SctpStreamParameters: &media.SctpStreamParameters{StreamID: 3, Ordered: &ordered}}))
	if dp.Type() != media.DataSCTP || dp.SctpStreamParameters().StreamID != 3 {
		t.Errorf("data producer %s %+v", dp.Type(), dp.SctpStreamParameters())
	}
	if _, err := sendTr.ProduceData(ctx, &media.DataProducerOptions{SctpStreamParameters: &media.SctpStreamParameters{StreamID: 3}}); !isErr(err, media.ErrInvalidParams) {
		t.Errorf("second producer on stream 3: %v", err)
	}

	// The server side sees the messages too, through a direct transport.
	dt := must[media.DirectTransport](t)(f.router.CreateDirectTransport(ctx, nil))
	direct := must[media.DataConsumer](t)(dt.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}))
	atServer := make(chan string, 16)
	direct.OnMessage(func(b []byte, ppid int) { atServer <- fmt.Sprintf("%s/%d", b, ppid) })

	dc := must[media.DataConsumer](t)(recvTr.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}))
	sp := dc.SctpStreamParameters()
	if dc.Type() != media.DataSCTP || sp == nil || sp.StreamID != 0 || !sp.IsOrdered() || dc.Label() != "chat" {
		t.Fatalf("data consumer %s %+v %q", dc.Type(), sp, dc.Label())
	}
	dc2 := must[media.DataConsumer](t)(recvTr.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}))
	if id := dc2.SctpStreamParameters().StreamID; id != 1 {
		t.Errorf("second data consumer stream %d", id)
	}
	mustOK(t, dc2.Close(ctx))

	b := newBrowser(t, 0, false)
	_, openB, msgsB := b.dataChannel(t, "chat", uint16(sp.StreamID))
	offerB, dtlsB := b.offer(t)
	mustOK(t, recvTr.Connect(ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: dtlsB}))
	b.answer(t, offerB, recvTr, 0)

	for _, open := range []chan struct{}{openA, openB} {
		select {
		case <-open:
		case <-time.After(5 * time.Second):
			t.Fatal("data channel not open")
		}
	}
	waitFor(t, "SCTP connected", func() bool {
		return sendTr.SctpState() == media.SctpConnected && recvTr.SctpState() == media.SctpConnected
	})
	// Until the receiving association is up, messages may be dropped, as
	// in mediasoup: send until one arrives.
	var got string
	deadline := time.After(5 * time.Second)
	for got == "" {
		mustOK(t, dcA.SendText("hello"))
		select {
		case got = <-msgsB:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatal("no message at the receiving browser")
		}
	}
	if got != "hello" {
		t.Fatalf("receiving browser got %q", got)
	}
	if m := <-atServer; m != fmt.Sprintf("hello/%d", media.PPIDString) {
		t.Errorf("direct consumer got %q", m)
	}
	sctpMu.Lock()
	if len(sctpStates) < 2 || sctpStates[0] != media.SctpConnecting || sctpStates[1] != media.SctpConnected {
		t.Errorf("sctpstatechange %v", sctpStates)
	}
	sctpMu.Unlock()
	if st := must[[]media.DataProducerStats](t)(dp.GetStats(ctx)); st[0].MessagesReceived == 0 {
		t.Errorf("data producer stats %+v", st)
	}
	if d := must[*media.DataConsumerDump](t)(dc.Dump(ctx)); d.SctpStreamParameters == nil || d.Type != media.DataSCTP {
		t.Errorf("data consumer dump %+v", d)
	}

	// Closing the producer's transport closes the data producer and its
	// consumers.
	closed := make(chan struct{})
	dc.OnDataProducerClose(func() { close(closed) })
	mustOK(t, sendTr.Close(ctx))
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("data consumer not closed with its producer")
	}
	if !dp.Closed() || !dc.Closed() || sendTr.SctpState() != media.SctpClosed {
		t.Errorf("after close: producer %v consumer %v sctp %q", dp.Closed(), dc.Closed(), sendTr.SctpState())
	}
}
