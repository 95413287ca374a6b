package mafalda_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/ropehq/rope/internal/peertest"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/mediatest"
)

// freePorts returns a UDP port P of 127.0.0.1 such that P and P+1 can be
// bound now.
func freePorts(t *testing.T) uint16 {
	t.Helper()
	for range 100 {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		p := c.LocalAddr().(*net.UDPAddr).Port
		_ = c.Close()
		if p+1 <= 65535 && canBind(p) && canBind(p+1) {
			return uint16(p)
		}
	}
	t.Fatal("no two consecutive free UDP ports")
	return 0
}

func canBind(port int) bool {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// TestWebRtcServerPerWorker: a room with WebRtcServerOptions on port P
// spread over two workers (one consumer per worker) gets one WebRtcServer
// per worker, on P and P+1. Browsers connect through each; RTP from a
// producer on worker 0 reaches a consumer there and, through the
// on-demand pipe, one on worker 1. Closing the room closes the workers
// and their servers, which free their ports.
func TestWebRtcServerPerWorker(t *testing.T) {
	ctx := ctxFor(t)
	port := freePorts(t)
	m := newMafalda(t, &mafalda.Options{CPUs: 2, LoadFunc: zeroLoad, MaxConsumersPerWorker: 1})
	mr := must[*mafalda.MafaldaRouter](t)(m.CreateMafaldaRouter(ctx, &mafalda.MafaldaRouterOptions{
		RouterOptions: media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()},
		WebRtcServerOptions: &media.WebRtcServerOptions{
			ListenInfos: []media.TransportListenInfo{{Protocol: media.ProtocolUDP, IP: "127.0.0.1", Port: port}}},
	}))
	caps := mr.RtpCapabilities()
	var pt uint8
	for _, c := range caps.Codecs {
		if strings.EqualFold(c.MimeType, "video/VP8") {
			pt = uint8(*c.PreferredPayloadType)
		}
	}

	// The sending browser, on worker 0.
	sendTr := must[media.WebRtcTransport](t)(mr.CreateWebRtcTransport(ctx, nil))
	a := peertest.NewBrowser(t, pt, true)
	offerA, dtlsA := a.Offer(t)
	if err := sendTr.Connect(ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: dtlsA}); err != nil {
		t.Fatal(err)
	}
	a.Answer(t, offerA, sendTr, 0)
	mid, _ := offerA.MediaDescriptions[0].Attribute("mid")
	prod := must[media.Producer](t)(sendTr.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: media.RtpParameters{
		Mid:       mid,
		Codecs:    []media.RtpCodecParameters{{MimeType: "video/VP8", PayloadType: int(pt), ClockRate: 90000}},
		Encodings: []media.RtpEncodingParameters{{SSRC: peertest.OfferSSRC(t, offerA)}},
		Rtcp:      media.RtcpParameters{CNAME: "browser-a"},
	}}))

	// Two receiving browsers: the first fills worker 0, the second lands
	// on worker 1.
	type receiver struct {
		tr   media.WebRtcTransport
		cons media.Consumer
		b    *peertest.Browser
	}
	recv := make([]receiver, 2)
	for i := range recv {
		r := &recv[i]
		r.tr = must[media.WebRtcTransport](t)(mr.CreateWebRtcTransport(ctx, &media.WebRtcTransportOptions{}))
		r.cons = must[media.Consumer](t)(r.tr.Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: &caps}))
		cp := r.cons.RtpParameters()
		r.b = peertest.NewBrowser(t, uint8(cp.Codecs[0].PayloadType), false)
		offer, dtls := r.b.Offer(t)
		if err := r.tr.Connect(ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: dtls}); err != nil {
			t.Fatal(err)
		}
		r.b.Answer(t, offer, r.tr, cp.Encodings[0].SSRC)
	}
	if n := len(m.Workers()); n != 2 {
		t.Fatalf("%d workers, want 2", n)
	}
	home := routerOf(t, mr, sendTr.ID())
	if routerOf(t, mr, recv[0].tr.ID()) != home || routerOf(t, mr, recv[1].tr.ID()) == home {
		t.Fatalf("placement: sender on %s, receivers on %s and %s", home,
			routerOf(t, mr, recv[0].tr.ID()), routerOf(t, mr, recv[1].tr.ID()))
	}
	for i, want := range []struct {
		tr   media.WebRtcTransport
		port uint16
	}{{sendTr, port}, {recv[0].tr, port}, {recv[1].tr, port + 1}} {
		if c := want.tr.IceCandidates(); len(c) != 1 || c[0].Port != want.port || c[0].Address != "127.0.0.1" {
			t.Errorf("transport %d: candidates %+v, want 127.0.0.1:%d", i, c, want.port)
		}
	}
	wait.Until(t, "three transports connected", func() bool {
		return sendTr.DtlsState() == "connected" && recv[0].tr.DtlsState() == "connected" && recv[1].tr.DtlsState() == "connected"
	})

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
	for i, r := range recv {
		select {
		case track := <-r.b.Tracks:
			if err := track.SetReadDeadline(time.Now().Add(timeout)); err != nil {
				t.Fatal(err)
			}
			pkt, _, err := track.ReadRTP()
			if err != nil {
				t.Fatalf("receiver %d: %v", i, err)
			}
			if pkt.SSRC != r.cons.RtpParameters().Encodings[0].SSRC || !bytes.HasPrefix(pkt.Payload, []byte{0x10, 0x00, 0x00, 0x9d}) {
				t.Fatalf("receiver %d got %v", i, pkt)
			}
		case <-time.After(timeout):
			t.Fatalf("receiver %d got no track", i)
		}
	}
	close(stop)
	<-done
	if d := mr.DumpState(); len(d.Pipes) != 1 {
		t.Fatalf("pipes %+v, want the producer's into worker 1", d.Pipes)
	}

	if err := mr.Close(ctx); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, "workers closed", func() bool { return len(m.Workers()) == 0 })
	wait.Until(t, fmt.Sprintf("ports %d and %d free", port, port+1), func() bool {
		return canBind(int(port)) && canBind(int(port)+1)
	})
}

// TestWebRtcServerOptionsJSON: the option travels as
// "webRtcServerOptions", as createMafaldaRouter's options do.
func TestWebRtcServerOptionsJSON(t *testing.T) {
	in := mafalda.MafaldaRouterOptions{WebRtcServerOptions: &media.WebRtcServerOptions{
		ListenInfos: []media.TransportListenInfo{{Protocol: media.ProtocolUDP, IP: "127.0.0.1", Port: 40000}}}}
	b := must[[]byte](t)(json.Marshal(in))
	if !bytes.Contains(b, []byte(`"webRtcServerOptions":{"listenInfos":[{"protocol":"udp","ip":"127.0.0.1","port":40000}]}`)) {
		t.Fatalf("json %s", b)
	}
	var out mafalda.MafaldaRouterOptions
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.WebRtcServerOptions == nil || out.WebRtcServerOptions.ListenInfos[0].Port != 40000 {
		t.Fatalf("decoded %+v", out.WebRtcServerOptions)
	}
}

// TestWebRtcServerShared: two rooms with the same worker settings and
// WebRtcServerOptions share one worker and its one WebRtcServer; a
// transport given its own listen infos keeps them, one given another
// worker's WebRtcServer fails; once both rooms have
// closed, the slot is free and a new room's worker listens on P again.
func TestWebRtcServerShared(t *testing.T) {
	ctx := ctxFor(t)
	port := freePorts(t)
	m := newMafalda(t, &mafalda.Options{CPUs: 1, LoadFunc: zeroLoad})
	opts := func() *mafalda.MafaldaRouterOptions {
		return &mafalda.MafaldaRouterOptions{
			RouterOptions: media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()},
			WebRtcServerOptions: &media.WebRtcServerOptions{
				ListenInfos: []media.TransportListenInfo{{Protocol: media.ProtocolUDP, IP: "127.0.0.1", Port: port}}},
		}
	}
	candidatePort := func(tr media.WebRtcTransport) uint16 {
		t.Helper()
		c := tr.IceCandidates()
		if len(c) != 1 {
			t.Fatalf("candidates %+v", c)
		}
		return c[0].Port
	}
	rooms := []*mafalda.MafaldaRouter{
		must[*mafalda.MafaldaRouter](t)(m.CreateMafaldaRouter(ctx, opts())),
		must[*mafalda.MafaldaRouter](t)(m.CreateMafaldaRouter(ctx, opts())),
	}
	for i, mr := range rooms {
		if p := candidatePort(must[media.WebRtcTransport](t)(mr.CreateWebRtcTransport(ctx, nil))); p != port {
			t.Fatalf("room %d: candidate port %d, want %d", i, p, port)
		}
	}
	own := must[media.WebRtcTransport](t)(rooms[0].CreateWebRtcTransport(ctx, &media.WebRtcTransportOptions{
		ListenInfos: []media.TransportListenInfo{*listenInfo()}}))
	if p := candidatePort(own); p == port || p == port+1 {
		t.Fatalf("transport with its own listen infos on the server's port %d", p)
	}
	// A server of another worker is refused by the chosen worker's router.
	other := must[media.Worker](t)(engine.New(nil).CreateWorker(ctx, nil))
	t.Cleanup(func() { _ = other.Close(context.Background()) })
	foreign := must[media.WebRtcServer](t)(other.CreateWebRtcServer(ctx, &media.WebRtcServerOptions{
		ListenInfos: []media.TransportListenInfo{*listenInfo()}}))
	if _, err := rooms[0].CreateWebRtcTransport(ctx, &media.WebRtcTransportOptions{WebRtcServer: foreign}); !errors.Is(err, media.ErrInvalidParams) {
		t.Fatalf("foreign server: err %v, want ErrInvalidParams", err)
	}
	workers := m.Workers()
	if len(workers) != 1 {
		t.Fatalf("%d workers, want 1", len(workers))
	}
	if d := must[*media.WorkerDump](t)(workers[0].Dump(ctx)); len(d.WebRtcServerIDs) != 1 {
		t.Fatalf("webRtcServerIds %v, want one server", d.WebRtcServerIDs)
	}

	for _, mr := range rooms {
		if err := mr.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	wait.Until(t, "worker closed", func() bool { return len(m.Workers()) == 0 })
	mr := must[*mafalda.MafaldaRouter](t)(m.CreateMafaldaRouter(ctx, opts()))
	if p := candidatePort(must[media.WebRtcTransport](t)(mr.CreateWebRtcTransport(ctx, nil))); p != port {
		t.Fatalf("new worker: candidate port %d, want slot 0's %d", p, port)
	}
}

// TestWebRtcServerOverMafalda: over another Mafalda's API, whose worker
// views create no WebRtcServer, a room with WebRtcServerOptions gets
// ErrUnsupported from CreateWebRtcTransport.
func TestWebRtcServerOverMafalda(t *testing.T) {
	ctx := ctxFor(t)
	inner := newMafalda(t, &mafalda.Options{CPUs: 1, LoadFunc: zeroLoad})
	outer := mafalda.New(inner.API(), &mafalda.Options{CPUs: 1, LoadFunc: zeroLoad})
	t.Cleanup(func() {
		if err := outer.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	mr := must[*mafalda.MafaldaRouter](t)(outer.CreateMafaldaRouter(ctx, &mafalda.MafaldaRouterOptions{
		RouterOptions: media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()},
		WebRtcServerOptions: &media.WebRtcServerOptions{
			ListenInfos: []media.TransportListenInfo{{Protocol: media.ProtocolUDP, IP: "127.0.0.1"}}},
	}))
	if _, err := mr.CreateWebRtcTransport(ctx, nil); !errors.Is(err, media.ErrUnsupported) {
		t.Fatalf("err %v, want ErrUnsupported", err)
	}
}
