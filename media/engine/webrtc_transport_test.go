package engine_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/ropehq/rope/internal/peertest"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
)

// certFingerprint is the sha-256 fingerprint of a PEM certificate, as in
// SDP ("AB:CD:...").
func certFingerprint(t *testing.T, certPEM string) string {
	t.Helper()
	block, _ := pem.Decode([]byte(certPEM))
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("dtlsRemoteCert %q is no PEM certificate", certPEM)
	}
	sum := sha256.Sum256(block.Bytes)
	hexes := make([]string, len(sum))
	for i, b := range sum {
		hexes[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(hexes, ":")
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
	if d.ID != tr.ID() || d.SctpState != media.SctpNew || d.SctpParameters == nil || d.Tuple != nil ||
		d.IceRole != "controlled" || d.IceParameters == nil || *d.IceParameters != p2 || len(d.IceCandidates) != 2 ||
		d.IceState != "new" || d.IceSelectedTuple != nil || d.DtlsParameters == nil || d.DtlsParameters.Role != "client" ||
		d.DtlsState != "new" || d.DtlsRemoteCert != "" {
		t.Errorf("dump %+v", d)
	}
	st := must[[]media.TransportStats](t)(tr.GetStats(ctx))
	if len(st) != 1 || st[0].Type != "webrtc-transport" || st[0].TransportID != tr.ID() || st[0].SctpState != media.SctpNew ||
		st[0].IceRole != "controlled" || st[0].IceState != "new" || st[0].DtlsState != "new" || st[0].IceSelectedTuple != nil {
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
	sendTr, _, prod, cons := forwardThrough(t, f, peertest.NewBrowser, func() media.WebRtcTransport { return f.webRtc(nil) })

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
// receiving browser (both made by newBrowser), with RTCP both ways, and
// checks the transports' states, stats and events.
func forwardThrough(t *testing.T, f *fixture, newBrowser func(testing.TB, uint8, bool) *peertest.Browser,
	newTr func() media.WebRtcTransport) (sendTr, recvTr media.WebRtcTransport, prod media.Producer, cons media.Consumer) {
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
	offerA, dtlsA := a.Offer(t)
	mustOK(t, sendTr.Connect(ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: dtlsA}))
	a.Answer(t, offerA, sendTr, 0)
	mid, _ := offerA.MediaDescriptions[0].Attribute("mid")
	prod = must[media.Producer](t)(sendTr.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: media.RtpParameters{
		Mid:       mid,
		Codecs:    []media.RtpCodecParameters{{MimeType: vp8.MimeType, PayloadType: int(pt), ClockRate: vp8.ClockRate, RtcpFeedback: vp8.RtcpFeedback}},
		Encodings: []media.RtpEncodingParameters{{SSRC: peertest.OfferSSRC(t, offerA)}},
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
	offerB, dtlsB := b.Offer(t)
	mustOK(t, recvTr.Connect(ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: dtlsB}))
	b.Answer(t, offerB, recvTr, cp.Encodings[0].SSRC)

	wait.Until(t, "both transports connected", func() bool {
		return sendTr.DtlsState() == "connected" && recvTr.DtlsState() == "connected"
	})

	// The sending browser sends VP8 key frames until the receiving one
	// has the track.
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		payload := []byte{0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a, 1, 2, 3, 4}
		for seq := uint16(1); ; seq++ {
			_ = a.Track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq,
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
	case track := <-b.Tracks:
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
	ssrcA := peertest.OfferSSRC(t, offerA)
	go func() {
		_ = a.Sender.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			pkts, _, err := a.Sender.ReadRTCP()
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
	wait.Until(t, "PLI at the consumer", func() bool {
		mustOK(t, b.PC.WriteRTCP([]rtcp.Packet{pli}))
		st := must[[]media.RtpStreamStats](t)(cons.GetStats(ctx))
		return st[0].PliCount > 0
	})
	if !<-pliAtSender {
		t.Error("no PLI at the sending browser")
	}

	for i, tr := range []media.WebRtcTransport{sendTr, recvTr} {
		if tr.IceState() != "completed" || tr.IceSelectedTuple() == nil || tr.IceSelectedTuple().RemotePort == 0 {
			t.Errorf("ice %q tuple %v", tr.IceState(), tr.IceSelectedTuple())
		}
		st := must[[]media.TransportStats](t)(tr.GetStats(ctx))
		if st[0].BytesReceived == 0 && st[0].BytesSent == 0 || st[0].IceState != "completed" || st[0].DtlsState != "connected" ||
			st[0].IceSelectedTuple == nil || *st[0].IceSelectedTuple != *tr.IceSelectedTuple() {
			t.Errorf("stats %+v", st[0])
		}
		d := must[*media.TransportDump](t)(tr.Dump(ctx))
		if d.IceState != "completed" || d.DtlsState != "connected" || d.IceSelectedTuple == nil || d.DtlsRemoteCert != tr.DtlsRemoteCert() {
			t.Errorf("dump %+v", d)
		}
		// dtlsRemoteCert is the browser's certificate: the one whose
		// fingerprint it sent in connect().
		want := []*media.DtlsParameters{dtlsA, dtlsB}[i].Fingerprints[0]
		if got := certFingerprint(t, tr.DtlsRemoteCert()); !strings.EqualFold(got, want.Value) {
			t.Errorf("dtlsRemoteCert fingerprint %s, browser's %s %s", got, want.Algorithm, want.Value)
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

	a := peertest.NewBrowser(t, 0, false)
	dcA, openA, _ := a.DataChannel(t, "chat", 3)
	offerA, dtlsA := a.Offer(t)
	mustOK(t, sendTr.Connect(ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: dtlsA}))
	a.Answer(t, offerA, sendTr, 0)
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

	b := peertest.NewBrowser(t, 0, false)
	_, openB, msgsB := b.DataChannel(t, "chat", uint16(sp.StreamID))
	offerB, dtlsB := b.Offer(t)
	mustOK(t, recvTr.Connect(ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: dtlsB}))
	b.Answer(t, offerB, recvTr, 0)

	for _, open := range []chan struct{}{openA, openB} {
		select {
		case <-open:
		case <-time.After(5 * time.Second):
			t.Fatal("data channel not open")
		}
	}
	wait.Until(t, "SCTP connected", func() bool {
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

// TestWebRtcTransportSctpStreamsBeyondMIS: numSctpStreams reaches the
// SCTP layer: sctpParameters announce it, and a stream the browser opens
// with an id of MIS or more is reset (its data channel closes) while one
// below MIS carries messages.
func TestWebRtcTransportSctpStreamsBeyondMIS(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := f.ctx
	tr := f.webRtc(&media.WebRtcTransportOptions{ListenInfos: []media.TransportListenInfo{{IP: lo}}, EnableSctp: true,
		NumSctpStreams: &media.NumSctpStreams{OS: 16, MIS: 4}})
	if p := tr.SctpParameters(); p == nil || p.OS != 16 || p.MIS != 4 {
		t.Fatalf("sctpParameters %+v", p)
	}
	if _, err := tr.ProduceData(ctx, &media.DataProducerOptions{SctpStreamParameters: &media.SctpStreamParameters{StreamID: 4}}); !isErr(err, media.ErrInvalidParams) {
		t.Errorf("data producer on stream 4 with MIS 4: %v", err)
	}
	dp := must[media.DataProducer](t)(tr.ProduceData(ctx, &media.DataProducerOptions{SctpStreamParameters: &media.SctpStreamParameters{StreamID: 2}}))
	dt := must[media.DirectTransport](t)(f.router.CreateDirectTransport(ctx, nil))
	atServer := make(chan string, 64)
	must[media.DataConsumer](t)(dt.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()})).
		OnMessage(func(b []byte, _ int) { atServer <- string(b) })

	a := peertest.NewBrowser(t, 0, false)
	ok, okOpen, _ := a.DataChannel(t, "ok", 2)
	beyond, beyondOpen, _ := a.DataChannel(t, "beyond", 9)
	beyondClosed := make(chan struct{})
	beyond.OnClose(func() { close(beyondClosed) })
	offer, dtls := a.Offer(t)
	mustOK(t, tr.Connect(ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: dtls}))
	a.Answer(t, offer, tr, 0)
	for _, open := range []chan struct{}{okOpen, beyondOpen} {
		select {
		case <-open:
		case <-time.After(5 * time.Second):
			t.Fatal("data channel not open")
		}
	}
	deadline := time.After(5 * time.Second)
	for done := false; !done; {
		_ = beyond.SendText("x")
		select {
		case <-beyondClosed:
			done = true
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatal("stream 9 not reset with MIS 4")
		}
	}
	for got := ""; got != "fine"; {
		mustOK(t, ok.SendText("fine"))
		select {
		case got = <-atServer:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatal("no message on stream 2")
		}
	}
}
