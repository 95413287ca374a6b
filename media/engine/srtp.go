package engine

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/rtppkt"
)

func srtpProfile(suite media.SrtpCryptoSuite) (srtp.ProtectionProfile, error) {
	switch suite {
	case media.AEADAES256GCM:
		return srtp.ProtectionProfileAeadAes256Gcm, nil
	case media.AEADAES128GCM:
		return srtp.ProtectionProfileAeadAes128Gcm, nil
	case media.AESCM128HMACSHA1_80:
		return srtp.ProtectionProfileAes128CmHmacSha1_80, nil
	case media.AESCM128HMACSHA1_32:
		return srtp.ProtectionProfileAes128CmHmacSha1_32, nil
	}
	return 0, &media.ParamError{Field: "srtpCryptoSuite", Reason: fmt.Sprintf("invalid %q", suite)}
}

func keyLen(p srtp.ProtectionProfile) int {
	k, _ := p.KeyLen()
	s, _ := p.SaltLen()
	return k + s
}

// newLocalSrtp generates local SRTP parameters for suite.
func newLocalSrtp(suite media.SrtpCryptoSuite) (*media.SrtpParameters, error) {
	if suite == "" {
		suite = media.DefaultSrtpCryptoSuite
	}
	p, err := srtpProfile(suite)
	if err != nil {
		return nil, err
	}
	key := make([]byte, keyLen(p))
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return &media.SrtpParameters{CryptoSuite: suite, KeyBase64: base64.StdEncoding.EncodeToString(key)}, nil
}

func srtpContext(field string, sp *media.SrtpParameters) (*srtp.Context, error) {
	p, err := srtpProfile(sp.CryptoSuite)
	if err != nil {
		return nil, err
	}
	key, err := base64.StdEncoding.DecodeString(sp.KeyBase64)
	if err != nil || len(key) != keyLen(p) {
		return nil, &media.ParamError{Field: field + ".keyBase64", Reason: fmt.Sprintf("want %d bytes of base64 key+salt", keyLen(p))}
	}
	k, _ := p.KeyLen()
	ctx, err := srtp.CreateContext(key[:k], key[k:], p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	return ctx, nil
}

// srtpSession encrypts outgoing packets with the local parameters and
// decrypts incoming ones with the remote parameters.
type srtpSession struct {
	// sendMu guards send and sendBuf (senders are many goroutines).
	sendMu  sync.Mutex
	send    *srtp.Context
	sendBuf [rtppkt.MaxPacketLen + 64]byte
	hdr     rtp.Header

	// recv and recvBuf are used by the read goroutine only.
	recv    *srtp.Context
	recvBuf [rtppkt.MaxPacketLen + 64]byte
}

func newSrtpSession(local, remote *media.SrtpParameters) (*srtpSession, error) {
	if remote.CryptoSuite != local.CryptoSuite {
		return nil, &media.ParamError{Field: "srtpParameters.cryptoSuite", Reason: fmt.Sprintf("%q does not match local %q", remote.CryptoSuite, local.CryptoSuite)}
	}
	send, err := srtpContext("local srtpParameters", local)
	if err != nil {
		return nil, err
	}
	recv, err := srtpContext("srtpParameters", remote)
	if err != nil {
		return nil, err
	}
	return &srtpSession{send: send, recv: recv}, nil
}

// protect encrypts b and calls write with the result, under sendMu.
func (s *srtpSession) protect(b []byte, rtcp bool, write func([]byte)) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	var out []byte
	var err error
	if rtcp {
		out, err = s.send.EncryptRTCP(s.sendBuf[:0], b, nil)
	} else {
		if _, err = s.hdr.Unmarshal(b); err == nil {
			out, err = s.send.EncryptRTP(s.sendBuf[:0], b, &s.hdr)
		}
	}
	if err == nil {
		write(out)
	}
}

// unprotect decrypts b (read goroutine only).
func (s *srtpSession) unprotect(b []byte) ([]byte, error) {
	if rtppkt.IsRTCP(b) {
		return s.recv.DecryptRTCP(s.recvBuf[:0], b, nil)
	}
	return s.recv.DecryptRTP(s.recvBuf[:0], b, nil)
}
