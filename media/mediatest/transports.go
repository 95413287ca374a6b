package mediatest

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/ropehq/rope/media"
)

// testTCPPlain: plain and pipe transports are UDP only, as mediasoup's:
// a "tcp" listen info is a TypeError, and nothing is left behind.
func testTCPPlain(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r := newRouter(t, newWorker(t, api))
	tcp := &media.TransportListenInfo{Protocol: media.ProtocolTCP, IP: "127.0.0.1"}
	_, err := r.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: tcp})
	wantErr(t, "plain transport over tcp", err, media.ErrInvalidParams)
	_, err = r.CreatePipeTransport(ctx, &media.PipeTransportOptions{ListenInfo: tcp})
	wantErr(t, "pipe transport over tcp", err, media.ErrInvalidParams)
	if d := check[*media.RouterDump](t)(r.Dump(ctx)); len(d.TransportIDs) != 0 {
		t.Fatalf("refused transports in the router: %v", d.TransportIDs)
	}
}

// testListenInfo: announcedAddress, else the deprecated announcedIp, is
// the tuple's local address; a portRange wins over port; udpReusePort
// lets two transports share a port; a plain transport on ::1 forwards
// (skipped where IPv6 is missing).
func testListenInfo(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r := newRouter(t, newWorker(t, api))
	plain := func(li *media.TransportListenInfo) media.PlainTransport {
		t.Helper()
		return check[media.PlainTransport](t)(r.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: li}))
	}
	if a := plain(&media.TransportListenInfo{IP: "127.0.0.1", AnnouncedIP: "198.51.100.7"}).Tuple().LocalAddress; a != "198.51.100.7" {
		t.Errorf("announcedIp: local address %q", a)
	}
	if a := plain(&media.TransportListenInfo{IP: "127.0.0.1", AnnouncedIP: "198.51.100.7", AnnouncedAddress: "media.example.com"}).Tuple().LocalAddress; a != "media.example.com" {
		t.Errorf("announcedAddress: local address %q", a)
	}
	reuse := &media.TransportSocketFlags{UDPReusePort: true}
	first := plain(&media.TransportListenInfo{IP: "127.0.0.1", Flags: reuse})
	port := first.Tuple().LocalPort
	if p := plain(&media.TransportListenInfo{IP: "127.0.0.1", Port: port, Flags: reuse}).Tuple().LocalPort; p != port {
		t.Errorf("udpReusePort: second transport on %d, want %d", p, port)
	}
	// port is ignored when a range is given: the range holds only the
	// port the first transport took (shared with udpReusePort).
	if p := plain(&media.TransportListenInfo{IP: "127.0.0.1", Port: 1, PortRange: &media.PortRange{Min: port, Max: port}, Flags: reuse}).Tuple().LocalPort; p != port {
		t.Errorf("portRange %d-%d with port 1: port %d", port, port, p)
	}
	testIPv6(t, r)
}

// testIPv6 forwards from a producer on ::1 to a consumer on 127.0.0.1.
func testIPv6(t *testing.T, r media.Router) {
	c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("IPv6 loopback (::1) unavailable on this machine: %v", err)
	}
	defer c.Close()
	ctx := ctxFor(t)
	in := check[media.PlainTransport](t)(r.CreatePlainTransport(ctx, &media.PlainTransportOptions{
		ListenInfo: &media.TransportListenInfo{IP: "::1"}, Comedia: true}))
	if tup := in.Tuple(); tup.LocalAddress != "::1" {
		t.Fatalf("tuple %+v", tup)
	}
	dst := NewEndpoint(t)
	out := connectedPlain(t, r, dst)
	p := check[media.Producer](t)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: VP8Parameters(4444)}))
	cons := check[media.Consumer](t)(out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: EndpointCaps()}))
	ssrc := cons.RtpParameters().Encodings[0].SSRC
	s := &VP8Sender{SSRC: 4444, PT: 101}
	to := &net.UDPAddr{IP: net.IPv6loopback, Port: int(in.Tuple().LocalPort)}
	eventually(t, "RTP from ::1 forwarded", func() bool {
		if _, err := c.WriteToUDP(s.Next(t, true, 100), to); err != nil {
			t.Fatal(err)
		}
		return len(dst.RTP(ssrc)) > 0
	})
	// The learned tuple comes with the "tuple" event, which a remote
	// worker may deliver after the forwarded RTP.
	eventually(t, "the learned tuple ::1", func() bool { return in.Tuple().RemoteIP == "::1" })
}

// audioLevels sends opus packets with an ssrc-audio-level extension.
type audioLevels struct {
	ssrc uint32
	seq  uint16
	ts   uint32
}

func (a *audioLevels) next(t *testing.T, level byte) []byte {
	t.Helper()
	p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: a.seq, Timestamp: a.ts, SSRC: a.ssrc},
		Payload: []byte{0xf8, 0xff, 0xfe}}
	if err := p.SetExtension(1, []byte{0x80 | level}); err != nil {
		t.Fatal(err)
	}
	a.seq++
	a.ts += 960
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func opusParameters(ssrc uint32) media.RtpParameters {
	return media.RtpParameters{
		Codecs:           []media.RtpCodecParameters{{MimeType: "audio/opus", PayloadType: 111, ClockRate: 48000, Channels: 2}},
		HeaderExtensions: []media.RtpHeaderExtensionParameters{{URI: media.ExtAudioLevel, ID: 1}},
		Encodings:        []media.RtpEncodingParameters{{SSRC: ssrc}},
		Rtcp:             media.RtcpParameters{CNAME: "mediatest"},
	}
}

// testActiveSpeaker: with mediasoup's dominant speaker identification,
// sustained speech over a background is elected; removing the dominant
// producer elects the other at once.
func testActiveSpeaker(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r := newRouter(t, newWorker(t, api))
	e := NewEndpoint(t)
	tr := connectedPlain(t, r, e)
	quiet := check[media.Producer](t)(tr.Produce(ctx, &media.ProducerOptions{Kind: media.KindAudio, RtpParameters: opusParameters(5001)}))
	loud := check[media.Producer](t)(tr.Produce(ctx, &media.ProducerOptions{Kind: media.KindAudio, RtpParameters: opusParameters(5002)}))
	obs := check[media.ActiveSpeakerObserver](t)(r.CreateActiveSpeakerObserver(ctx, &media.ActiveSpeakerObserverOptions{Interval: 100}))
	dominant := make(chan media.Producer, 256)
	obs.OnDominantSpeaker(func(p media.Producer) {
		select {
		case dominant <- p:
		default:
		}
	})
	for _, p := range []media.Producer{quiet, loud} {
		if err := obs.AddProducer(ctx, media.RtpObserverAddRemoveProducerOptions{ProducerID: p.ID()}); err != nil {
			t.Fatal(err)
		}
	}
	// Background noise (level 100) sets both noise floors; then loud
	// speaks (level 10, a pause every tenth packet), a packet each per
	// 20 ms, until it is elected.
	qs, ls := &audioLevels{ssrc: 5001}, &audioLevels{ssrc: 5002}
	for range 5 {
		e.Send(tr.Tuple(), qs.next(t, 100))
		e.Send(tr.Tuple(), ls.next(t, 100))
	}
	deadline := time.Now().Add(4 * timeout)
	for i := 0; !receivedFrom(dominant, loud); i++ {
		if time.Now().After(deadline) {
			t.Fatal("the sustained speaker was not elected")
		}
		level := byte(10)
		if i%10 == 9 {
			level = 100
		}
		e.Send(tr.Tuple(), qs.next(t, 100))
		e.Send(tr.Tuple(), ls.next(t, level))
		time.Sleep(20 * time.Millisecond) // packet pacing, not a wait
	}
	if err := obs.RemoveProducer(ctx, media.RtpObserverAddRemoveProducerOptions{ProducerID: loud.ID()}); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-dominant:
		if p.ID() != quiet.ID() {
			t.Fatalf("after removing the dominant speaker: %s elected, want %s", p.ID(), quiet.ID())
		}
	case <-time.After(timeout):
		t.Fatal("no election after the dominant speaker was removed")
	}
}

// receivedFrom drains ch and reports whether p was among what it held.
func receivedFrom(ch chan media.Producer, p media.Producer) bool {
	for {
		select {
		case x := <-ch:
			if x.ID() == p.ID() {
				return true
			}
		default:
			return false
		}
	}
}

// testWorkerSettings: mediasoup's worker settings are accepted
// (libwebrtcFieldTrials and disableLiburing too), logLevel is checked at
// creation and in updateSettings.
func testWorkerSettings(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	w := check[media.Worker](t)(api.CreateWorker(ctx, &media.WorkerSettings{LogLevel: media.LogLevelDebug,
		LogTags: []string{"info", "rtp"}, LibwebrtcFieldTrials: "WebRTC-Bwe-AlrLimitedBackoff/Enabled/", DisableLiburing: true}))
	t.Cleanup(func() { w.Close(ctxFor(t)) })
	newRouter(t, w)
	if err := w.UpdateSettings(ctx, &media.WorkerUpdateableSettings{LogLevel: media.LogLevelWarn, LogTags: []string{"ice"}}); err != nil {
		t.Fatal(err)
	}
	err := w.UpdateSettings(ctx, &media.WorkerUpdateableSettings{LogLevel: "verbose"})
	wantErr(t, "updateSettings with logLevel verbose", err, media.ErrInvalidParams)
	_, err = api.CreateWorker(ctx, &media.WorkerSettings{LogLevel: "verbose"})
	wantErr(t, "createWorker with logLevel verbose", err, media.ErrInvalidParams)
}

// testNewWorkerVersion: the API's observer "newworker" fires with the
// created worker, and its version is mediasoup's followed with ours.
func testNewWorkerVersion(t *testing.T, api media.API) {
	v, ok := api.(media.Versioned)
	if !ok {
		t.Skipf("%T does not tell its version (media.Versioned)", api)
	}
	if got := v.Version(); !strings.HasPrefix(got, media.MediasoupVersion+"+rope.") {
		t.Errorf("version %q, want %s+rope.<ours>", got, media.MediasoupVersion)
	}
	n, ok := api.(media.NewWorkerNotifier)
	if !ok {
		t.Skipf("%T does not announce new workers (media.NewWorkerNotifier)", api)
	}
	got := make(chan media.Worker, 8)
	off := n.OnNewWorker(func(w media.Worker) { got <- w })
	w := newWorker(t, api)
	select {
	case x := <-got:
		if x != w {
			t.Fatalf("newworker gave %v, want the created worker %v", x, w)
		}
	case <-time.After(timeout):
		t.Fatal("no newworker")
	}
	off()
	newWorker(t, api)
	if len(got) != 0 {
		t.Fatal("newworker after off")
	}
}
