package main

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/mafalda/mafaldaclient"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediaclient"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeclient"
)

// portRange picks n consecutive ports for a server's RTC range, somewhere
// other tests of this machine are unlikely to be.
func portRange(n int) (lo, hi int) {
	lo = 30000 + rand.IntN(25000)
	return lo, lo + n - 1
}

func dialMedia(t *testing.T, url string) *mediaclient.Client {
	t.Helper()
	c, err := mediaclient.Dial(ctxT(t), url, &mediaclient.Options{Logger: quiet,
		ROPE: &ropeclient.Options{Logger: quiet, NoReconnect: true, Dedicated: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// wantTypeError checks a refusal: a TypeError (media.ErrInvalidParams)
// whose wire message has want and none of the OS's words.
func wantTypeError(t *testing.T, what string, err error, want string) {
	t.Helper()
	var re *rope.Error
	if !errors.Is(err, media.ErrInvalidParams) || !errors.As(err, &re) || re.Data.Name != media.NameTypeError {
		t.Fatalf("%s: %v, want a TypeError", what, err)
	}
	if !strings.Contains(re.Message, want) {
		t.Fatalf("%s: message %q, want %q in it", what, re.Message, want)
	}
	for _, internal := range []string{"bind", "udpio", "listen udp", "address already in use", "cannot assign"} {
		if strings.Contains(re.Message, internal) {
			t.Fatalf("%s: message %q has internal text %q", what, re.Message, internal)
		}
	}
}

// A client that exhausts the RTC port range gets a TypeError saying so,
// without the OS error, whether workers are processes (whose server sends
// full errors to the parent) or not.
func TestPortExhaustionIsATypeError(t *testing.T) {
	for _, workers := range []string{workersProcess, workersInProcess} {
		t.Run(workers, func(t *testing.T) {
			lo, hi := portRange(2)
			_, url := startRun(t, "-workers", workers, "-rtc-min-port", strconv.Itoa(lo), "-rtc-max-port", strconv.Itoa(hi))
			c := dialMedia(t, url)
			w := must[media.Worker](t)(c.CreateWorker(ctxT(t), nil))
			r := must[media.Router](t)(w.CreateRouter(ctxT(t), &media.RouterOptions{MediaCodecs: codecs}))
			var err error
			for i := 0; i < 3 && err == nil; i++ {
				_, err = r.CreatePlainTransport(ctxT(t), nil)
			}
			wantTypeError(t, "plain transport beyond the range", err, "listenInfo: no free port in range")
			_, err = r.CreateWebRtcTransport(ctxT(t), nil)
			wantTypeError(t, "webrtc transport beyond the range", err, "listenInfos: no free port in range")
		})
	}
}

// By default clients' transports listen only on the server's RTC address
// and ports; -allow-any-rtc-listen lifts that.
func TestTransportsListenOnlyWhereAllowed(t *testing.T) {
	lo, hi := portRange(100)
	outside := uint16(hi + 1)
	_, url := startRun(t, "-rtc-min-port", strconv.Itoa(lo), "-rtc-max-port", strconv.Itoa(hi))
	c := dialMedia(t, url)
	ctx := ctxT(t)
	w := must[media.Worker](t)(c.CreateWorker(ctx, nil))
	r := must[media.Router](t)(w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: codecs}))
	li := func(ip string, port uint16) *media.TransportListenInfo {
		return &media.TransportListenInfo{Protocol: media.ProtocolUDP, IP: ip, Port: port}
	}
	_, err := r.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: li("127.0.0.2", uint16(lo))})
	wantTypeError(t, "another address", err, "listenInfo.ip: 127.0.0.2 is not an address this server listens on")
	_, err = r.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: li("127.0.0.1", outside)})
	wantTypeError(t, "a port outside the range", err, "listenInfo.port: "+strconv.Itoa(int(outside))+" outside the server's port range")
	_, err = r.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: &media.TransportListenInfo{IP: "127.0.0.1",
		PortRange: &media.PortRange{Min: uint16(lo), Max: outside}}})
	wantTypeError(t, "a range reaching outside", err, "listenInfo.portRange")
	_, err = r.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: li("127.0.0.1", 0),
		RtcpListenInfo: li("127.0.0.2", 0)})
	wantTypeError(t, "rtcp on another address", err, "rtcpListenInfo.ip")
	_, err = r.CreatePipeTransport(ctx, &media.PipeTransportOptions{ListenInfo: li("0.0.0.0", 0)})
	wantTypeError(t, "pipe on every address", err, "listenInfo.ip")
	_, err = r.CreateWebRtcTransport(ctx, &media.WebRtcTransportOptions{ListenInfos: []media.TransportListenInfo{
		*li("127.0.0.1", 0), *li("127.0.0.1", outside)}})
	wantTypeError(t, "webrtc", err, "listenInfos[1].port")
	_, err = w.CreateWebRtcServer(ctx, &media.WebRtcServerOptions{ListenInfos: []media.TransportListenInfo{*li("127.0.0.2", 0)}})
	wantTypeError(t, "webrtc server", err, "listenInfos[0].ip")
	_, err = c.CreateWorker(ctx, &media.WorkerSettings{RtcMinPort: uint16(lo), RtcMaxPort: outside})
	wantTypeError(t, "worker range", err, "outside the server's port range")

	// Inside: the address and ports given, or the range's.
	tr := must[media.PlainTransport](t)(r.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: li("127.0.0.1", uint16(hi))}))
	if tu := tr.Tuple(); tu.LocalPort != uint16(hi) {
		t.Fatalf("tuple %+v, want port %d", tu, hi)
	}
	w2 := must[media.Worker](t)(c.CreateWorker(ctx, &media.WorkerSettings{RtcMinPort: uint16(lo)}))
	r2 := must[media.Router](t)(w2.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: codecs}))
	tr2 := must[media.PlainTransport](t)(r2.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: li("127.0.0.1", 0)}))
	if p := int(tr2.Tuple().LocalPort); p < lo || p > hi {
		t.Fatalf("port %d of a worker without rtcMaxPort, want %d-%d", p, lo, hi)
	}

	_, anyURL := startRun(t, "-workers", "in-process", "-allow-any-rtc-listen", "-rtc-min-port", strconv.Itoa(lo), "-rtc-max-port", strconv.Itoa(hi))
	ca := dialMedia(t, anyURL)
	wa := must[media.Worker](t)(ca.CreateWorker(ctx, nil))
	ra := must[media.Router](t)(wa.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: codecs}))
	must[media.PlainTransport](t)(ra.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: li("127.0.0.2", outside)}))
}

// A MafaldaRouter's WebRtcServer listen infos and worker settings obey
// the same bounds.
func TestMafaldaListensOnlyWhereAllowed(t *testing.T) {
	lo, hi := portRange(100)
	_, url := startRun(t, "-media-mode", "mafalda", "-workers", "in-process",
		"-rtc-min-port", strconv.Itoa(lo), "-rtc-max-port", strconv.Itoa(hi))
	c, err := mafaldaclient.Dial(ctxT(t), url, &mafaldaclient.Options{Logger: quiet,
		Media: &mediaclient.Options{Logger: quiet}, ROPE: &ropeclient.Options{Logger: quiet, NoReconnect: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.CreateMafaldaRouter(ctxT(t), &mafalda.MafaldaRouterOptions{RouterOptions: media.RouterOptions{MediaCodecs: codecs},
		WebRtcServerOptions: &media.WebRtcServerOptions{ListenInfos: []media.TransportListenInfo{
			{Protocol: media.ProtocolUDP, IP: "127.0.0.2", Port: uint16(lo)}}}})
	wantTypeError(t, "webRtcServerOptions", err, "webRtcServerOptions.listenInfos[0].ip")
	_, err = c.CreateMafaldaRouter(ctxT(t), &mafalda.MafaldaRouterOptions{RouterOptions: media.RouterOptions{MediaCodecs: codecs},
		WorkerSettings: media.WorkerSettings{RtcMinPort: 1024, RtcMaxPort: 2048}})
	wantTypeError(t, "workerSettings", err, "outside the server's port range")
}

// -max-workers-per-conn bounds the workers one connection holds; others
// still get theirs, a closed worker gives its slot back, and a client
// that resumes its session on a new connection gets no new slots.
func TestMaxWorkersPerConn(t *testing.T) {
	_, url := startRun(t, "-workers", "in-process", "-max-workers-per-conn", "2", "-allow-worker-close")
	a, b := dialMedia(t, url), dialMedia(t, url)
	ctx := ctxT(t)
	full := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, media.ErrInvalidState) || !strings.Contains(err.Error(), "at most 2 workers may be open per connection") {
			t.Fatalf("%s: %v", what, err)
		}
	}
	first := must[media.Worker](t)(a.CreateWorker(ctx, nil))
	must[media.Worker](t)(a.CreateWorker(ctx, nil))
	_, err := a.CreateWorker(ctx, nil)
	full("third worker of a connection", err)
	must[media.Worker](t)(b.CreateWorker(ctx, nil))
	if err := first.Close(ctx); err != nil {
		t.Fatal(err)
	}
	must[media.Worker](t)(a.CreateWorker(ctx, nil))

	session := a.ROPE().Session()
	if session == "" {
		t.Fatal("the client has no session")
	}
	again := dialMedia(t, url+"?session="+session)
	_, err = again.CreateWorker(ctx, nil)
	full("a worker of the same session on a new connection", err)
}

// The reproduction: with worker processes (the default), each
// createRouter over ROPE yields one Router object, under its media id,
// and its transports land under it.
func TestRoutersServedOnce(t *testing.T) {
	_, url := startRun(t)
	rc, err := ropeclient.Dial(ctxT(t), url, &ropeclient.Options{Logger: quiet, NoReconnect: true, Dedicated: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	ctx := ctxT(t)
	var w rope.CreateResult
	if err := rc.Call(ctx, "media", "createWorker", nil, &w); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for range 10 {
		var r, tr rope.CreateResult
		if err := rc.Call(ctx, w.ID, "createRouter", nil, &r); err != nil {
			t.Fatal(err)
		}
		if err := rc.Call(ctx, r.ID, "createDirectTransport", nil, &tr); err != nil {
			t.Fatal(err)
		}
		if o, ok := rc.Object(tr.ID); !ok || o.ParentID() != r.ID {
			t.Fatalf("transport %s not under router %s", tr.ID, r.ID)
		}
		want[r.ID] = true
	}
	// A call's answer follows every change before it: the worker's
	// routers, as the child announced them, are in the mirror by now.
	if err := rc.Call(ctx, w.ID, "dump", nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, o := range rc.Objects() {
		if o.Type() != "Router" {
			continue
		}
		if !want[o.ID()] || strings.Contains(o.ID(), "@") {
			t.Errorf("router %s served besides the ones created", o.ID())
		}
		delete(want, o.ID())
	}
	if len(want) != 0 {
		t.Errorf("routers not served: %v", want)
	}
}

// A client may not make the server read files of its choosing through
// createWorker's DTLS files (or a MafaldaRouter's worker settings), unless
// -allow-worker-files; the operator's own settings still may.
func TestClientsNameNoServerFiles(t *testing.T) {
	_, url := startRun(t, "-media-mode", "mafalda")
	c := dialMedia(t, url)
	ctx := ctxT(t)
	for _, s := range []*media.WorkerSettings{
		{DtlsCertificateFile: "/etc/shadow"},
		{DtlsPrivateKeyFile: "/proc/self/environ"},
	} {
		_, err := c.CreateWorker(ctx, s)
		wantTypeError(t, "createWorker naming a file", err, "naming server files is not allowed")
	}
	mc, err := mafaldaclient.Dial(ctx, url, &mafaldaclient.Options{Media: &mediaclient.Options{Logger: quiet,
		ROPE: &ropeclient.Options{Logger: quiet, Dedicated: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	_, err = mc.CreateRouter(ctx, &mafalda.MafaldaRouterOptions{WorkerSettings: media.WorkerSettings{DtlsCertificateFile: "/etc/shadow"},
		RouterOptions: media.RouterOptions{MediaCodecs: codecs}})
	wantTypeError(t, "a MafaldaRouter's worker settings naming a file", err, "naming server files is not allowed")

	_, url = startRun(t, "-allow-worker-files")
	_, err = dialMedia(t, url).CreateWorker(ctx, &media.WorkerSettings{DtlsCertificateFile: "/nonexistent.pem", DtlsPrivateKeyFile: "/nonexistent.key"})
	if err == nil || strings.Contains(err.Error(), "naming server files") {
		t.Fatalf("with -allow-worker-files the files are read: %v", err)
	}
}
