package engine_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"testing"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
)

// Plain and pipe transports are UDP only, as mediasoup's: "tcp" is a
// TypeError naming the field.
func TestPlainPipeTCPRefused(t *testing.T) {
	f := newFixture(t)
	tcp := &media.TransportListenInfo{Protocol: media.ProtocolTCP, IP: lo}
	_, err := f.router.CreatePlainTransport(f.ctx, &media.PlainTransportOptions{ListenInfo: tcp})
	wantParam(t, "plain listenInfo tcp", err, "listenInfo.protocol")
	no := false
	_, err = f.router.CreatePlainTransport(f.ctx, &media.PlainTransportOptions{ListenInfo: &media.TransportListenInfo{IP: lo}, RtcpMux: &no, RtcpListenInfo: tcp})
	wantParam(t, "plain rtcpListenInfo tcp", err, "rtcpListenInfo.protocol")
	_, err = f.router.CreatePipeTransport(f.ctx, &media.PipeTransportOptions{ListenInfo: tcp})
	wantParam(t, "pipe listenInfo tcp", err, "listenInfo.protocol")
	d := must[*media.RouterDump](t)(f.router.Dump(f.ctx))
	if len(d.TransportIDs) != 0 {
		t.Fatalf("refused transports left behind: %v", d.TransportIDs)
	}
}

func errorAs(err error, target any) bool { return errors.As(err, target) }

func wantParam(t *testing.T, what string, err error, field string) {
	t.Helper()
	var pe *media.ParamError
	if !isErr(err, media.ErrInvalidParams) || !errorAs(err, &pe) || pe.Field != field {
		t.Errorf("%s: %v, want a TypeError on %s", what, err, field)
	}
}

// announcedAddress, else the deprecated announcedIp, is the tuple's
// local address; a portRange with both bounds wins over port.
func TestListenInfoAnnouncedAndPortRange(t *testing.T) {
	f := newFixture(t)
	port := freeUDPPort(t, lo)
	for _, tc := range []struct {
		li   media.TransportListenInfo
		want string
	}{
		{media.TransportListenInfo{IP: lo, AnnouncedIP: "198.51.100.7"}, "198.51.100.7"},
		{media.TransportListenInfo{IP: lo, AnnouncedIP: "198.51.100.7", AnnouncedAddress: "media.example.com"}, "media.example.com"},
		{media.TransportListenInfo{IP: lo, Port: 1, PortRange: &media.PortRange{Min: port, Max: port}}, lo},
	} {
		pt := must[media.PlainTransport](t)(f.router.CreatePlainTransport(f.ctx, &media.PlainTransportOptions{ListenInfo: &tc.li}))
		tup := pt.Tuple()
		if tup.LocalAddress != tc.want {
			t.Errorf("%+v: local address %q, want %q", tc.li, tup.LocalAddress, tc.want)
		}
		if tc.li.PortRange != nil && tup.LocalPort != port {
			t.Errorf("portRange %d-%d with port 1: port %d", port, port, tup.LocalPort)
		}
		pt.Close(f.ctx)
	}
	_, err := f.router.CreatePipeTransport(f.ctx, &media.PipeTransportOptions{ListenInfo: &media.TransportListenInfo{IP: lo, PortRange: &media.PortRange{Min: 40010, Max: 40001}}})
	wantParam(t, "reversed portRange", err, "listenInfo.portRange")
}

// freeUDPPort is a UDP port of ip free when it returns.
func freeUDPPort(t *testing.T, ip string) uint16 {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return uint16(c.LocalAddr().(*net.UDPAddr).Port)
}

// udpReusePort lets two transports bind one port; without it the second
// fails with "port in use".
func TestListenInfoUDPReusePort(t *testing.T) {
	f := newFixture(t)
	reuse := &media.TransportSocketFlags{UDPReusePort: true}
	a := must[media.PlainTransport](t)(f.router.CreatePlainTransport(f.ctx, &media.PlainTransportOptions{ListenInfo: &media.TransportListenInfo{IP: lo, Flags: reuse}}))
	port := a.Tuple().LocalPort
	b := must[media.PlainTransport](t)(f.router.CreatePlainTransport(f.ctx, &media.PlainTransportOptions{ListenInfo: &media.TransportListenInfo{IP: lo, Port: port, Flags: reuse}}))
	if b.Tuple().LocalPort != port {
		t.Fatalf("second transport on port %d, want %d", b.Tuple().LocalPort, port)
	}
	_, err := f.router.CreatePipeTransport(f.ctx, &media.PipeTransportOptions{ListenInfo: &media.TransportListenInfo{IP: lo, Port: port}})
	wantParam(t, "same port without udpReusePort", err, "listenInfo")
}

// skipWithoutIPv6 skips a test on a machine without IPv6 loopback.
func skipWithoutIPv6(t *testing.T) {
	t.Helper()
	c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("IPv6 loopback (::1) unavailable on this machine: %v", err)
	}
	c.Close()
}

// IPv6 listen addresses: a plain transport on ::1 forwards; one on "::"
// is dual-stack (receives IPv4, as mediasoup's) unless ipv6Only, which
// leaves the port's IPv4 side free.
func TestListenInfoIPv6(t *testing.T) {
	skipWithoutIPv6(t)
	f := newFixture(t)
	pt := must[media.PlainTransport](t)(f.router.CreatePlainTransport(f.ctx, &media.PlainTransportOptions{
		ListenInfo: &media.TransportListenInfo{IP: "::1"}, Comedia: true}))
	if tup := pt.Tuple(); tup.LocalAddress != "::1" {
		t.Fatalf("tuple %+v", tup)
	}
	c6, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Fatal(err)
	}
	defer c6.Close()
	learned := make(chan media.TransportTuple, 1)
	pt.OnTuple(func(tup media.TransportTuple) { trySend(learned, tup) })
	s := &sender{ssrc: 1, pt: 101}
	to := &net.UDPAddr{IP: net.IPv6loopback, Port: int(pt.Tuple().LocalPort)}
	if _, err := c6.WriteToUDP(s.packet(t, true, 50), to); err != nil {
		t.Fatal(err)
	}
	if tup := <-learned; tup.RemoteIP != "::1" {
		t.Fatalf("learned %+v", tup)
	}

	dual := must[media.PlainTransport](t)(f.router.CreatePlainTransport(f.ctx, &media.PlainTransportOptions{
		ListenInfo: &media.TransportListenInfo{IP: "::"}, Comedia: true}))
	port := dual.Tuple().LocalPort
	dualLearned := make(chan media.TransportTuple, 1)
	dual.OnTuple(func(tup media.TransportTuple) { trySend(dualLearned, tup) })
	e := newEndpoint(t)
	e.send(media.TransportTuple{LocalAddress: lo, LocalPort: port}, s.packet(t, true, 50))
	if tup := <-dualLearned; tup.RemoteIP != lo {
		t.Fatalf("dual-stack learned %+v", tup)
	}
	if c, err := net.ListenUDP("udp4", &net.UDPAddr{Port: int(port)}); err == nil {
		c.Close()
		t.Fatal("0.0.0.0 bound the port of a dual-stack transport")
	}

	// A port no IPv4 socket of this machine holds (other processes' may
	// hold any of the worker's range).
	port = freeUDPPort(t, "0.0.0.0")
	must[media.PlainTransport](t)(f.router.CreatePlainTransport(f.ctx, &media.PlainTransportOptions{
		ListenInfo: &media.TransportListenInfo{IP: "::", Port: port, Flags: &media.TransportSocketFlags{IPv6Only: true}}}))
	c4, err := net.ListenUDP("udp4", &net.UDPAddr{Port: int(port)})
	if err != nil {
		t.Fatalf("ipv6Only transport holds the IPv4 port: %v", err)
	}
	c4.Close()
}

// logRecorder keeps the messages and attributes of the records it gets.
type logRecorder struct {
	mu   sync.Mutex
	msgs []map[string]any
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	m := map[string]any{"msg": rec.Message, "level": rec.Level}
	rec.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.Any()
		return true
	})
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.mu.Unlock()
	return nil
}
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *logRecorder) WithGroup(string) slog.Handler      { return r }

// bufferLogs returns the "UDP socket buffer sizes" records so far.
func (r *logRecorder) bufferLogs() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]any
	for _, m := range r.msgs {
		if m["msg"] == "engine: UDP socket buffer sizes" {
			out = append(out, m)
		}
	}
	return out
}

// logLevel and logTags decide what the engine logs, as mediasoup's
// worker: a tagged debug record ("info": the socket buffer sizes, which
// sendBufferSize and recvBufferSize set) needs level debug and its tag,
// and updateSettings changes both at once.
func TestWorkerLogLevelAndTags(t *testing.T) {
	rec := &logRecorder{}
	api := engine.New(&engine.Options{Logger: slog.New(rec)})
	ctx := context.Background()
	li := &media.TransportListenInfo{IP: lo, SendBufferSize: 65536, RecvBufferSize: 98304}
	plain := func(w media.Worker) {
		t.Helper()
		r := must[media.Router](t)(w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: mediaCodecs()}))
		must[media.PlainTransport](t)(r.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: li}))
	}
	for _, s := range []*media.WorkerSettings{
		nil,                             // error
		{LogLevel: media.LogLevelDebug}, // no tag
		{LogLevel: media.LogLevelWarn, LogTags: []string{"info"}}, // level too high
		{LogLevel: media.LogLevelDebug, LogTags: []string{"rtp", "ice"}},
	} {
		w := must[media.Worker](t)(api.CreateWorker(ctx, s))
		plain(w)
		w.Close(ctx)
	}
	if got := rec.bufferLogs(); len(got) != 0 {
		t.Fatalf("logged without level debug and tag info: %v", got)
	}
	w := must[media.Worker](t)(api.CreateWorker(ctx, &media.WorkerSettings{LogLevel: media.LogLevelDebug, LogTags: []string{"info"},
		LibwebrtcFieldTrials: "WebRTC-Bwe-AlrLimitedBackoff/Disabled/", DisableLiburing: true}))
	defer w.Close(ctx)
	plain(w)
	got := rec.bufferLogs()
	if len(got) != 1 {
		t.Fatalf("records %v", got)
	}
	// Linux doubles what is asked (socket(7)).
	if got[0]["send"] != int64(2*65536) || got[0]["recv"] != int64(2*98304) {
		t.Fatalf("buffer sizes %v, want send %d recv %d", got[0], 2*65536, 2*98304)
	}
	if err := w.UpdateSettings(ctx, &media.WorkerUpdateableSettings{LogTags: []string{}}); err != nil {
		t.Fatal(err)
	}
	plain(w)
	if n := len(rec.bufferLogs()); n != 1 {
		t.Fatalf("%d records after logTags cleared", n)
	}
	w2 := must[media.Worker](t)(api.CreateWorker(ctx, nil))
	defer w2.Close(ctx)
	if err := w2.UpdateSettings(ctx, &media.WorkerUpdateableSettings{LogLevel: media.LogLevelDebug, LogTags: []string{"info"}}); err != nil {
		t.Fatal(err)
	}
	plain(w2)
	wait.Until(t, "a record after updateSettings", func() bool { return len(rec.bufferLogs()) == 2 })
	if err := w2.UpdateSettings(ctx, &media.WorkerUpdateableSettings{LogLevel: "verbose"}); !isErr(err, media.ErrInvalidParams) {
		t.Fatalf("invalid logLevel: %v", err)
	}
}

// WebRtcTransports take the flags too: udpReusePort lets two share a
// port, and a portRange wins over port.
func TestWebRtcListenInfoFlags(t *testing.T) {
	f := newFixture(t)
	reuse := &media.TransportSocketFlags{UDPReusePort: true}
	create := func(li media.TransportListenInfo) media.WebRtcTransport {
		t.Helper()
		return must[media.WebRtcTransport](t)(f.router.CreateWebRtcTransport(f.ctx, &media.WebRtcTransportOptions{ListenInfos: []media.TransportListenInfo{li}}))
	}
	a := create(media.TransportListenInfo{Protocol: media.ProtocolUDP, IP: lo, Flags: reuse, AnnouncedIP: "198.51.100.9"})
	c := a.IceCandidates()[0]
	if c.Address != "198.51.100.9" {
		t.Errorf("announcedIp: candidate %+v", c)
	}
	b := create(media.TransportListenInfo{Protocol: media.ProtocolUDP, IP: lo, Port: 1, PortRange: &media.PortRange{Min: c.Port, Max: c.Port}, Flags: reuse})
	if p := b.IceCandidates()[0].Port; p != c.Port {
		t.Fatalf("second transport on %d, want %d", p, c.Port)
	}
	_, err := f.router.CreateWebRtcTransport(f.ctx, &media.WebRtcTransportOptions{ListenInfos: []media.TransportListenInfo{{Protocol: media.ProtocolUDP, IP: lo, Port: c.Port}}})
	if err == nil {
		t.Fatal("a transport without udpReusePort bound the shared port")
	}
}
