package mediatest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	pion "github.com/pion/webrtc/v4"

	"github.com/ropehq/rope/internal/peertest"
	"github.com/ropehq/rope/media"
)

// webRtcTransport creates a WebRtcTransport with its own UDP socket on
// 127.0.0.1.
func webRtcTransport(t *testing.T, r media.Router, sctp bool) media.WebRtcTransport {
	t.Helper()
	return check[media.WebRtcTransport](t)(r.CreateWebRtcTransport(ctxFor(t), &media.WebRtcTransportOptions{
		ListenInfos: []media.TransportListenInfo{*listenInfo()}, EnableSctp: sctp}))
}

// routerVP8 is the router's VP8 codec.
func routerVP8(t *testing.T, r media.Router) media.RtpCodecCapability {
	t.Helper()
	for _, c := range r.RtpCapabilities().Codecs {
		if strings.EqualFold(c.MimeType, "video/VP8") {
			return c
		}
	}
	t.Fatal("router without VP8")
	return media.RtpCodecCapability{}
}

// webRtcLog records a WebRtcTransport's state events.
type webRtcLog struct {
	mu     sync.Mutex
	ice    []media.IceState
	dtls   []media.DtlsState
	sctp   []media.SctpState
	tuples []media.TransportTuple
}

func watchWebRtc(tr media.WebRtcTransport) *webRtcLog {
	l := &webRtcLog{}
	tr.OnIceStateChange(func(s media.IceState) { l.mu.Lock(); l.ice = append(l.ice, s); l.mu.Unlock() })
	tr.OnDtlsStateChange(func(s media.DtlsState) { l.mu.Lock(); l.dtls = append(l.dtls, s); l.mu.Unlock() })
	tr.OnSctpStateChange(func(s media.SctpState) { l.mu.Lock(); l.sctp = append(l.sctp, s); l.mu.Unlock() })
	tr.OnIceSelectedTupleChange(func(x media.TransportTuple) { l.mu.Lock(); l.tuples = append(l.tuples, x); l.mu.Unlock() })
	return l
}

func (l *webRtcLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("ice %v dtls %v sctp %v tuples %v", l.ice, l.dtls, l.sctp, l.tuples)
}

// has reports whether the log holds the states in that order (others
// may come between).
func (l *webRtcLog) has(dtls []media.DtlsState, sctp []media.SctpState) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return isSubsequence(l.dtls, dtls) && isSubsequence(l.sctp, sctp) && len(l.tuples) > 0 &&
		slices.ContainsFunc(l.ice, func(s media.IceState) bool { return s == "connected" || s == "completed" })
}

func isSubsequence[T comparable](got, want []T) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// sendingBrowser is a pion peer connected to tr, producing VP8 on it.
type sendingBrowser struct {
	*peertest.Browser
	offer    *sdp.SessionDescription
	dtls     *media.DtlsParameters
	producer media.Producer
	pt       uint8
}

// connectSender connects a sending browser to tr and makes its producer.
func connectSender(t *testing.T, r media.Router, tr media.WebRtcTransport) *sendingBrowser {
	t.Helper()
	return connectBrowser(t, r, tr, peertest.NewBrowser)
}

// connectBrowser is connectSender with a browser from newBrowser.
func connectBrowser(t *testing.T, r media.Router, tr media.WebRtcTransport,
	newBrowser func(testing.TB, uint8, bool) *peertest.Browser) *sendingBrowser {
	t.Helper()
	ctx := ctxFor(t)
	vp8 := routerVP8(t, r)
	pt := uint8(*vp8.PreferredPayloadType)
	b := &sendingBrowser{Browser: newBrowser(t, pt, true), pt: pt}
	b.offer, b.dtls = b.Offer(t)
	if err := tr.Connect(ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: b.dtls}); err != nil {
		t.Fatal(err)
	}
	b.Answer(t, b.offer, tr, 0)
	mid, _ := b.offer.MediaDescriptions[0].Attribute("mid")
	b.producer = check[media.Producer](t)(tr.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: media.RtpParameters{
		Mid:       mid,
		Codecs:    []media.RtpCodecParameters{{MimeType: vp8.MimeType, PayloadType: int(pt), ClockRate: vp8.ClockRate, RtcpFeedback: vp8.RtcpFeedback}},
		Encodings: []media.RtpEncodingParameters{{SSRC: peertest.OfferSSRC(t, b.offer)}},
		Rtcp:      media.RtcpParameters{CNAME: "browser"},
	}}))
	return b
}

// vp8Key is the start of a VP8 key frame.
var vp8Key = []byte{0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a, 1, 2, 3, 4}

// sendUntil makes the browser send VP8 key frames every few
// milliseconds until done holds, failing after the suite's timeout.
func (b *sendingBrowser) sendUntil(t *testing.T, what string, seq *uint16, done func() bool) {
	t.Helper()
	eventually(t, what, func() bool {
		*seq++
		_ = b.Track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: b.pt, SequenceNumber: *seq,
			Timestamp: uint32(*seq) * 3000, Marker: true}, Payload: vp8Key})
		time.Sleep(5 * time.Millisecond)
		return done()
	})
}

// testWebRtcTransport: a pion peer (a browser running mediasoup-client)
// sends VP8 over ICE, DTLS and SRTP through a producer on one
// WebRtcTransport and a consumer on another to a second peer; RTCP goes
// both ways (a PLI from the receiver reaches the sender); the states,
// events, stats and dumps follow; closing the sending transport closes
// the producer and its consumer.
func testWebRtcTransport(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r := newRouter(t, newWorker(t, api))
	sendTr, recvTr := webRtcTransport(t, r, false), webRtcTransport(t, r, false)
	if sendTr.IceRole() != "controlled" || sendTr.IceState() != "new" || sendTr.DtlsState() != "new" || !sendTr.IceParameters().IceLite {
		t.Fatalf("initial: role %q ice %q dtls %q params %+v", sendTr.IceRole(), sendTr.IceState(), sendTr.DtlsState(), sendTr.IceParameters())
	}
	if c := sendTr.IceCandidates(); len(c) != 1 || c[0].Address != "127.0.0.1" || c[0].Protocol != media.ProtocolUDP || c[0].Port == 0 {
		t.Fatalf("candidates %+v", c)
	}
	if d := sendTr.DtlsParameters(); d.Role != "auto" || len(d.Fingerprints) == 0 {
		t.Fatalf("dtlsParameters %+v", d)
	}
	sendLog, recvLog := watchWebRtc(sendTr), watchWebRtc(recvTr)
	a := connectSender(t, r, sendTr)
	caps := r.RtpCapabilities()
	cons := check[media.Consumer](t)(recvTr.Consume(ctx, &media.ConsumerOptions{ProducerID: a.producer.ID(), RtpCapabilities: &caps}))
	cp := cons.RtpParameters()
	b := peertest.NewBrowser(t, uint8(cp.Codecs[0].PayloadType), false)
	offerB, dtlsB := b.Offer(t)
	if err := recvTr.Connect(ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: dtlsB}); err != nil {
		t.Fatal(err)
	}
	b.Answer(t, offerB, recvTr, cp.Encodings[0].SSRC)

	var seq uint16
	var track *pion.TrackRemote
	a.sendUntil(t, "the receiving browser's track", &seq, func() bool {
		select {
		case track = <-b.Tracks:
			return true
		default:
			return false
		}
	})
	got := make(chan *rtp.Packet, 1)
	go func() {
		_ = track.SetReadDeadline(time.Now().Add(timeout))
		p, _, err := track.ReadRTP()
		if err != nil {
			p = nil
		}
		got <- p
	}()
	var pkt *rtp.Packet
	a.sendUntil(t, "RTP at the receiving browser", &seq, func() bool {
		select {
		case pkt = <-got:
			return true
		default:
			return false
		}
	})
	if pkt == nil || pkt.SSRC != cp.Encodings[0].SSRC || int(pkt.PayloadType) != cp.Codecs[0].PayloadType || !bytes.HasPrefix(pkt.Payload, vp8Key[:4]) {
		t.Fatalf("receiving browser got %v", pkt)
	}

	// A PLI from the receiving browser reaches the consumer, and the
	// producer asks the sending browser for a key frame.
	plis := make(chan struct{}, 1)
	ssrcA := peertest.OfferSSRC(t, a.offer)
	go func() {
		_ = a.Sender.SetReadDeadline(time.Now().Add(timeout))
		for {
			pkts, _, err := a.Sender.ReadRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				if pli, ok := p.(*rtcp.PictureLossIndication); ok && pli.MediaSSRC == ssrcA {
					plis <- struct{}{}
					return
				}
			}
		}
	}()
	pli := &rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: cp.Encodings[0].SSRC}
	eventually(t, "a PLI at the sending browser", func() bool {
		_ = b.PC.WriteRTCP([]rtcp.Packet{pli})
		time.Sleep(5 * time.Millisecond)
		return len(plis) > 0
	})
	eventually(t, "pliCount in the consumer's stats", func() bool {
		st, err := cons.GetStats(ctx)
		return err == nil && len(st) > 0 && st[0].PliCount > 0
	})

	for i, x := range []struct {
		tr  media.WebRtcTransport
		log *webRtcLog
	}{{sendTr, sendLog}, {recvTr, recvLog}} {
		eventually(t, "state events", func() bool {
			return x.log.has([]media.DtlsState{"connecting", "connected"}, nil)
		})
		eventually(t, "states", func() bool {
			return x.tr.DtlsState() == "connected" && x.tr.IceState() == "completed" && x.tr.IceSelectedTuple() != nil
		})
		tup := x.tr.IceSelectedTuple()
		if tup.LocalPort != x.tr.IceCandidates()[0].Port || tup.RemoteIP != "127.0.0.1" || tup.RemotePort == 0 || tup.Protocol != media.ProtocolUDP {
			t.Errorf("transport %d: selected tuple %+v", i, tup)
		}
		if x.tr.DtlsRemoteCert() == "" || x.tr.DtlsParameters().Role != "server" {
			t.Errorf("transport %d: dtlsRemoteCert %d bytes, role %q", i, len(x.tr.DtlsRemoteCert()), x.tr.DtlsParameters().Role)
		}
		st := check[[]media.TransportStats](t)(x.tr.GetStats(ctx))
		if len(st) != 1 || st[0].Type != "webrtc-transport" || st[0].IceState != "completed" || st[0].DtlsState != "connected" ||
			st[0].BytesReceived == 0 || st[0].IceSelectedTuple == nil || *st[0].IceSelectedTuple != *tup {
			t.Errorf("transport %d: stats %+v", i, st)
		}
		d := check[*media.TransportDump](t)(x.tr.Dump(ctx))
		if d.IceState != "completed" || d.DtlsState != "connected" || d.IceSelectedTuple == nil || d.DtlsRemoteCert != x.tr.DtlsRemoteCert() {
			t.Errorf("transport %d: dump %+v", i, d)
		}
	}
	if st := check[[]media.TransportStats](t)(recvTr.GetStats(ctx)); st[0].RtpBytesSent == 0 {
		t.Errorf("receiving transport stats %+v", st[0])
	}

	closed := newFlag()
	cons.OnProducerClose(closed.set)
	if err := sendTr.Close(ctx); err != nil {
		t.Fatal(err)
	}
	closed.wait(t, "producerclose after the sending transport closed")
	eventually(t, "producer closed", a.producer.Closed)
	eventually(t, "ice and dtls closed", func() bool {
		return sendTr.Closed() && sendTr.IceState() == "closed" && sendTr.DtlsState() == "closed" && sendTr.IceSelectedTuple() == nil
	})
}

// testWebRtcIceRestart: restartIce gives new ICE credentials; the peer
// restarts ICE with them, and media flows again (only checks with the new
// credentials can have reconnected it).
func testWebRtcIceRestart(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r := newRouter(t, newWorker(t, api))
	tr := webRtcTransport(t, r, false)
	a := connectSender(t, r, tr)
	dst := NewEndpoint(t)
	out := connectedPlain(t, r, dst)
	c := check[media.Consumer](t)(out.Consume(ctx, &media.ConsumerOptions{ProducerID: a.producer.ID(), RtpCapabilities: EndpointCaps()}))
	ssrc := c.RtpParameters().Encodings[0].SSRC
	var seq uint16
	a.sendUntil(t, "RTP before the restart", &seq, func() bool { return len(dst.RTP(ssrc)) > 0 })

	old := tr.IceParameters()
	p := check[media.IceParameters](t)(tr.RestartIce(ctx))
	if p.UsernameFragment == old.UsernameFragment || p.Password == old.Password || p.UsernameFragment == "" {
		t.Fatalf("restartIce gave %+v after %+v", p, old)
	}
	returned(t, "iceParameters updated", tr.IceParameters() == p)
	if d := check[*media.TransportDump](t)(tr.Dump(ctx)); d.IceParameters == nil || *d.IceParameters != p {
		t.Fatalf("dump iceParameters %+v, want %+v", d.IceParameters, p)
	}

	offer, err := a.PC.CreateOffer(&pion.OfferOptions{ICERestart: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.PC.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	var desc sdp.SessionDescription
	if err := desc.UnmarshalString(offer.SDP); err != nil {
		t.Fatal(err)
	}
	a.Answer(t, &desc, tr, 0)
	before := len(dst.RTP(ssrc))
	a.sendUntil(t, "RTP after the ICE restart", &seq, func() bool { return len(dst.RTP(ssrc)) > before+5 })
	if tr.IceState() != "completed" && tr.IceState() != "connected" {
		t.Fatalf("iceState %q after the restart", tr.IceState())
	}
}

// testWebRtcData: data channels over SCTP on WebRtcTransports. A peer's
// data channel (stream 3) feeds a data producer; a data consumer on
// another transport carries its messages to a second peer's channel, and
// a direct data consumer sees them too, with their PPID.
func testWebRtcData(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r := newRouter(t, newWorker(t, api))
	sendTr, recvTr := webRtcTransport(t, r, true), webRtcTransport(t, r, true)
	if p := sendTr.SctpParameters(); p == nil || p.Port != 5000 || p.OS != 1024 || p.MIS != 1024 || p.MaxMessageSize != 262144 {
		t.Fatalf("sctpParameters %+v", p)
	}
	if s := sendTr.SctpState(); s != media.SctpNew {
		t.Fatalf("sctpState %q", s)
	}
	sendLog := watchWebRtc(sendTr)

	a := peertest.NewBrowser(t, 0, false)
	dcA, openA, _ := a.DataChannel(t, "chat", 3)
	offerA, dtlsA := a.Offer(t)
	if err := sendTr.Connect(ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: dtlsA}); err != nil {
		t.Fatal(err)
	}
	a.Answer(t, offerA, sendTr, 0)
	ordered := true
	dp := check[media.DataProducer](t)(sendTr.ProduceData(ctx, &media.DataProducerOptions{Label: "chat", Protocol: "text",
		SctpStreamParameters: &media.SctpStreamParameters{StreamID: 3, Ordered: &ordered}}))
	if dp.Type() != media.DataSCTP || dp.SctpStreamParameters() == nil || dp.SctpStreamParameters().StreamID != 3 {
		t.Fatalf("data producer %s %+v", dp.Type(), dp.SctpStreamParameters())
	}
	_, err := sendTr.ProduceData(ctx, &media.DataProducerOptions{SctpStreamParameters: &media.SctpStreamParameters{StreamID: 3}})
	wantErr(t, "a second data producer on stream 3", err, media.ErrInvalidParams)

	dt := check[media.DirectTransport](t)(r.CreateDirectTransport(ctx, nil))
	direct := check[media.DataConsumer](t)(dt.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}))
	atServer := make(chan string, 64)
	direct.OnMessage(func(b []byte, ppid int) {
		select {
		case atServer <- fmt.Sprintf("%s/%d", b, ppid):
		default:
		}
	})

	dc := check[media.DataConsumer](t)(recvTr.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}))
	sp := dc.SctpStreamParameters()
	if dc.Type() != media.DataSCTP || sp == nil || !sp.IsOrdered() || dc.Label() != "chat" || dc.Protocol() != "text" {
		t.Fatalf("data consumer %s %+v %q %q", dc.Type(), sp, dc.Label(), dc.Protocol())
	}
	b := peertest.NewBrowser(t, 0, false)
	_, openB, msgsB := b.DataChannel(t, "chat", uint16(sp.StreamID))
	offerB, dtlsB := b.Offer(t)
	if err := recvTr.Connect(ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: dtlsB}); err != nil {
		t.Fatal(err)
	}
	b.Answer(t, offerB, recvTr, 0)
	for _, open := range []chan struct{}{openA, openB} {
		select {
		case <-open:
		case <-ctx.Done():
			t.Fatal("data channel not open")
		}
	}
	eventually(t, "SCTP connected", func() bool {
		return sendTr.SctpState() == media.SctpConnected && recvTr.SctpState() == media.SctpConnected
	})
	// Until the receiving association is up, messages may be dropped, as
	// in mediasoup: send until one arrives.
	var got string
	eventually(t, "a message at the receiving browser", func() bool {
		if err := dcA.SendText("hello"); err != nil {
			t.Fatal(err)
		}
		select {
		case got = <-msgsB:
			return true
		case <-time.After(20 * time.Millisecond):
			return false
		}
	})
	if got != "hello" {
		t.Fatalf("receiving browser got %q", got)
	}
	select {
	case m := <-atServer:
		if m != fmt.Sprintf("hello/%d", media.PPIDString) {
			t.Errorf("direct data consumer got %q", m)
		}
	case <-ctx.Done():
		t.Fatal("no message at the direct data consumer")
	}
	eventually(t, "sctpstatechange connecting, connected", func() bool {
		return sendLog.has(nil, []media.SctpState{media.SctpConnecting, media.SctpConnected})
	})
	eventually(t, "data producer stats", func() bool {
		st, err := dp.GetStats(ctx)
		return err == nil && len(st) == 1 && st[0].Type == "data-producer" && st[0].MessagesReceived > 0 && st[0].Label == "chat"
	})
	eventually(t, "data consumer stats", func() bool {
		st, err := dc.GetStats(ctx)
		return err == nil && len(st) == 1 && st[0].Type == "data-consumer" && st[0].MessagesSent > 0
	})
	if d := check[*media.DataConsumerDump](t)(dc.Dump(ctx)); d.SctpStreamParameters == nil || d.Type != media.DataSCTP || d.DataProducerID != dp.ID() {
		t.Errorf("data consumer dump %+v", d)
	}
	if d := check[*media.TransportDump](t)(recvTr.Dump(ctx)); d.SctpState != media.SctpConnected || d.SctpParameters == nil ||
		!slices.Equal(d.DataConsumerIDs, []string{dc.ID()}) {
		t.Errorf("transport dump sctpState %q dataConsumerIds %v", d.SctpState, d.DataConsumerIDs)
	}
	if err := recvTr.Close(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "sctpState closed", func() bool { return recvTr.Closed() && recvTr.SctpState() == media.SctpClosed })
}

// testWebRtcServerMedia: a WebRtcTransport on a WebRtcServer takes a
// peer's ICE, DTLS and SRTP on the server's shared socket; its RTP
// reaches a consumer, and the server's dump maps the peer's tuple to the
// transport.
func testWebRtcServerMedia(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	w := newWorker(t, api)
	s := newWebRtcServer(t, w, nil)
	r := newRouter(t, w)
	tr := check[media.WebRtcTransport](t)(r.CreateWebRtcTransport(ctx, &media.WebRtcTransportOptions{WebRtcServer: s}))
	a := connectSender(t, r, tr)
	dst := NewEndpoint(t)
	c := check[media.Consumer](t)(connectedPlain(t, r, dst).Consume(ctx, &media.ConsumerOptions{ProducerID: a.producer.ID(), RtpCapabilities: EndpointCaps()}))
	var seq uint16
	a.sendUntil(t, "the peer's RTP through the server's socket", &seq, func() bool { return len(dst.RTP(c.RtpParameters().Encodings[0].SSRC)) > 0 })
	eventually(t, "selected tuple", func() bool { return tr.IceSelectedTuple() != nil })
	sd := check[*media.WebRtcServerDump](t)(s.Dump(ctx))
	tup := tr.IceSelectedTuple()
	if tup.LocalPort != sd.UDPSockets[0].Port || len(sd.TupleHashes) == 0 || sd.TupleHashes[0].WebRtcTransportID != tr.ID() {
		t.Fatalf("server dump %+v, transport %s on %+v", sd, tr.ID(), tup)
	}
}

// testWebRtcTCP: a WebRtcTransport listening on TCP only offers one
// passive TCP candidate; a peer connects over ICE-TCP and its RTP flows.
func testWebRtcTCP(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r := newRouter(t, newWorker(t, api))
	tr := check[media.WebRtcTransport](t)(r.CreateWebRtcTransport(ctx, &media.WebRtcTransportOptions{
		ListenInfos: []media.TransportListenInfo{{Protocol: media.ProtocolTCP, IP: "127.0.0.1"}}}))
	if c := tr.IceCandidates(); len(c) != 1 || c[0].Protocol != media.ProtocolTCP || c[0].TCPType != "passive" || c[0].Port == 0 {
		t.Fatalf("candidates %+v", c)
	}
	a := connectBrowser(t, r, tr, peertest.NewTCPBrowser)
	dst := NewEndpoint(t)
	c := check[media.Consumer](t)(connectedPlain(t, r, dst).Consume(ctx, &media.ConsumerOptions{ProducerID: a.producer.ID(), RtpCapabilities: EndpointCaps()}))
	var seq uint16
	a.sendUntil(t, "the peer's RTP over TCP", &seq, func() bool { return len(dst.RTP(c.RtpParameters().Encodings[0].SSRC)) > 0 })
	eventually(t, "a TCP selected tuple", func() bool {
		tup := tr.IceSelectedTuple()
		return tup != nil && tup.Protocol == media.ProtocolTCP && tup.LocalPort == tr.IceCandidates()[0].Port
	})
}

// testWebRtcDataPiped: a peer's data channel on a router of one worker
// reaches a peer on another worker's router through pipeToRouter of its
// data producer, as a room spanning workers carries its chat.
func testWebRtcDataPiped(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r1, r2 := newRouter(t, newWorker(t, api)), newRouter(t, newWorker(t, api))
	sendTr, recvTr := webRtcTransport(t, r1, true), webRtcTransport(t, r2, true)
	a := peertest.NewBrowser(t, 0, false)
	dcA, openA, _ := a.DataChannel(t, "chat", 1)
	offerA, dtlsA := a.Offer(t)
	if err := sendTr.Connect(ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: dtlsA}); err != nil {
		t.Fatal(err)
	}
	a.Answer(t, offerA, sendTr, 0)
	dp := check[media.DataProducer](t)(sendTr.ProduceData(ctx, &media.DataProducerOptions{Label: "chat",
		SctpStreamParameters: &media.SctpStreamParameters{StreamID: 1}}))
	check[*media.PipeToRouterResult](t)(r1.PipeToRouter(ctx, &media.PipeToRouterOptions{DataProducerID: dp.ID(), Router: r2}))
	dc := check[media.DataConsumer](t)(recvTr.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}))
	if dc.Label() != "chat" || dc.SctpStreamParameters() == nil {
		t.Fatalf("piped data consumer label %q sctpStreamParameters %+v", dc.Label(), dc.SctpStreamParameters())
	}
	b := peertest.NewBrowser(t, 0, false)
	_, openB, msgsB := b.DataChannel(t, "chat", uint16(dc.SctpStreamParameters().StreamID))
	offerB, dtlsB := b.Offer(t)
	if err := recvTr.Connect(ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: dtlsB}); err != nil {
		t.Fatal(err)
	}
	b.Answer(t, offerB, recvTr, 0)
	for _, open := range []chan struct{}{openA, openB} {
		select {
		case <-open:
		case <-ctx.Done():
			t.Fatal("data channel not open")
		}
	}
	var got string
	eventually(t, "a message at the peer on the other worker", func() bool {
		if err := dcA.SendText("across"); err != nil {
			t.Fatal(err)
		}
		select {
		case got = <-msgsB:
			return true
		case <-time.After(20 * time.Millisecond):
			return false
		}
	})
	if got != "across" {
		t.Fatalf("got %q", got)
	}
	closed := newFlag()
	dc.OnDataProducerClose(closed.set)
	if err := sendTr.Close(ctx); err != nil {
		t.Fatal(err)
	}
	closed.wait(t, "dataproducerclose through the pipe when the sending transport closed")
}
