package webrtc

import (
	"cmp"
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

// batchEnd ends a read batch that had packets of t.
func (t *Transport) batchEnd() {
	if f := t.opts.OnReadBatchEnd; f != nil {
		f()
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

// A batch is protected into slots of sendBatchSlot bytes, sendBatchLen at
// a time: room for a full-size RTP packet of the media path (1500 bytes)
// and the SRTP overhead. Larger packets go out one by one.
const (
	sendBatchLen  = 32
	sendBatchSlot = 1500 + srtpsession.MaxOverhead
)

// sendBatch is the scratch space of one WriteRTPBatch call.
type sendBatch struct {
	buf [sendBatchLen * sendBatchSlot]byte
	out [sendBatchLen][]byte
}

var sendBatches = sync.Pool{New: func() any { return new(sendBatch) }}

// WriteRTPBatch encrypts the plain RTP packets pkts and sends them, in
// order, on the selected tuple: over UDP with one sendmmsg per 32
// packets (a single packet as WriteRTP does), over TCP with one write of
// their RFC 4571 frames. The SRTP
// context is locked once per 32 packets and the selected tuple read once,
// so a tuple change or a close during the call takes effect at the next
// call. pkts are not modified and may be reused on return. It does not
// allocate (except for an error value). A packet that cannot be protected
// is dropped and the others still sent; the first error is returned.
func (t *Transport) WriteRTPBatch(pkts [][]byte) error {
	s := t.srtp.Load()
	p := t.path.Load()
	if s == nil || p == nil || p.link == nil {
		return ErrNotConnected
	}
	if p.batch == nil || len(pkts) == 1 {
		var first error
		for _, pkt := range pkts {
			if err := t.WriteRTP(pkt); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	sb := sendBatches.Get().(*sendBatch)
	defer sendBatches.Put(sb)
	var first error
	for len(pkts) > 0 {
		n := min(len(pkts), sendBatchLen)
		for i := range n {
			sb.out[i] = sb.buf[i*sendBatchSlot : i*sendBatchSlot : (i+1)*sendBatchSlot]
		}
		k, err := s.EncryptRTPBatch(sb.out[:n], pkts[:n])
		if k > 0 {
			if serr := p.batch.SendBatch(sb.out[:k], p.tuple.Remote); serr != nil {
				first = cmp.Or(first, serr)
			} else {
				t.rtpOut.Add(uint64(k))
			}
		}
		if err != nil { // pkts[k] could not be protected in a slot
			if err == srtpsession.ErrBufferTooSmall {
				err = t.WriteRTP(pkts[k])
			}
			first = cmp.Or(first, err)
			k++
		}
		pkts = pkts[k:]
	}
	if first != nil {
		return fmt.Errorf("webrtc: write rtp batch: %w", first)
	}
	return nil
}

// WriteRTPBatchInPlace is WriteRTPBatch for packets the caller gives up:
// when each has the capacity for the SRTP overhead (len+MaxOverhead of
// package srtpsession), they are encrypted in their own buffers and
// pkts[i] replaced by the protected packets, without the copy into
// scratch slots; otherwise it is WriteRTPBatch. Either way the contents
// of pkts are unspecified on return. It does not allocate.
func (t *Transport) WriteRTPBatchInPlace(pkts [][]byte) error {
	s := t.srtp.Load()
	p := t.path.Load()
	if s == nil || p == nil || p.link == nil {
		return ErrNotConnected
	}
	for _, pkt := range pkts {
		if cap(pkt) < len(pkt)+srtpsession.MaxOverhead {
			return t.WriteRTPBatch(pkts)
		}
	}
	var first error
	for len(pkts) > 0 {
		k, err := s.EncryptRTPBatch(pkts, pkts)
		if k > 0 {
			if serr := p.send(pkts[:k]); serr != nil {
				first = cmp.Or(first, serr)
			} else {
				t.rtpOut.Add(uint64(k))
			}
		}
		if err != nil { // pkts[k] could not be protected: drop it
			first = cmp.Or(first, err)
			k++
		}
		pkts = pkts[k:]
	}
	if first != nil {
		return fmt.Errorf("webrtc: write rtp batch: %w", first)
	}
	return nil
}

// send sends bufs on the path: with one SendBatch (a single packet on
// UDP goes out with sendto), or one by one on a link without batches.
func (p *path) send(bufs [][]byte) error {
	if p.batch != nil {
		return p.batch.SendBatch(bufs, p.tuple.Remote)
	}
	var first error
	for _, b := range bufs {
		if err := p.link.Send(b, p.tuple.Remote); err != nil && first == nil {
			first = err
		}
	}
	return first
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
