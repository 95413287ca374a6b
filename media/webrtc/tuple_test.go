package webrtc_test

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/pion/srtp/v3"

	rope "github.com/ropehq/rope/media/webrtc"
	"github.com/ropehq/rope/media/webrtc/ice"
	"github.com/ropehq/rope/media/webrtc/listener"
	"github.com/ropehq/rope/media/webrtc/srtpsession"
)

// TestSelectedTupleSwitch drives ICE with raw checks from two UDP sockets
// and a TCP connection: each nomination switches the selected tuple
// (iceselectedtuplechange) and outbound RTP follows it; closing the
// selected TCP connection falls back to a remaining tuple.
func TestSelectedTupleSwitch(t *testing.T) {
	var rec recorder
	opts := rec.options(udpInfo(), tcpInfo())
	opts.EnableSCTP = false
	tr, err := rope.NewTransport(opts)
	must(t, err)
	defer tr.Close()
	p := tr.Parameters()
	user, pwd := p.ICEParameters.UsernameFragment+":raw", p.ICEParameters.Password
	udpAddr := net.JoinHostPort(p.ICECandidates[0].Address, itoa(p.ICECandidates[0].Port))
	tcpAddr := net.JoinHostPort(p.ICECandidates[1].Address, itoa(p.ICECandidates[1].Port))

	a, err := net.Dial("udp4", udpAddr)
	must(t, err)
	defer a.Close()
	b, err := net.Dial("udp4", udpAddr)
	must(t, err)
	defer b.Close()
	buf := make([]byte, listener.MaxPacketSize)
	check := func(c net.Conn) {
		t.Helper()
		_, err := c.Write(bindingRequest(t, user, pwd, true))
		must(t, err)
		must(t, c.SetReadDeadline(time.Now().Add(2*time.Second)))
		n, err := c.Read(buf)
		must(t, err)
		expectBindingSuccess(t, buf[:n], pwd)
	}
	check(a)
	if tr.ICEState() != ice.StateCompleted || mustTuple(t, tr).Remote.String() != a.LocalAddr().String() {
		t.Fatalf("after A: %v %v", tr.ICEState(), mustTuple(t, tr))
	}
	peer := installSRTP(t, tr)
	seq := byte(0)
	expectRTP := func(c net.Conn, read func([]byte) (int, error)) {
		t.Helper()
		plain := rtpLikePacket()
		seq++
		plain[3] = seq
		must(t, tr.WriteRTP(plain))
		must(t, c.SetReadDeadline(time.Now().Add(2*time.Second)))
		n, err := read(buf)
		must(t, err)
		got, err := peer.DecryptRTP(buf[:n])
		must(t, err)
		if !bytes.Equal(got, plain) {
			t.Fatalf("RTP on the selected tuple: %x", got)
		}
	}
	expectRTP(a, a.Read)
	check(b)
	expectRTP(b, b.Read)

	c, err := net.Dial("tcp4", tcpAddr)
	must(t, err)
	must(t, listener.WriteFrame(c, bindingRequest(t, user, pwd, true)))
	must(t, c.SetReadDeadline(time.Now().Add(2*time.Second)))
	n, err := listener.ReadFrame(c, buf)
	must(t, err)
	expectBindingSuccess(t, buf[:n], pwd)
	if sel := mustTuple(t, tr); sel.Protocol != ice.TCP {
		t.Fatalf("TCP check did not select: %v", sel)
	}
	expectRTP(c, func(p []byte) (int, error) { return listener.ReadFrame(c, p) })

	_ = c.Close()
	waitFor(t, 2*time.Second, "fallback from the closed TCP tuple", func() bool {
		sel, ok := tr.ICESelectedTuple()
		return ok && sel.Protocol == ice.UDP
	})
	rec.mu.Lock()
	n = len(rec.tuples)
	rec.mu.Unlock()
	if n != 4 {
		t.Errorf("iceselectedtuplechange fired %d times, want 4 (A, B, TCP, fallback)", n)
	}
}

// installSRTP gives tr SRTP keys and returns the peer's session.
func installSRTP(t *testing.T, tr *rope.Transport) *srtpsession.Session {
	t.Helper()
	k1, s1 := bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 12)
	k2, s2 := bytes.Repeat([]byte{3}, 16), bytes.Repeat([]byte{4}, 12)
	prof := srtp.ProtectionProfileAeadAes128Gcm
	local, err := srtpsession.New(&srtp.Config{Profile: prof, Keys: srtp.SessionKeys{
		LocalMasterKey: k1, LocalMasterSalt: s1, RemoteMasterKey: k2, RemoteMasterSalt: s2}})
	must(t, err)
	peer, err := srtpsession.New(&srtp.Config{Profile: prof, Keys: srtp.SessionKeys{
		LocalMasterKey: k2, LocalMasterSalt: s2, RemoteMasterKey: k1, RemoteMasterSalt: s1}})
	must(t, err)
	tr.SetSRTPForTest(local)
	return peer
}
