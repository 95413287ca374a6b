package webrtc

import (
	"fmt"
	"sync"

	"github.com/ropehq/rope/media/webrtc/srtpsession"
)

// handleRTP decrypts an RTP packet in place and hands it to OnRTP.
func (t *Transport) handleRTP(b []byte) {
	s := t.srtp.Load()
	if s == nil {
		t.dropped.Add(1)
		return
	}
	pkt, err := s.DecryptRTP(b)
	if err != nil {
		t.dropped.Add(1)
		return
	}
	t.rtpIn.Add(1)
	if f := t.opts.OnRTP; f != nil {
		f(pkt)
	}
}

// handleRTCP decrypts an RTCP packet in place and hands it to OnRTCP.
func (t *Transport) handleRTCP(b []byte) {
	s := t.srtp.Load()
	if s == nil {
		t.dropped.Add(1)
		return
	}
	pkt, err := s.DecryptRTCP(b)
	if err != nil {
		t.dropped.Add(1)
		return
	}
	t.rtcpIn.Add(1)
	if f := t.opts.OnRTCP; f != nil {
		f(pkt)
	}
}

// sendBufSize fits any packet the SRTP layer can protect on a socket.
const sendBufSize = 1 << 16

var sendBufs = sync.Pool{New: func() any {
	b := make([]byte, sendBufSize)
	return &b
}}

// WriteRTP encrypts the plain RTP packet pkt and sends it on the selected
// tuple. pkt is not modified and may be reused on return.
func (t *Transport) WriteRTP(pkt []byte) error {
	if err := t.writeProtected(pkt, (*srtpsession.Session).EncryptRTP); err != nil {
		return fmt.Errorf("webrtc: write rtp: %w", err)
	}
	t.rtpOut.Add(1)
	return nil
}

// WriteRTCP encrypts the plain RTCP compound packet pkt and sends it on the
// selected tuple.
func (t *Transport) WriteRTCP(pkt []byte) error {
	if err := t.writeProtected(pkt, (*srtpsession.Session).EncryptRTCP); err != nil {
		return fmt.Errorf("webrtc: write rtcp: %w", err)
	}
	t.rtcpOut.Add(1)
	return nil
}

type protectFunc func(s *srtpsession.Session, dst, pkt []byte) ([]byte, error)

func (t *Transport) writeProtected(pkt []byte, protect protectFunc) error {
	s := t.srtp.Load()
	p := t.path.Load()
	if s == nil || p == nil || p.link == nil {
		return ErrNotConnected
	}
	bp := sendBufs.Get().(*[]byte)
	defer sendBufs.Put(bp)
	out, err := protect(s, (*bp)[:0], pkt)
	if err != nil {
		return err
	}
	return p.link.Send(out, p.tuple.Remote)
}
