// Package srtpsession protects and unprotects RTP and RTCP for one
// transport with the keys a DTLS handshake exported (pion/srtp contexts).
//
// Decryption happens in place in the caller's buffer and encryption into a
// caller-provided buffer (or in place, for batches), so neither allocates
// per packet once an SSRC has been seen. EncryptRTPBatch takes the
// outbound lock once for a batch. Inbound and outbound sides have separate locks: one reader and
// one writer can work at once.
package srtpsession

import (
	"errors"
	"fmt"
	"sync"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// ErrBufferTooSmall means dst cannot hold the protected packet.
var ErrBufferTooSmall = errors.New("srtpsession: buffer too small")

// MaxOverhead is the most bytes protection adds to a packet (an SRTCP
// index and a 16-byte tag, or an MKI-less HMAC tag).
const MaxOverhead = 4 + 16

// ReplayWindow is the replay protection window for inbound RTP and RTCP,
// in packets (libsrtp's default, which mediasoup uses).
const ReplayWindow = 128

// Session holds the inbound and outbound SRTP contexts.
type Session struct {
	profile srtp.ProtectionProfile

	// recvMu guards the inbound context and scratch headers.
	recvMu  sync.Mutex
	recv    *srtp.Context
	rtpHdr  rtp.Header
	rtcpHdr rtcp.Header

	// sendMu guards the outbound context and scratch headers.
	sendMu      sync.Mutex
	send        *srtp.Context
	sendRTPHdr  rtp.Header
	sendRTCPHdr rtcp.Header
}

// New makes a session from exported keys.
func New(cfg *srtp.Config) (*Session, error) {
	recv, err := srtp.CreateContext(cfg.Keys.RemoteMasterKey, cfg.Keys.RemoteMasterSalt, cfg.Profile,
		srtp.SRTPReplayProtection(ReplayWindow), srtp.SRTCPReplayProtection(ReplayWindow))
	if err != nil {
		return nil, fmt.Errorf("srtpsession: inbound context: %w", err)
	}
	send, err := srtp.CreateContext(cfg.Keys.LocalMasterKey, cfg.Keys.LocalMasterSalt, cfg.Profile)
	if err != nil {
		return nil, fmt.Errorf("srtpsession: outbound context: %w", err)
	}
	return &Session{profile: cfg.Profile, recv: recv, send: send}, nil
}

// Profile returns the negotiated protection profile.
func (s *Session) Profile() srtp.ProtectionProfile { return s.profile }

// DecryptRTP unprotects pkt in place and returns the plain packet, a
// prefix of pkt.
func (s *Session) DecryptRTP(pkt []byte) ([]byte, error) {
	s.recvMu.Lock()
	defer s.recvMu.Unlock()
	out, err := s.recv.DecryptRTP(pkt[:0], pkt, &s.rtpHdr)
	if err != nil {
		return nil, fmt.Errorf("srtpsession: decrypt rtp: %w", err)
	}
	return out, nil
}

// DecryptRTCP unprotects pkt in place and returns the plain compound
// packet, a prefix of pkt.
func (s *Session) DecryptRTCP(pkt []byte) ([]byte, error) {
	s.recvMu.Lock()
	defer s.recvMu.Unlock()
	out, err := s.recv.DecryptRTCP(pkt[:0], pkt, &s.rtcpHdr)
	if err != nil {
		return nil, fmt.Errorf("srtpsession: decrypt rtcp: %w", err)
	}
	return out, nil
}

// EncryptRTP protects the plain packet pkt into dst (which needs room for
// len(pkt)+MaxOverhead bytes) and returns the protected packet. pkt is not
// modified.
func (s *Session) EncryptRTP(dst, pkt []byte) ([]byte, error) {
	if cap(dst) < len(pkt)+MaxOverhead {
		return nil, ErrBufferTooSmall
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	out, err := s.send.EncryptRTP(dst[:0], pkt, &s.sendRTPHdr)
	if err != nil {
		return nil, fmt.Errorf("srtpsession: encrypt rtp: %w", err)
	}
	return out, nil
}

// EncryptRTPBatch protects each plain packet pkts[i] into dst[i] (whose
// capacity needs room for len(pkts[i])+MaxOverhead bytes) and sets dst[i]
// to the protected packet, taking the outbound lock once. It stops at the
// first packet it cannot protect and returns how many it protected, with
// that packet's error. dst may be pkts itself: each packet is then
// protected in place (its capacity needs the room). Otherwise pkts are
// not modified. It does not allocate once each SSRC has been seen.
func (s *Session) EncryptRTPBatch(dst, pkts [][]byte) (int, error) {
	n := min(len(dst), len(pkts))
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	for i, pkt := range pkts[:n] {
		if cap(dst[i]) < len(pkt)+MaxOverhead {
			return i, ErrBufferTooSmall
		}
		out, err := s.send.EncryptRTP(dst[i][:0], pkt, &s.sendRTPHdr)
		if err != nil {
			return i, fmt.Errorf("srtpsession: encrypt rtp: %w", err)
		}
		dst[i] = out
	}
	return n, nil
}

// EncryptRTCP protects the plain compound packet pkt into dst (which needs
// room for len(pkt)+MaxOverhead bytes) and returns the protected packet.
func (s *Session) EncryptRTCP(dst, pkt []byte) ([]byte, error) {
	if cap(dst) < len(pkt)+MaxOverhead {
		return nil, ErrBufferTooSmall
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	out, err := s.send.EncryptRTCP(dst[:0], pkt, &s.sendRTCPHdr)
	if err != nil {
		return nil, fmt.Errorf("srtpsession: encrypt rtcp: %w", err)
	}
	return out, nil
}
