package webrtc_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/dtls/v3"

	rope "github.com/ropehq/rope/media/webrtc"
	"github.com/ropehq/rope/media/webrtc/dtlstransport"
)

// rawPeer plays a browser that never opens a data channel (as
// mediasoup-client before its first one): one ICE check and a DTLS
// handshake as client from its own socket, and no SCTP.
type rawPeer struct {
	sock *net.UDPConn
	pc   *dtlstransport.PacketConn
	conn *dtls.Conn
	wg   sync.WaitGroup
}

// dialRaw connects a rawPeer to tr's first candidate until DTLS is up on
// both sides.
func dialRaw(t *testing.T, tr *rope.Transport) *rawPeer {
	t.Helper()
	cert, err := dtlstransport.GenerateCertificate()
	must(t, err)
	_, err = tr.Connect(rope.DTLSParameters{Role: dtlstransport.RoleClient, Fingerprints: cert.Fingerprints[:1]})
	must(t, err)
	p := tr.Parameters()
	c := p.ICECandidates[0]
	remote, err := net.ResolveUDPAddr("udp4", fmt.Sprintf("%s:%d", c.Address, c.Port))
	must(t, err)
	sock, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	must(t, err)
	r := &rawPeer{sock: sock}
	r.pc = dtlstransport.NewPacketConn(remote, func(b []byte) error {
		_, err := sock.WriteToUDP(b, remote)
		return err
	})
	stunIn := make(chan struct{}, 1)
	r.wg.Go(func() {
		buf := make([]byte, 1500)
		for {
			n, err := sock.Read(buf)
			if err != nil {
				return
			}
			switch b := buf[:n]; {
			case n > 0 && b[0] < 4:
				select {
				case stunIn <- struct{}{}:
				default:
				}
			case n > 0 && b[0] >= 20 && b[0] < 64:
				r.pc.Push(b)
			}
		}
	})
	t.Cleanup(r.close)
	req := bindingRequest(t, p.ICEParameters.UsernameFragment+":raw", p.ICEParameters.Password, true)
	for answered := false; !answered; {
		_, err := sock.WriteToUDP(req, remote)
		must(t, err)
		select {
		case <-stunIn:
			answered = true
		case <-time.After(100 * time.Millisecond):
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.conn, err = dtlstransport.Handshake(ctx, r.pc, remote, dtlstransport.Config{Role: dtlstransport.RoleClient,
		Certificate: cert, RemoteFingerprint: p.DTLSParameters.Fingerprints[0]})
	must(t, err)
	waitFor(t, 10*time.Second, "DTLS connected", func() bool { return tr.DTLSState() == dtlstransport.StateConnected })
	return r
}

func (r *rawPeer) close() {
	if r.conn != nil {
		_ = r.conn.Close()
	}
	_ = r.pc.Close()
	_ = r.sock.Close()
	r.wg.Wait()
}

// noWarnings fails on a warning or error in the log.
func noWarnings(t *testing.T, log *logBuffer) {
	t.Helper()
	log.mu.Lock()
	defer log.mu.Unlock()
	for line := range strings.SplitSeq(log.buf.String(), "\n") {
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
			t.Errorf("logged: %s", line)
		}
	}
}

// A transport with SCTP whose peer never opened a data channel (so its
// association never got past the INIT) logs no warning or error when it
// closes, nor when the peer leaves (DTLS close_notify) first, which fails
// the association.
func TestSCTPNeverOpenedClosesQuietly(t *testing.T) {
	for _, peerLeaves := range []bool{false, true} {
		t.Run(fmt.Sprintf("peer leaves %v", peerLeaves), func(t *testing.T) {
			var log logBuffer
			var rec recorder
			opts := rec.options(udpInfo())
			opts.Logger = log.logger()
			tr, err := rope.NewTransport(opts)
			must(t, err)
			defer rec.wg.Wait()
			r := dialRaw(t, tr)
			waitFor(t, 5*time.Second, "SCTP connecting", func() bool { return tr.SCTPState() == rope.SCTPStateConnecting })
			if peerLeaves {
				must(t, r.conn.Close())
				waitFor(t, 5*time.Second, "DTLS closed", func() bool { return tr.DTLSState() == dtlstransport.StateClosed })
				// Without DTLS the association cannot come up.
				waitFor(t, 5*time.Second, "SCTP failed", func() bool { return tr.SCTPState() == rope.SCTPStateFailed })
			}
			must(t, tr.Close())
			noWarnings(t, &log)
		})
	}
}
