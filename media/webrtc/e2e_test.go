package webrtc_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sctp"
	pion "github.com/pion/webrtc/v4"

	rope "github.com/ropehq/rope/media/webrtc"
	"github.com/ropehq/rope/media/webrtc/dtlstransport"
	"github.com/ropehq/rope/media/webrtc/ice"
)

const serverSSRC = 0x5e4e7

// recorder collects what a transport hands to its callbacks.
type recorder struct {
	mu        sync.Mutex
	rtp       []rtp.Packet
	rtcp      [][]byte
	iceStates []ice.State
	dtls      []dtlstransport.State
	dtlsErr   error
	sctp      []rope.SCTPState
	tuples    []ice.Tuple
	msgs      []string
	wg        sync.WaitGroup
}

func (r *recorder) options(infos ...rope.ListenInfo) *rope.TransportOptions {
	return &rope.TransportOptions{
		ListenInfos: infos,
		EnableSCTP:  true,
		OnRTP: func(b []byte) {
			var p rtp.Packet
			if err := p.Unmarshal(bytes.Clone(b)); err == nil {
				r.mu.Lock()
				r.rtp = append(r.rtp, p)
				r.mu.Unlock()
			}
		},
		OnRTCP: func(b []byte) { r.mu.Lock(); r.rtcp = append(r.rtcp, bytes.Clone(b)); r.mu.Unlock() },
		OnICEStateChange: func(s ice.State) {
			r.mu.Lock()
			r.iceStates = append(r.iceStates, s)
			r.mu.Unlock()
		},
		OnICESelectedTupleChange: func(tup ice.Tuple) {
			r.mu.Lock()
			r.tuples = append(r.tuples, tup)
			r.mu.Unlock()
		},
		OnDTLSStateChange: func(s dtlstransport.State, err error) {
			r.mu.Lock()
			r.dtls = append(r.dtls, s)
			if err != nil {
				r.dtlsErr = err
			}
			r.mu.Unlock()
		},
		OnSCTPStateChange: func(s rope.SCTPState) { r.mu.Lock(); r.sctp = append(r.sctp, s); r.mu.Unlock() },
		OnSCTPStream:      r.echo,
	}
}

// echo reads messages on a stream and answers each with "echo: <msg>".
func (r *recorder) echo(st *sctp.Stream) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		buf := make([]byte, 1<<16)
		for {
			n, ppi, err := st.ReadSCTP(buf)
			if err != nil {
				return
			}
			msg := string(buf[:n])
			r.mu.Lock()
			r.msgs = append(r.msgs, msg)
			r.mu.Unlock()
			if _, err := st.WriteSCTP([]byte("echo: "+msg), ppi); err != nil {
				return
			}
		}
	}()
}

func (r *recorder) lastDTLS() dtlstransport.State {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.dtls) == 0 {
		return dtlstransport.StateNew
	}
	return r.dtls[len(r.dtls)-1]
}

func (r *recorder) count() (nRTP, nRTCP int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.rtp), len(r.rtcp)
}

func udpInfo() rope.ListenInfo {
	return rope.ListenInfo{Protocol: "udp", IP: "127.0.0.1", RecvBufferSize: 1 << 20, SendBufferSize: 1 << 20}
}

func tcpInfo() rope.ListenInfo { return rope.ListenInfo{Protocol: "tcp", IP: "127.0.0.1"} }

// TestE2EPeerConnection runs ICE, DTLS, SRTP both ways and a data channel
// both ways between a pion PeerConnection (as mediasoup-client in a
// browser) and a Transport.
func TestE2EPeerConnection(t *testing.T) {
	for _, c := range []struct {
		name        string
		infos       []rope.ListenInfo
		browserRole dtlstransport.Role
	}{
		{"udp", []rope.ListenInfo{udpInfo()}, dtlstransport.RoleClient},
		{"tcp", []rope.ListenInfo{tcpInfo()}, dtlstransport.RoleClient},
		{"udp-browser-dtls-server", []rope.ListenInfo{udpInfo()}, dtlstransport.RoleServer},
	} {
		t.Run(c.name, func(t *testing.T) { testE2E(t, c.infos, c.browserRole) })
	}
}

func testE2E(t *testing.T, infos []rope.ListenInfo, browserRole dtlstransport.Role) {
	var rec recorder
	tr, err := rope.NewTransport(rec.options(infos...))
	must(t, err)
	defer rec.wg.Wait()
	defer tr.Close()

	checkParameters(t, tr.Parameters())
	b := connectBrowserAs(t, tr, browserRole)
	t.Logf("SRTP profile %s, selected tuple %v", tr.SRTPProfile(), mustTuple(t, tr))

	browserToServerRTP(t, b, &rec)
	serverToBrowserRTP(t, b, tr)
	rtcpBothWays(t, b, tr, &rec)
	dataChannelBothWays(t, b, tr, &rec)

	must(t, b.pc.Close())
	must(t, tr.Close())
	if st := tr.ICEState(); st != ice.StateClosed {
		t.Errorf("ICE state after close %v", st)
	}
}

// connectBrowser runs a new browser through offer, connect() and answer
// against tr until DTLS is connected.
func connectBrowser(t *testing.T, tr *rope.Transport) *browser {
	t.Helper()
	return connectBrowserAs(t, tr, dtlstransport.RoleClient)
}

// connectBrowserAs is connectBrowser with the browser's DTLS role forced,
// as mediasoup-client's forcedLocalDtlsRole does (default client).
func connectBrowserAs(t *testing.T, tr *rope.Transport, browserRole dtlstransport.Role) *browser {
	t.Helper()
	params := tr.Parameters()
	if c := tr.RemoteCertificate(); c != "" {
		t.Fatalf("remote certificate before DTLS: %q", c)
	}
	b := newBrowser(t)
	offer, remoteDTLS := b.offer(t)
	remoteDTLS.Role = browserRole
	role, err := tr.Connect(remoteDTLS)
	must(t, err)
	if want := dtlstransport.LocalRole(browserRole); role != want {
		t.Fatalf("local role %q, want %q", role, want)
	}
	if _, err := tr.Connect(remoteDTLS); !errors.Is(err, rope.ErrAlreadyConnected) {
		t.Fatalf("second Connect: %v", err)
	}
	setup := "passive" // the transport is DTLS server
	if role == dtlstransport.RoleClient {
		setup = "active"
	}
	must(t, b.pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeAnswer,
		SDP: remoteSDP(offer, params, setup, serverSSRC)}))
	waitFor(t, 10*time.Second, "DTLS connected", func() bool { return tr.DTLSState() == dtlstransport.StateConnected })
	if st := tr.ICEState(); st != ice.StateCompleted {
		t.Errorf("ICE state %v, want completed", st)
	}
	if p := tr.Parameters().DTLSParameters.Role; p != role {
		t.Errorf("dtlsParameters.role after connect %q", p)
	}
	if c := tr.RemoteCertificate(); !strings.HasPrefix(c, "-----BEGIN CERTIFICATE-----\n") {
		t.Errorf("remote certificate after DTLS %q", c)
	}
	return b
}

func checkParameters(t *testing.T, p rope.Parameters) {
	t.Helper()
	if len(p.ICEParameters.UsernameFragment) != ice.UfragLength || len(p.ICEParameters.Password) != ice.PasswordLength ||
		!p.ICEParameters.ICELite {
		t.Errorf("iceParameters %+v", p.ICEParameters)
	}
	if len(p.ICECandidates) != 1 {
		t.Fatalf("candidates %+v", p.ICECandidates)
	}
	c := p.ICECandidates[0]
	if c.Foundation != c.Protocol+"candidate" || c.Priority != 1076302079 || c.Type != "host" || c.Port == 0 ||
		(c.Protocol == "tcp") != (c.TCPType == "passive") {
		t.Errorf("candidate %+v", c)
	}
	if p.SCTPParameters == nil || *p.SCTPParameters != (rope.SCTPParameters{Port: 5000, OS: 1024, MIS: 1024, MaxMessageSize: 262144}) {
		t.Errorf("sctpParameters %+v", p.SCTPParameters)
	}
	if p.DTLSParameters.Role != "auto" || len(p.DTLSParameters.Fingerprints) != 5 {
		t.Errorf("dtlsParameters %+v", p.DTLSParameters)
	}
	js, err := json.Marshal(p)
	must(t, err)
	for _, key := range []string{`"iceParameters":{"usernameFragment":`, `"iceLite":true`, `"foundation":"`,
		`"dtlsParameters":{"role":"auto","fingerprints":[{"algorithm":"sha-1"`,
		`"sctpParameters":{"port":5000,"OS":1024,"MIS":1024,"maxMessageSize":262144}`} {
		if !bytes.Contains(js, []byte(key)) {
			t.Errorf("JSON %s lacks %s", js, key)
		}
	}
}

func mustTuple(t *testing.T, tr *rope.Transport) ice.Tuple {
	t.Helper()
	tup, ok := tr.ICESelectedTuple()
	if !ok {
		t.Fatal("no selected tuple")
	}
	return tup
}

func browserToServerRTP(t *testing.T, b *browser, rec *recorder) {
	t.Helper()
	payload := []byte("browser frame")
	before, _ := rec.count()
	seq := uint16(before * 100)
	waitFor(t, 5*time.Second, "RTP at the server", func() bool {
		seq++
		must(t, b.track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: vp8PT, SequenceNumber: seq, Timestamp: 1}, Payload: payload}))
		n, _ := rec.count()
		return n > before
	})
	rec.mu.Lock()
	got := rec.rtp[before]
	rec.mu.Unlock()
	if !bytes.Equal(got.Payload, payload) || got.PayloadType != vp8PT {
		t.Fatalf("server got %v", got)
	}
}

func serverToBrowserRTP(t *testing.T, b *browser, tr *rope.Transport) {
	t.Helper()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // send until the browser has the track
		defer close(done)
		for seq := uint16(1); ; seq++ {
			pkt, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: vp8PT, SequenceNumber: seq,
				Timestamp: uint32(seq) * 3000, SSRC: serverSSRC}, Payload: []byte{0x10, 0x02, 0x00, 0x9d}}).Marshal()
			_ = tr.WriteRTP(pkt)
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	defer func() { close(stop); <-done }()
	select {
	case track := <-b.tracks:
		pkt, _, err := track.ReadRTP()
		must(t, err)
		if pkt.SSRC != serverSSRC || !bytes.Equal(pkt.Payload, []byte{0x10, 0x02, 0x00, 0x9d}) {
			t.Fatalf("browser got %v", pkt)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("browser got no track")
	}
}

func rtcpBothWays(t *testing.T, b *browser, tr *rope.Transport, rec *recorder) {
	t.Helper()
	pli := &rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: serverSSRC}
	waitFor(t, 5*time.Second, "RTCP at the server", func() bool {
		must(t, b.pc.WriteRTCP([]rtcp.Packet{pli}))
		_, n := rec.count()
		return n > 0
	})
	browserSSRC := uint32(b.sender.GetParameters().Encodings[0].SSRC)
	raw, err := (&rtcp.PictureLossIndication{SenderSSRC: serverSSRC, MediaSSRC: browserSSRC}).Marshal()
	must(t, err)
	must(t, tr.WriteRTCP(raw))
	must(t, b.sender.SetReadDeadline(time.Now().Add(5*time.Second)))
	pkts, _, err := b.sender.ReadRTCP()
	must(t, err)
	if p, ok := pkts[0].(*rtcp.PictureLossIndication); !ok || p.MediaSSRC != browserSSRC {
		t.Fatalf("browser got RTCP %v", pkts)
	}
}

func dataChannelBothWays(t *testing.T, b *browser, tr *rope.Transport, rec *recorder) {
	t.Helper()
	select {
	case <-b.open:
	case <-time.After(5 * time.Second):
		t.Fatal("data channel not open")
	}
	waitFor(t, 5*time.Second, "SCTP connected", func() bool { return tr.SCTPState() == rope.SCTPStateConnected })
	must(t, b.dc.SendText("hello"))
	select {
	case m := <-b.msgs:
		if m != "echo: hello" {
			t.Fatalf("browser got %q", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no echo on the data channel")
	}
	assoc, err := tr.SCTPAssociation()
	must(t, err)
	st, err := assoc.OpenStream(0, sctp.PayloadTypeWebRTCString)
	must(t, err)
	if _, err := st.WriteSCTP([]byte("from server"), sctp.PayloadTypeWebRTCString); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-b.msgs:
		if m != "from server" {
			t.Fatalf("browser got %q", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no server message on the data channel")
	}
}
