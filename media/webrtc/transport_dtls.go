package webrtc

import (
	"context"
	"encoding/pem"
	"errors"

	"github.com/pion/dtls/v3"

	"github.com/ropehq/rope/media/internal/pionlog"
	"github.com/ropehq/rope/media/webrtc/dtlstransport"
	"github.com/ropehq/rope/media/webrtc/ice"
	"github.com/ropehq/rope/media/webrtc/srtpsession"
)

// maybeRunDTLS starts DTLS once connect() was called and ICE is connected,
// as mediasoup's MayRunDtlsTransport.
func (t *Transport) maybeRunDTLS() {
	st := t.ICEState()
	if st != ice.StateConnected && st != ice.StateCompleted {
		return
	}
	t.mu.Lock()
	if t.closed || t.dtlsStarted || t.remote == nil {
		t.mu.Unlock()
		return
	}
	t.dtlsStarted = true
	ctx, cancel := context.WithCancel(context.Background())
	t.cancelDTLS = cancel
	cfg := dtlstransport.Config{
		Role:              t.localRole,
		Certificate:       t.cert,
		RemoteFingerprint: *t.remote,
		LoggerFactory:     pionlog.Factory{Logger: t.logger},
	}
	t.wg.Add(1)
	t.mu.Unlock()
	t.setDTLSState(dtlstransport.StateConnecting, nil)
	go t.runDTLS(ctx, cfg)
}

// runDTLS owns the DTLS conn: handshake, SRTP keys, then SCTP or a drain
// loop that notices the peer closing DTLS.
func (t *Transport) runDTLS(ctx context.Context, cfg dtlstransport.Config) {
	defer t.wg.Done()
	defer t.guard()
	conn, err := dtlstransport.Handshake(ctx, t.pc, dtlsPeerAddr{}, cfg)
	if err == nil {
		err = t.startSRTP(conn, cfg.Role)
		if err != nil {
			_ = conn.Close()
		}
	}
	if err != nil {
		if ctx.Err() == nil {
			t.logger.Warn("webrtc: DTLS failed", "role", cfg.Role, "err", err)
			t.setDTLSState(dtlstransport.StateFailed, err)
		}
		return
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		_ = conn.Close()
		return
	}
	t.dtlsConn = conn
	t.remoteCert = remoteCertPEM(conn)
	t.mu.Unlock()
	t.setDTLSState(dtlstransport.StateConnected, nil)
	if t.opts.EnableSCTP {
		t.runSCTP(ctx, conn)
	}
	// Without SCTP, or after the peer aborted it, keep reading DTLS to
	// notice close_notify.
	if ctx.Err() == nil {
		t.drainDTLS(conn)
	}
}

// remoteCertPEM is the peer's certificate, PEM encoded, or "".
func remoteCertPEM(conn *dtls.Conn) string {
	st, ok := conn.ConnectionState()
	if !ok || len(st.PeerCertificates) == 0 {
		return ""
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: st.PeerCertificates[0]}))
}

// RemoteCertificate returns the peer's DTLS certificate in PEM once DTLS
// is connected (mediasoup's dtlsRemoteCert), else "".
func (t *Transport) RemoteCertificate() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.remoteCert
}

// startSRTP derives the SRTP session from the handshake.
func (t *Transport) startSRTP(conn *dtls.Conn, role dtlstransport.Role) error {
	cfg, err := dtlstransport.ExportSRTP(conn, role)
	if err != nil {
		return err
	}
	sess, err := srtpsession.New(cfg)
	if err != nil {
		return err
	}
	t.srtp.Store(sess)
	return nil
}

// drainDTLS discards application data until DTLS ends. It reads with no
// buffer: pion/dtls drops each record after failing the read with a
// temporary error, as for the records it rejects itself (bad content
// type, data at epoch 0), which do not end DTLS. A 64 KiB buffer here
// grew this goroutine's stack to 128 KiB on every connected transport.
func (t *Transport) drainDTLS(conn *dtls.Conn) {
	for {
		_, err := conn.Read(nil)
		if temp := (*dtls.TemporaryError)(nil); err == nil || errors.As(err, &temp) {
			continue
		}
		t.dtlsEnded(err)
		return
	}
}

// dtlsEnded records the end of DTLS: closed by the peer (close_notify) or
// broken, unless the transport itself is closing.
func (t *Transport) dtlsEnded(err error) {
	t.mu.Lock()
	done := t.closed || t.dtlsState == dtlstransport.StateClosed
	t.mu.Unlock()
	if done {
		return
	}
	t.logger.Info("webrtc: DTLS ended", "err", err)
	t.srtp.Store(nil)
	t.setDTLSState(dtlstransport.StateClosed, nil)
}

// setDTLSState moves DTLS to st and tells OnDTLSStateChange.
func (t *Transport) setDTLSState(st dtlstransport.State, err error) {
	t.mu.Lock()
	if t.closed || t.dtlsState == st || t.dtlsState == dtlstransport.StateClosed {
		t.mu.Unlock()
		return
	}
	t.dtlsState = st
	t.mu.Unlock()
	if f := t.opts.OnDTLSStateChange; f != nil {
		f(st, err)
	}
}

// SRTPProfile returns the negotiated SRTP profile name, or "" before DTLS
// is connected.
func (t *Transport) SRTPProfile() string {
	if s := t.srtp.Load(); s != nil {
		return s.Profile().String()
	}
	return ""
}
