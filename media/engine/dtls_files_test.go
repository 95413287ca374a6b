package engine_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/mediatest"
)

// writeCertificate writes a self-signed certificate and its key as PEM
// files and returns their paths and the certificate's SHA-256
// fingerprint as DTLS writes it (upper-case hex, colon-separated).
func writeCertificate(t *testing.T) (certFile, keyFile, fingerprint string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "files"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for path, block := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "EC PRIVATE KEY", Bytes: keyDER}} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	sum := sha256.Sum256(der)
	hexes := make([]string, len(sum))
	for i, b := range sum {
		hexes[i] = fmt.Sprintf("%02X", b)
	}
	return certFile, keyFile, strings.Join(hexes, ":")
}

// A worker's dtlsCertificateFile and dtlsPrivateKeyFile are the DTLS
// certificate of its WebRTC transports, as in mediasoup; files that do
// not hold a pair are a TypeError at createWorker.
func TestWorkerDtlsCertificateFiles(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	api := engine.New(nil)
	certFile, keyFile, fp := writeCertificate(t)
	w := must[media.Worker](t)(api.CreateWorker(ctx, &media.WorkerSettings{DtlsCertificateFile: certFile, DtlsPrivateKeyFile: keyFile}))
	defer w.Close(ctx)
	r := must[media.Router](t)(w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()}))
	tr := must[media.WebRtcTransport](t)(r.CreateWebRtcTransport(ctx, &media.WebRtcTransportOptions{
		ListenInfos: []media.TransportListenInfo{{Protocol: media.ProtocolUDP, IP: "127.0.0.1"}}}))
	found := false
	for _, f := range tr.DtlsParameters().Fingerprints {
		found = found || (f.Algorithm == "sha-256" && strings.EqualFold(f.Value, fp))
	}
	if !found {
		t.Fatalf("fingerprints %+v, want sha-256 %s from the file", tr.DtlsParameters().Fingerprints, fp)
	}
	for _, bad := range []*media.WorkerSettings{
		{DtlsCertificateFile: certFile},
		{DtlsPrivateKeyFile: keyFile},
		{DtlsCertificateFile: keyFile, DtlsPrivateKeyFile: certFile},
		{DtlsCertificateFile: filepath.Join(t.TempDir(), "none.pem"), DtlsPrivateKeyFile: keyFile},
	} {
		_, err := api.CreateWorker(ctx, bad)
		if !errors.Is(err, media.ErrInvalidParams) || strings.Contains(err.Error(), "no such file") {
			t.Errorf("settings %+v: %v, want a TypeError without the OS's text", bad, err)
		}
	}
}
