package webrtc_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/stun/v3"

	rope "github.com/ropehq/rope/media/webrtc"
	"github.com/ropehq/rope/media/webrtc/dtlstransport"
	"github.com/ropehq/rope/media/webrtc/ice"
	"github.com/ropehq/rope/media/webrtc/listener"
)

// logBuffer is a goroutine-safe log sink.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Contains(l.buf.String(), s)
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// bindingRequest builds a browser-like ICE check.
func bindingRequest(t testing.TB, user, pwd string, fingerprint bool) []byte {
	t.Helper()
	setters := []stun.Setter{stun.TransactionID, stun.BindingRequest, stun.NewUsername(user),
		stun.RawAttribute{Type: stun.AttrPriority, Value: []byte{0x6e, 0, 1, 0xff}},
		stun.RawAttribute{Type: stun.AttrUseCandidate}, stun.NewShortTermIntegrity(pwd)}
	if fingerprint {
		setters = append(setters, stun.Fingerprint)
	}
	m, err := stun.Build(setters...)
	must(t, err)
	return m.Raw
}

// expectSilence fails if conn receives anything within d.
func expectSilence(t *testing.T, conn net.Conn, d time.Duration) {
	t.Helper()
	must(t, conn.SetReadDeadline(time.Now().Add(d)))
	buf := make([]byte, 1500)
	if n, err := conn.Read(buf); err == nil {
		t.Fatalf("stranger got an answer: %x", buf[:n])
	}
}

// expectBindingSuccess reads one STUN success response authenticated with pwd.
func expectBindingSuccess(t *testing.T, b []byte, pwd string) {
	t.Helper()
	m := &stun.Message{Raw: b}
	must(t, m.Decode())
	if m.Type != stun.BindingSuccess {
		t.Fatalf("response %v", m.Type)
	}
	must(t, stun.NewShortTermIntegrity(pwd).Check(m))
}

// TestServerSharedPortAndBadInput puts two transports on one WebRtcServer
// port, connects a browser to the first, throws bad input at the port from
// a stranger, then connects a second browser and checks both still work.
func TestServerSharedPortAndBadInput(t *testing.T) {
	var logs logBuffer
	srv, err := rope.NewServer(&rope.ServerOptions{ListenInfos: []rope.ListenInfo{udpInfo(), tcpInfo()}, Logger: logs.logger()})
	must(t, err)
	defer srv.Close()
	var recA, recB recorder
	defer recA.wg.Wait()
	defer recB.wg.Wait()
	trA, err := srv.NewTransport(recA.options())
	must(t, err)
	trB, err := srv.NewTransport(recB.options())
	must(t, err)
	pa, pb := trA.Parameters(), trB.Parameters()
	if pa.ICECandidates[0].Port != pb.ICECandidates[0].Port || pa.ICEParameters == pb.ICEParameters {
		t.Fatalf("transports do not share the port: %+v %+v", pa.ICECandidates, pb.ICECandidates)
	}

	bA := connectBrowser(t, trA)
	browserToServerRTP(t, bA, &recA)

	udpAddr := net.JoinHostPort("127.0.0.1", itoa(pa.ICECandidates[0].Port))
	stranger, err := net.Dial("udp4", udpAddr)
	must(t, err)
	defer stranger.Close()
	ufragA, pwdA := pa.ICEParameters.UsernameFragment, pa.ICEParameters.Password
	dtlsRecord := append([]byte{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 40}, make([]byte, 40)...)
	rtpLike := append([]byte{0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1}, make([]byte, 100)...)
	for _, pkt := range [][]byte{
		[]byte("hello, this is not a protocol"),
		dtlsRecord,
		rtpLike,
		bindingRequest(t, "nosuchufrag:x", pwdA, true),
		bindingRequest(t, ufragA+":x", "wrong-password-0123456789", true),
		bindingRequest(t, ufragA+":x", pwdA, false),
	} {
		_, err := stranger.Write(pkt)
		must(t, err)
	}
	expectSilence(t, stranger, 200*time.Millisecond)

	tcpStranger, err := net.Dial("tcp4", net.JoinHostPort("127.0.0.1", itoa(pa.ICECandidates[1].Port)))
	must(t, err)
	must(t, listener.WriteFrame(tcpStranger, dtlsRecord))
	must(t, listener.WriteFrame(tcpStranger, bindingRequest(t, ufragA+":x", "bad-password-0123456789", true)))
	expectSilence(t, tcpStranger, 100*time.Millisecond)
	_ = tcpStranger.Close()

	st := srv.Stats()
	if st.DroppedUnknownTuple < 4 || st.DroppedUnknownUfrag < 1 {
		t.Errorf("server stats %+v", st)
	}
	if d := trA.Stats().Dropped; d < 3 {
		t.Errorf("transport A dropped %d", d)
	}
	for _, want := range []string{"unknown ufrag", "dropping STUN packet", "wrong ufrag or MESSAGE-INTEGRITY",
		"missing or bad FINGERPRINT", "unknown tuple"} {
		if !logs.contains(want) {
			t.Errorf("log lacks %q", want)
		}
	}

	bB := connectBrowser(t, trB)
	browserToServerRTP(t, bB, &recB)
	browserToServerRTP(t, bA, &recA)
	if trA.ICEState() != ice.StateCompleted || trA.DTLSState() != dtlstransport.StateConnected {
		t.Errorf("transport A: ICE %v DTLS %v", trA.ICEState(), trA.DTLSState())
	}

	// A valid check from the stranger on A's ufrag is answered: routing
	// by ufrag works for a new tuple, and RestartICE swaps credentials.
	_, err = stranger.Write(bindingRequest(t, ufragA+":x", pwdA, true))
	must(t, err)
	buf := make([]byte, 1500)
	must(t, stranger.SetReadDeadline(time.Now().Add(2*time.Second)))
	n, err := stranger.Read(buf)
	must(t, err)
	expectBindingSuccess(t, buf[:n], pwdA)
	newParams, err := trB.RestartICE()
	must(t, err)
	if newParams == pb.ICEParameters {
		t.Fatal("RestartICE kept the credentials")
	}
	stranger2, err := net.Dial("udp4", udpAddr) // the first tuple now belongs to A
	must(t, err)
	defer stranger2.Close()
	stranger = stranger2
	must(t, stranger.SetReadDeadline(time.Now().Add(2*time.Second)))
	_, err = stranger.Write(bindingRequest(t, newParams.UsernameFragment+":y", newParams.Password, true))
	must(t, err)
	n, err = stranger.Read(buf)
	must(t, err)
	expectBindingSuccess(t, buf[:n], newParams.Password)

	// The dump shows the sockets and routes: A's ufrag, B's old and new
	// ones (the old until the peer uses the new), and the validated
	// tuples (A: its browser and the stranger; B: its browser and the
	// second stranger).
	d := srv.Dump()
	if len(d.UDPSockets) != 1 || d.UDPSockets[0].Port() != pa.ICECandidates[0].Port ||
		len(d.TCPServers) != 1 || d.TCPServers[0].Port() != pa.ICECandidates[1].Port {
		t.Errorf("dump sockets udp %v tcp %v", d.UDPSockets, d.TCPServers)
	}
	ufrags := map[string]*rope.Transport{}
	for _, u := range d.Ufrags {
		ufrags[u.Ufrag] = u.Transport
	}
	if len(ufrags) != 3 || ufrags[ufragA] != trA || ufrags[pb.ICEParameters.UsernameFragment] != trB ||
		ufrags[newParams.UsernameFragment] != trB {
		t.Errorf("dump ufrags %+v", d.Ufrags)
	}
	tuples := map[*rope.Transport]int{}
	for _, tu := range d.Tuples {
		tuples[tu.Transport]++
	}
	if tuples[trA] < 2 || tuples[trB] < 2 {
		t.Errorf("dump tuples %+v", d.Tuples)
	}

	must(t, srv.Close())
	if trA.ICEState() != ice.StateClosed || trB.ICEState() != ice.StateClosed {
		t.Error("server close left transports open")
	}
}

func itoa(p uint16) string { return uintToString(uint64(p)) }

func uintToString(v uint64) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}

// TestWrongFingerprint gives connect() a fingerprint that is not the
// browser's: DTLS must fail and say why.
func TestWrongFingerprint(t *testing.T) {
	var rec recorder
	tr, err := rope.NewTransport(rec.options(udpInfo()))
	must(t, err)
	defer rec.wg.Wait()
	defer tr.Close()
	params := tr.Parameters()
	b := newBrowser(t)
	offer, remote := b.offer(t)
	fp := remote.Fingerprints[0]
	if strings.HasPrefix(fp.Value, "00") {
		fp.Value = "11" + fp.Value[2:]
	} else {
		fp.Value = "00" + fp.Value[2:]
	}
	remote.Fingerprints = []rope.DTLSFingerprint{fp}
	_, err = tr.Connect(remote)
	must(t, err)
	b.answer(t, offer, params, serverSSRC)
	waitFor(t, 10*time.Second, "DTLS failed", func() bool { return rec.lastDTLS() == dtlstransport.StateFailed })
	rec.mu.Lock()
	derr := rec.dtlsErr
	rec.mu.Unlock()
	if !errors.Is(derr, dtlstransport.ErrFingerprintMismatch) {
		t.Fatalf("DTLS error %v, want fingerprint mismatch", derr)
	}
	if err := tr.WriteRTP(rtpLikePacket()); !errors.Is(err, rope.ErrNotConnected) {
		t.Fatalf("WriteRTP after failed DTLS: %v", err)
	}
}

func rtpLikePacket() []byte {
	return append([]byte{0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1}, make([]byte, 10)...)
}

// TestConnectErrors checks connect() argument validation.
func TestConnectErrors(t *testing.T) {
	tr, err := rope.NewTransport(&rope.TransportOptions{ListenInfos: []rope.ListenInfo{udpInfo()}})
	must(t, err)
	defer tr.Close()
	if _, err := tr.Connect(rope.DTLSParameters{Role: "client"}); !errors.Is(err, rope.ErrNoFingerprint) {
		t.Errorf("no fingerprint: %v", err)
	}
	if _, err := tr.Connect(rope.DTLSParameters{Role: "boss", Fingerprints: []rope.DTLSFingerprint{{Algorithm: "sha-256", Value: "00"}}}); !errors.Is(err, dtlstransport.ErrInvalidRole) {
		t.Errorf("bad role: %v", err)
	}
	if _, err := tr.Connect(rope.DTLSParameters{Fingerprints: []rope.DTLSFingerprint{{Algorithm: "md5", Value: "00"}}}); !errors.Is(err, rope.ErrNoFingerprint) {
		t.Errorf("md5 only: %v", err)
	}
	role, err := tr.Connect(rope.DTLSParameters{Role: "auto", Fingerprints: []rope.DTLSFingerprint{{Algorithm: "sha-256", Value: "00"}}})
	if err != nil || role != dtlstransport.RoleClient {
		t.Errorf("auto: %v %v", role, err)
	}
	must(t, tr.Close())
	must(t, tr.Close())
	if _, err := tr.RestartICE(); !errors.Is(err, rope.ErrClosed) {
		t.Errorf("restart after close: %v", err)
	}
	if _, err := rope.NewTransport(&rope.TransportOptions{ListenInfos: []rope.ListenInfo{{Protocol: "sctp", IP: "127.0.0.1"}}}); !errors.Is(err, rope.ErrInvalidListenInfo) {
		t.Errorf("bad protocol: %v", err)
	}
	if _, err := rope.NewTransport(nil); !errors.Is(err, rope.ErrInvalidListenInfo) {
		t.Errorf("no listen infos: %v", err)
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestCandidateOptions checks mediasoup's enableUdp/enableTcp/preferUdp/
// preferTcp on a WebRtcServer with a UDP and a TCP socket.
func TestCandidateOptions(t *testing.T) {
	srv, err := rope.NewServer(&rope.ServerOptions{ListenInfos: []rope.ListenInfo{
		udpInfo(), {Protocol: "tcp", IP: "127.0.0.1", AnnouncedAddress: "media.example.com"}}})
	must(t, err)
	defer srv.Close()
	all := srv.Candidates(nil)
	if len(all) != 2 || all[0].Priority != 1076302079 || all[1].Priority != 1076276479 ||
		all[1].Address != "media.example.com" || all[1].TCPType != "passive" || all[0].Port == all[1].Port {
		t.Fatalf("candidates %+v", all)
	}
	tcpFirst := srv.Candidates(&rope.CandidateOptions{PreferTCP: true})
	if tcpFirst[1].Priority <= tcpFirst[0].Priority {
		t.Fatalf("preferTcp %+v", tcpFirst)
	}
	udpOnly := srv.Candidates(&rope.CandidateOptions{DisableTCP: true})
	if len(udpOnly) != 1 || udpOnly[0].Protocol != "udp" {
		t.Fatalf("udp only %+v", udpOnly)
	}
	tr, err := srv.NewTransport(&rope.TransportOptions{Candidates: &rope.CandidateOptions{DisableUDP: true}})
	must(t, err)
	if c := tr.Parameters().ICECandidates; len(c) != 1 || c[0].Protocol != "tcp" {
		t.Fatalf("transport candidates %+v", c)
	}
}
