package dtlstransport

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"

	"github.com/pion/dtls/v3"
	"github.com/pion/logging"
	"github.com/pion/srtp/v3"
)

// SRTPProfiles are the SRTP protection profiles offered, in mediasoup's
// order of preference (AEAD_AES_256_GCM is left out: browsers do not offer
// it by default and AES-128-GCM is what mediasoup settles on).
var SRTPProfiles = []dtls.SRTPProtectionProfile{
	dtls.SRTP_AEAD_AES_128_GCM,
	dtls.SRTP_AES128_CM_HMAC_SHA1_80,
	dtls.SRTP_AES128_CM_HMAC_SHA1_32,
	dtls.SRTP_AEAD_AES_256_GCM,
}

// Config configures [Handshake].
type Config struct {
	// Role is the local role, client or server (auto is resolved before).
	Role Role
	// Certificate is the local certificate.
	Certificate *Certificate
	// RemoteFingerprint is the fingerprint the peer's certificate must hash to.
	RemoteFingerprint Fingerprint
	// LoggerFactory receives pion/dtls logs; nil means pion's default.
	LoggerFactory logging.LoggerFactory
}

// Handshake runs a DTLS handshake over pc in cfg.Role and verifies the peer
// certificate against cfg.RemoteFingerprint. The returned conn carries
// application data (SCTP); use [ExportSRTP] for the SRTP keys.
func Handshake(ctx context.Context, pc net.PacketConn, addr net.Addr, cfg Config) (*dtls.Conn, error) {
	verify := func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return ErrNoCertificate
		}
		return Verify(raw[0], cfg.RemoteFingerprint)
	}
	var (
		conn *dtls.Conn
		err  error
	)
	common := []dtls.Option{
		dtls.WithCertificates(cfg.Certificate.TLS),
		dtls.WithSRTPProtectionProfiles(SRTPProfiles...),
		dtls.WithInsecureSkipVerify(true),
		dtls.WithVerifyPeerCertificate(verify),
	}
	if cfg.LoggerFactory != nil {
		common = append(common, dtls.WithLoggerFactory(cfg.LoggerFactory))
	}
	if cfg.Role == RoleServer {
		opts := make([]dtls.ServerOption, 0, len(common)+1)
		for _, o := range common {
			opts = append(opts, o)
		}
		opts = append(opts, dtls.WithClientAuth(dtls.RequireAnyClientCert))
		conn, err = dtls.ServerWithOptions(pc, addr, opts...)
	} else {
		opts := make([]dtls.ClientOption, 0, len(common))
		for _, o := range common {
			opts = append(opts, o)
		}
		conn, err = dtls.ClientWithOptions(pc, addr, opts...)
	}
	if err != nil {
		return nil, fmt.Errorf("dtlstransport: new conn: %w", err)
	}
	if err := conn.HandshakeContext(ctx); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("dtlstransport: handshake: %w", err)
	}
	return conn, nil
}

// ExportSRTP returns the srtp.Config (profile and keys) negotiated on conn,
// with local and remote keys per role (RFC 5764 section 4.2).
func ExportSRTP(conn *dtls.Conn, role Role) (*srtp.Config, error) {
	profile, ok := conn.SelectedSRTPProtectionProfile()
	if !ok {
		return nil, ErrNoSRTPProfile
	}
	state, ok := conn.ConnectionState()
	if !ok {
		return nil, fmt.Errorf("%w: no connection state", ErrNoSRTPProfile)
	}
	cfg := &srtp.Config{Profile: srtp.ProtectionProfile(profile)}
	if err := cfg.ExtractSessionKeysFromDTLS(&state, role == RoleClient); err != nil {
		return nil, fmt.Errorf("dtlstransport: export keys: %w", err)
	}
	return cfg, nil
}
