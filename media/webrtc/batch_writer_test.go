package webrtc_test

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/pion/srtp/v3"

	rope "github.com/ropehq/rope/media/webrtc"
	"github.com/ropehq/rope/media/webrtc/ice"
	"github.com/ropehq/rope/media/webrtc/srtpsession"
)

// sharedPeer is a peer of a transport on a shared Server: its own UDP
// socket, ICE by one nominating check, SRTP keys set directly.
type sharedPeer struct {
	tr   *rope.Transport
	sock *net.UDPConn
	srtp *srtpsession.Session // the peer's side
}

// sharedTransports makes n transports on one Server's UDP socket, each
// with a peer that ran ICE from its own socket.
func sharedTransports(t *testing.T, n int) (*rope.Server, []*sharedPeer) {
	t.Helper()
	srv, err := rope.NewServer(&rope.ServerOptions{ListenInfos: []rope.ListenInfo{udpInfo()}, Logger: discard()})
	must(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	c := srv.Candidates(nil)[0]
	to := &net.UDPAddr{IP: net.ParseIP(c.IP), Port: int(c.Port)}
	var peers []*sharedPeer
	for i := range n {
		tr, err := srv.NewTransport(nil)
		must(t, err)
		sock, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		must(t, err)
		t.Cleanup(func() { _ = sock.Close() })
		p := tr.Parameters().ICEParameters
		_, err = sock.WriteToUDP(bindingRequest(t, p.UsernameFragment+":peer", p.Password, true), to)
		must(t, err)
		waitFor(t, 5*time.Second, "ICE completed", func() bool { return tr.ICEState() == ice.StateCompleted })
		key := func(b byte) []byte { return bytes.Repeat([]byte{b + byte(4*i)}, 16) }
		salt := func(b byte) []byte { return bytes.Repeat([]byte{b + byte(4*i)}, 12) }
		prof := srtp.ProtectionProfileAeadAes128Gcm
		local, err := srtpsession.New(&srtp.Config{Profile: prof, Keys: srtp.SessionKeys{
			LocalMasterKey: key(1), LocalMasterSalt: salt(2), RemoteMasterKey: key(3), RemoteMasterSalt: salt(4)}})
		must(t, err)
		remote, err := srtpsession.New(&srtp.Config{Profile: prof, Keys: srtp.SessionKeys{
			LocalMasterKey: key(3), LocalMasterSalt: salt(4), RemoteMasterKey: key(1), RemoteMasterSalt: salt(2)}})
		must(t, err)
		tr.SetSRTPForTest(local)
		// Drain the STUN response.
		must(t, sock.SetReadDeadline(time.Now().Add(5*time.Second)))
		buf := make([]byte, 1500)
		_, err = sock.Read(buf)
		must(t, err)
		peers = append(peers, &sharedPeer{tr: tr, sock: sock, srtp: remote})
	}
	return srv, peers
}

// TestRTPBatchWriter queues batches of three transports sharing one
// socket, flushes them together, and checks each peer gets its own
// packets decrypted and in order; then that a warm round does not
// allocate.
func TestRTPBatchWriter(t *testing.T) {
	_, peers := sharedTransports(t, 3)
	var w rope.RTPBatchWriter
	const perPeer = 30
	for round := range 3 {
		want := make([][][]byte, len(peers))
		for i, p := range peers {
			pkts := make([][]byte, perPeer)
			for j := range pkts {
				seq := uint16(round*perPeer + j)
				plain := batchPacket(seq, 100+i*10+j)
				want[i] = append(want[i], plain)
				pkts[j] = append(make([]byte, 0, 1500), plain...)
			}
			must(t, w.Add(p.tr, pkts))
		}
		must(t, w.Flush())
		for i, p := range peers {
			must(t, p.sock.SetReadDeadline(time.Now().Add(5*time.Second)))
			buf := make([]byte, 1500)
			for j := range perPeer {
				n, err := p.sock.Read(buf)
				must(t, err)
				plain, err := p.srtp.DecryptRTP(buf[:n])
				must(t, err)
				if !bytes.Equal(plain, want[i][j]) {
					t.Fatalf("round %d peer %d packet %d differs", round, i, j)
				}
			}
		}
	}
	if st := peers[0].tr.Stats(); st.RTPSent != 3*perPeer {
		t.Errorf("RTPSent %d", st.RTPSent)
	}

	bufs := make([][][]byte, len(peers))
	for i := range bufs {
		for range 4 {
			bufs[i] = append(bufs[i], make([]byte, 0, 1500))
		}
	}
	seq := uint16(1000)
	tmpl := batchPacket(0, 100)
	rbuf := make([]byte, 1500)
	allocs := testing.AllocsPerRun(20, func() {
		for i, p := range peers {
			for j := range bufs[i] {
				bufs[i][j] = append(bufs[i][j][:0], tmpl...)
				bufs[i][j][2], bufs[i][j][3] = byte(seq>>8), byte(seq)
				seq++
			}
			if err := w.Add(p.tr, bufs[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		for _, p := range peers {
			for range 4 {
				if _, err := p.sock.Read(rbuf); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per round", allocs)
	}
}

// TestRTPBatchWriterNotConnected checks that Add refuses a transport
// without a selected tuple and SRTP keys, queuing nothing. (Transports
// with sockets of their own go through WriteRTPBatchInPlace at once: the
// engine's forwarding tests over WebRtcTransports cover that.)
func TestRTPBatchWriterNotConnected(t *testing.T) {
	var rec recorder
	tr, err := rope.NewTransport(rec.options(udpInfo()))
	must(t, err)
	defer tr.Close()
	var w rope.RTPBatchWriter
	if err := w.Add(tr, [][]byte{make([]byte, 12, 1500)}); err != rope.ErrNotConnected {
		t.Fatalf("Add before ICE: %v", err)
	}
	must(t, w.Flush())
}
