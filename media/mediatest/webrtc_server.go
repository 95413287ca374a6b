package mediatest

import (
	"slices"
	"testing"

	"github.com/ropehq/rope/media"
)

// newWebRtcServer creates a WebRtcServer on w with a UDP and a TCP socket
// on 127.0.0.1. An implementation without WebRtcServers declares the
// steps that use one skipped (Skip).
func newWebRtcServer(t *testing.T, w media.Worker, appData media.AppData) media.WebRtcServer {
	t.Helper()
	s, err := w.CreateWebRtcServer(ctxFor(t), &media.WebRtcServerOptions{
		ListenInfos: []media.TransportListenInfo{
			{Protocol: media.ProtocolUDP, IP: "127.0.0.1"},
			{Protocol: media.ProtocolTCP, IP: "127.0.0.1"},
		},
		AppData: appData,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// transportRecorder collects the transports of a server's handled or
// unhandled events.
type transportRecorder struct{ ch chan media.WebRtcTransport }

func newTransportRecorder() *transportRecorder {
	return &transportRecorder{ch: make(chan media.WebRtcTransport, 16)}
}

func (r *transportRecorder) add(t media.WebRtcTransport) { r.ch <- t }

// want waits for the next transport and checks it is id.
func (r *transportRecorder) want(t *testing.T, what, id string) {
	t.Helper()
	select {
	case got := <-r.ch:
		if got.ID() != id {
			t.Fatalf("%s: transport %s, want %s", what, got.ID(), id)
		}
	case <-ctxFor(t).Done():
		t.Fatalf("%s: no event", what)
	}
}

// testWebRtcServer: transports on a server share its sockets as
// candidates, dumps list them, the observer events follow their lives and
// closing the server closes them ("listenserverclose", then close).
func testWebRtcServer(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	w := newWorker(t, api)
	newServers := newFlag()
	w.OnNewWebRtcServer(func(media.WebRtcServer) { newServers.set() })
	s := newWebRtcServer(t, w, media.AppData{"s": 1})
	newServers.wait(t, "newwebrtcserver")
	if s.Closed() || s.AppData()["s"] != 1 || s.ID() == "" {
		t.Fatalf("server id %q closed %v appData %v", s.ID(), s.Closed(), s.AppData())
	}
	if d := check[*media.WorkerDump](t)(w.Dump(ctx)); !slices.Equal(d.WebRtcServerIDs, []string{s.ID()}) {
		t.Fatalf("worker dump webRtcServerIds %v, want [%s]", d.WebRtcServerIDs, s.ID())
	}
	sd := check[*media.WebRtcServerDump](t)(s.Dump(ctx))
	if sd.ID != s.ID() || len(sd.UDPSockets) != 1 || len(sd.TCPServers) != 1 || sd.UDPSockets[0].IP != "127.0.0.1" ||
		sd.UDPSockets[0].Port == 0 || len(sd.WebRtcTransportIDs) != 0 {
		t.Fatalf("server dump %+v", sd)
	}
	udpPort, tcpPort := sd.UDPSockets[0].Port, sd.TCPServers[0].Port

	r := newRouter(t, w)
	handled, unhandled := newTransportRecorder(), newTransportRecorder()
	s.OnWebRtcTransportHandled(handled.add)
	s.OnWebRtcTransportUnhandled(unhandled.add)
	t1 := check[media.WebRtcTransport](t)(r.CreateWebRtcTransport(ctx, &media.WebRtcTransportOptions{WebRtcServer: s}))
	handled.want(t, "webrtctransporthandled", t1.ID())
	noTCP := false
	t2 := check[media.WebRtcTransport](t)(r.CreateWebRtcTransport(ctx, &media.WebRtcTransportOptions{
		WebRtcServer: s, EnableTCP: &noTCP, EnableSctp: true}))
	handled.want(t, "webrtctransporthandled", t2.ID())

	// t1: both sockets (enableTcp defaults to true with a server), UDP
	// first; t2: the UDP socket only.
	c1, c2 := t1.IceCandidates(), t2.IceCandidates()
	if len(c1) != 2 || c1[0].Protocol != media.ProtocolUDP || c1[0].Port != udpPort ||
		c1[1].Protocol != media.ProtocolTCP || c1[1].Port != tcpPort || c1[1].TCPType != "passive" ||
		c1[0].Priority <= c1[1].Priority || c1[0].Address != "127.0.0.1" {
		t.Fatalf("t1 candidates %+v (server udp %d tcp %d)", c1, udpPort, tcpPort)
	}
	if len(c2) != 1 || c2[0].Protocol != media.ProtocolUDP || c2[0].Port != udpPort {
		t.Fatalf("t2 candidates %+v", c2)
	}
	if t1.IceParameters().UsernameFragment == t2.IceParameters().UsernameFragment {
		t.Fatal("two transports with one ufrag")
	}
	preferTCP := check[media.WebRtcTransport](t)(r.CreateWebRtcTransport(ctx, &media.WebRtcTransportOptions{
		WebRtcServer: s, PreferTCP: true}))
	handled.want(t, "webrtctransporthandled", preferTCP.ID())
	if c := preferTCP.IceCandidates(); len(c) != 2 || c[1].Protocol != media.ProtocolTCP || c[1].Priority <= c[0].Priority {
		t.Fatalf("preferTcp candidates %+v", c)
	}

	sd = check[*media.WebRtcServerDump](t)(s.Dump(ctx))
	ids := []string{t1.ID(), t2.ID(), preferTCP.ID()}
	slices.Sort(ids)
	if !slices.Equal(sd.WebRtcTransportIDs, ids) {
		t.Fatalf("server dump webRtcTransportIds %v, want %v", sd.WebRtcTransportIDs, ids)
	}
	ufrags := map[string]string{}
	for _, u := range sd.LocalIceUsernameFragments {
		ufrags[u.LocalIceUsernameFragment] = u.WebRtcTransportID
	}
	for _, tr := range []media.WebRtcTransport{t1, t2, preferTCP} {
		if ufrags[tr.IceParameters().UsernameFragment] != tr.ID() {
			t.Fatalf("server dump ufrags %+v lack %s of %s", sd.LocalIceUsernameFragments, tr.IceParameters().UsernameFragment, tr.ID())
		}
	}

	// A transport that closes leaves the server.
	if err := preferTCP.Close(ctx); err != nil {
		t.Fatal(err)
	}
	unhandled.want(t, "webrtctransportunhandled after close", preferTCP.ID())

	// Closing the server closes its transports.
	lsc1, lsc2, closed1, closed2, sClosed := newFlag(), newFlag(), newFlag(), newFlag(), newFlag()
	t1.OnListenServerClose(lsc1.set)
	t2.OnListenServerClose(lsc2.set)
	t1.OnClose(closed1.set)
	t2.OnClose(closed2.set)
	s.OnClose(sClosed.set)
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	lsc1.wait(t, "t1 listenserverclose")
	lsc2.wait(t, "t2 listenserverclose")
	closed1.wait(t, "t1 close")
	closed2.wait(t, "t2 close")
	sClosed.wait(t, "server close")
	got := []string{}
	for range 2 {
		select {
		case tr := <-unhandled.ch:
			got = append(got, tr.ID())
		case <-ctx.Done():
			t.Fatal("webrtctransportunhandled on server close")
		}
	}
	slices.Sort(got)
	want := []string{t1.ID(), t2.ID()}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("unhandled %v, want %v", got, want)
	}
	if !s.Closed() || !t1.Closed() || !t2.Closed() {
		t.Fatalf("closed: server %v t1 %v t2 %v", s.Closed(), t1.Closed(), t2.Closed())
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err := s.Dump(ctx)
	wantErr(t, "Dump of closed server", err, media.ErrClosed)
	if d := check[*media.WorkerDump](t)(w.Dump(ctx)); len(d.WebRtcServerIDs) != 0 {
		t.Fatalf("closed server in worker dump: %v", d.WebRtcServerIDs)
	}
	if d := check[*media.RouterDump](t)(r.Dump(ctx)); len(d.TransportIDs) != 0 {
		t.Fatalf("transports of the closed server in router dump: %v", d.TransportIDs)
	}
	_, err = r.CreateWebRtcTransport(ctx, &media.WebRtcTransportOptions{WebRtcServer: s})
	wantErr(t, "transport on a closed server", err, media.ErrClosed)
}

// testWebRtcServerWorkerClose: closing the worker closes its routers
// (their transports: "routerclose"), then its servers ("workerclose").
func testWebRtcServerWorkerClose(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	w := newWorker(t, api)
	s := newWebRtcServer(t, w, nil)
	r := newRouter(t, w)
	tr := check[media.WebRtcTransport](t)(r.CreateWebRtcTransport(ctx, &media.WebRtcTransportOptions{WebRtcServer: s}))
	routerClose, workerClose, sClosed, trClosed := newFlag(), newFlag(), newFlag(), newFlag()
	tr.OnRouterClose(routerClose.set)
	tr.OnClose(trClosed.set)
	s.OnWorkerClose(workerClose.set)
	s.OnClose(sClosed.set)
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	routerClose.wait(t, "transport routerclose")
	trClosed.wait(t, "transport close")
	workerClose.wait(t, "server workerclose")
	sClosed.wait(t, "server close")
	if !s.Closed() || !tr.Closed() {
		t.Fatalf("closed: server %v transport %v", s.Closed(), tr.Closed())
	}
	_, err := w.CreateWebRtcServer(ctx, &media.WebRtcServerOptions{ListenInfos: []media.TransportListenInfo{*listenInfo()}})
	wantErr(t, "CreateWebRtcServer on a closed worker", err, media.ErrClosed)
}

// testWebRtcServerInvalid: bad options and misuse fail with the media
// sentinels.
func testWebRtcServerInvalid(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	w := newWorker(t, api)
	s := newWebRtcServer(t, w, nil)
	_, err := w.CreateWebRtcServer(ctx, nil)
	wantErr(t, "nil options", err, media.ErrInvalidParams)
	_, err = w.CreateWebRtcServer(ctx, &media.WebRtcServerOptions{ListenInfos: []media.TransportListenInfo{}})
	wantErr(t, "no listenInfos", err, media.ErrInvalidParams)
	_, err = w.CreateWebRtcServer(ctx, &media.WebRtcServerOptions{ListenInfos: []media.TransportListenInfo{{Protocol: "sctp", IP: "127.0.0.1"}}})
	wantErr(t, "bad protocol", err, media.ErrInvalidParams)
	_, err = w.CreateWebRtcServer(ctx, &media.WebRtcServerOptions{ListenInfos: []media.TransportListenInfo{{Protocol: media.ProtocolUDP, IP: "not-an-ip"}}})
	wantErr(t, "bad ip", err, media.ErrInvalidParams)
	port := check[*media.WebRtcServerDump](t)(s.Dump(ctx)).UDPSockets[0].Port
	_, err = w.CreateWebRtcServer(ctx, &media.WebRtcServerOptions{ListenInfos: []media.TransportListenInfo{
		{Protocol: media.ProtocolUDP, IP: "127.0.0.1", Port: port}}})
	wantErr(t, "port in use", err, media.ErrInvalidParams)

	r := newRouter(t, w)
	_, err = r.CreateWebRtcTransport(ctx, &media.WebRtcTransportOptions{ListenInfos: []media.TransportListenInfo{
		{Protocol: media.ProtocolUDP, IP: "127.0.0.1", Port: port}}})
	wantErr(t, "transport on the server's port", err, media.ErrInvalidParams)
	_, err = r.CreateWebRtcTransport(ctx, &media.WebRtcTransportOptions{})
	wantErr(t, "neither webRtcServer nor listenInfos", err, media.ErrInvalidParams)
	noUDP, noTCP := false, false
	_, err = r.CreateWebRtcTransport(ctx, &media.WebRtcTransportOptions{WebRtcServer: s, EnableUDP: &noUDP, EnableTCP: &noTCP})
	wantErr(t, "no candidates left", err, media.ErrInvalidParams)

	other := newWorker(t, api)
	otherRouter := newRouter(t, other)
	_, err = otherRouter.CreateWebRtcTransport(ctx, &media.WebRtcTransportOptions{WebRtcServer: s})
	wantErr(t, "server of another worker", err, media.ErrInvalidParams)
	if d := check[*media.WebRtcServerDump](t)(s.Dump(ctx)); len(d.WebRtcTransportIDs) != 0 {
		t.Fatalf("failed creations left transports: %v", d.WebRtcTransportIDs)
	}
}
