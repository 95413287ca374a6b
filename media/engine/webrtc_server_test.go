package engine_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ropehq/rope/internal/peertest"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
)

// TestWebRtcServerForwarding runs the browser-to-browser path of
// TestWebRtcTransportForwarding with both transports on one WebRtcServer:
// ICE, DTLS, SRTP and RTCP through the server's single UDP port (or, in
// the tcp case, its single TCP port), routed by ufrag then tuple. Closing
// the server closes both transports and, with them, the producer and
// consumer.
func TestWebRtcServerForwarding(t *testing.T) {
	t.Parallel()
	for _, proto := range []media.TransportProtocol{media.ProtocolUDP, media.ProtocolTCP} {
		t.Run(string(proto), func(t *testing.T) {
			t.Parallel()
			serverForwarding(t, proto)
		})
	}
}

func serverForwarding(t *testing.T, proto media.TransportProtocol) {
	f := newFixture(t)
	ctx := f.ctx
	s := must[media.WebRtcServer](t)(f.worker.CreateWebRtcServer(ctx, &media.WebRtcServerOptions{
		ListenInfos: []media.TransportListenInfo{{Protocol: proto, IP: lo}}}))
	sd := must[*media.WebRtcServerDump](t)(s.Dump(ctx))
	newBrowser := peertest.NewBrowser
	var port uint16
	if proto == media.ProtocolTCP {
		newBrowser, port = peertest.NewTCPBrowser, sd.TCPServers[0].Port
	} else {
		port = sd.UDPSockets[0].Port
	}
	sendTr, recvTr, prod, cons := forwardThrough(t, f, newBrowser, func() media.WebRtcTransport {
		return f.webRtc(&media.WebRtcTransportOptions{WebRtcServer: s})
	})
	// The consumer's queue went out through the server's batch writer:
	// its buffers are back in the pool once the batch is sent.
	waitOutBuffersBack(t, f.worker)

	for _, tr := range []media.WebRtcTransport{sendTr, recvTr} {
		if c := tr.IceCandidates(); len(c) != 1 || c[0].Port != port || c[0].Protocol != proto {
			t.Errorf("candidates %+v, want the server's %s port %d", c, proto, port)
		}
		if tup := tr.IceSelectedTuple(); tup == nil || tup.LocalPort != port || tup.LocalAddress != lo || tup.Protocol != proto {
			t.Errorf("selected tuple %+v, want local %s:%d", tup, lo, port)
		}
	}
	d := must[*media.WebRtcServerDump](t)(s.Dump(ctx))
	byTransport := map[string]int{}
	for _, th := range d.TupleHashes {
		byTransport[th.WebRtcTransportID]++
	}
	if byTransport[sendTr.ID()] == 0 || byTransport[recvTr.ID()] == 0 || len(d.WebRtcTransportIDs) != 2 {
		t.Errorf("server dump %+v: want tuples of %s and %s", d, sendTr.ID(), recvTr.ID())
	}
	wantIDs := []string{sendTr.ID(), recvTr.ID()}
	slices.Sort(wantIDs)
	if !slices.Equal(d.WebRtcTransportIDs, wantIDs) {
		t.Errorf("webRtcTransportIds %v, want %v", d.WebRtcTransportIDs, wantIDs)
	}

	listenServerClose := make(chan string, 2)
	for _, tr := range []media.WebRtcTransport{sendTr, recvTr} {
		tr.OnListenServerClose(func() { listenServerClose <- tr.ID() })
	}
	mustOK(t, s.Close(ctx))
	for range 2 {
		select {
		case <-listenServerClose:
		case <-time.After(5 * time.Second):
			t.Fatal("no listenserverclose")
		}
	}
	if !sendTr.Closed() || !recvTr.Closed() || !prod.Closed() || !cons.Closed() ||
		sendTr.IceState() != "closed" || recvTr.DtlsState() != "closed" {
		t.Errorf("after server close: transports %v %v producer %v consumer %v ice %q dtls %q",
			sendTr.Closed(), recvTr.Closed(), prod.Closed(), cons.Closed(), sendTr.IceState(), recvTr.DtlsState())
	}
	if d := must[*media.RouterDump](t)(f.router.Dump(ctx)); len(d.TransportIDs) != 0 {
		t.Errorf("router still lists %v", d.TransportIDs)
	}
}

// Many WebRtcTransports on one port: a WebRtcServer opens the socket once,
// and each transport created with it offers that socket as its candidate;
// the server routes each peer's packets by ICE ufrag, then by tuple.
func Example_webRtcServer() {
	ctx := context.Background()
	w, _ := engine.New(nil).CreateWorker(ctx, nil)
	defer w.Close(ctx)
	server, err := w.CreateWebRtcServer(ctx, &media.WebRtcServerOptions{
		ListenInfos: []media.TransportListenInfo{{Protocol: media.ProtocolUDP, IP: "127.0.0.1"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	router, _ := w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: []media.RtpCodecCapability{
		{Kind: media.KindAudio, MimeType: "audio/opus", ClockRate: 48000, Channels: 2}}})
	a, _ := router.CreateWebRtcTransport(ctx, &media.WebRtcTransportOptions{WebRtcServer: server})
	b, _ := router.CreateWebRtcTransport(ctx, &media.WebRtcTransportOptions{WebRtcServer: server})
	fmt.Println("same port:", a.IceCandidates()[0].Port == b.IceCandidates()[0].Port)
	d, _ := server.Dump(ctx)
	fmt.Println("transports:", len(d.WebRtcTransportIDs), "ufrags:", len(d.LocalIceUsernameFragments))

	b.OnListenServerClose(func() { fmt.Println("listenserverclose") })
	_ = server.Close(ctx)
	fmt.Println("closed:", a.Closed(), b.Closed())
	// Output:
	// same port: true
	// transports: 2 ufrags: 2
	// listenserverclose
	// closed: true true
}
