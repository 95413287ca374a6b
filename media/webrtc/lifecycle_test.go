package webrtc_test

import (
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/pion/datachannel"
	"github.com/pion/logging"
	"github.com/pion/sctp"
	pion "github.com/pion/webrtc/v4"

	rope "github.com/ropehq/rope/media/webrtc"
	"github.com/ropehq/rope/media/webrtc/dtlstransport"
	"github.com/ropehq/rope/media/webrtc/ice"
)

// TestPeerGoneConsentExpires closes the browser: its DTLS close_notify
// closes DTLS and, without checks, ICE consent expires to disconnected.
func TestPeerGoneConsentExpires(t *testing.T) {
	var rec recorder
	opts := rec.options(udpInfo())
	opts.ICEConsentTimeout = 400 * time.Millisecond
	if os.Getenv("ROPE_DEBUG") != "" {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug - 4}))
	}
	tr, err := rope.NewTransport(opts)
	must(t, err)
	defer rec.wg.Wait()
	defer tr.Close()
	b := connectBrowser(t, tr)
	// Close only once the browser has DTLS up too: before that it has no
	// session to send close_notify on.
	waitFor(t, 5*time.Second, "browser connected", func() bool {
		return b.pc.ConnectionState() == pion.PeerConnectionStateConnected
	})
	must(t, b.pc.Close())
	waitFor(t, 5*time.Second, "DTLS closed", func() bool { return tr.DTLSState() == dtlstransport.StateClosed })
	waitFor(t, 5*time.Second, "ICE disconnected", func() bool { return tr.ICEState() == ice.StateDisconnected })
	if _, ok := tr.ICESelectedTuple(); ok {
		t.Error("selected tuple after consent expiry")
	}
	if err := tr.WriteRTP(rtpLikePacket()); !errors.Is(err, rope.ErrNotConnected) {
		t.Errorf("WriteRTP when disconnected: %v", err)
	}
	waitFor(t, time.Second, "icestatechange disconnected", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		n := len(rec.iceStates)
		return n >= 2 && rec.iceStates[n-1] == ice.StateDisconnected
	})
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.tuples) == 0 {
		t.Error("no iceselectedtuplechange")
	}
}

// TestDCEPDataChannel opens an in-band (DCEP) data channel from the
// browser: the engine hands the stream to pion/datachannel, which answers
// DATA_CHANNEL_OPEN with an ACK.
func TestDCEPDataChannel(t *testing.T) {
	var rec recorder
	opts := rec.options(udpInfo())
	labels := make(chan string, 1)
	opts.OnSCTPStream = func(st *sctp.Stream) {
		rec.wg.Add(1)
		go func() {
			defer rec.wg.Done()
			dc, err := datachannel.Server(st, &datachannel.Config{LoggerFactory: logging.NewDefaultLoggerFactory()})
			if err != nil {
				return
			}
			labels <- dc.Config.Label
			buf := make([]byte, 1500)
			for {
				n, isString, err := dc.ReadDataChannel(buf)
				if err != nil {
					return
				}
				if _, err := dc.WriteDataChannel(append([]byte("dcep: "), buf[:n]...), isString); err != nil {
					return
				}
			}
		}()
	}
	tr, err := rope.NewTransport(opts)
	must(t, err)
	defer rec.wg.Wait()
	defer tr.Close()
	b := connectBrowser(t, tr)
	dc, err := b.pc.CreateDataChannel("in-band", nil)
	must(t, err)
	got := make(chan string, 1)
	dc.OnMessage(func(m pion.DataChannelMessage) { got <- string(m.Data) })
	opened := make(chan struct{})
	dc.OnOpen(func() { close(opened) })
	select {
	case l := <-labels:
		if l != "in-band" {
			t.Fatalf("label %q", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no DCEP open at the server")
	}
	select {
	case <-opened:
	case <-time.After(5 * time.Second):
		t.Fatal("browser channel not open (no DCEP ACK)")
	}
	must(t, dc.SendText("ping"))
	select {
	case m := <-got:
		if m != "dcep: ping" {
			t.Fatalf("browser got %q", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no answer on the DCEP channel")
	}
	must(t, b.pc.Close())
}
