package webrtc

import (
	"cmp"
	"fmt"

	"github.com/ropehq/rope/media/internal/udpio"
	"github.com/ropehq/rope/media/webrtc/listener"
	"github.com/ropehq/rope/media/webrtc/srtpsession"
)

// RTPBatchWriter gathers the RTP batches of transports that share a
// Server's UDP socket (a WebRtcServer's transports) and sends them with
// one sendmmsg per 64 packets, each to its transport's selected tuple,
// instead of one sendmmsg per transport. Transports with sockets of their
// own (NewTransport), TCP tuples and packets without room for the SRTP
// tag are sent at once, as WriteRTPBatchInPlace does.
//
// A writer is not safe for concurrent use: its owner (one reading
// goroutine) calls Add for several transports, then Flush. The zero value
// is ready; it does not allocate once its queues have grown.
type RTPBatchWriter struct {
	// groups are the sockets of the current round with their queued
	// messages; few (one per UDP listen info of the servers in use).
	groups []sendGroup
}

// sendGroup is the queue of one socket.
type sendGroup struct {
	sock *listener.UDPSocket
	msgs []udpio.OutMessage
}

// Add encrypts the plain RTP packets pkts of t in place and queues them
// for Flush, or sends them now (see RTPBatchWriter). The packets (their
// buffers, with len+srtpsession.MaxOverhead capacity) must stay untouched
// until Flush returns; their contents are unspecified afterwards. The
// selected tuple is the one at Add. Errors are as WriteRTPBatchInPlace's.
func (w *RTPBatchWriter) Add(t *Transport, pkts [][]byte) error {
	s := t.srtp.Load()
	p := t.path.Load()
	if s == nil || p == nil || p.link == nil {
		return ErrNotConnected
	}
	sock, ok := p.link.(*listener.UDPSocket)
	if !ok || t.ownsServer {
		return t.WriteRTPBatchInPlace(pkts)
	}
	for _, pkt := range pkts {
		if cap(pkt) < len(pkt)+srtpsession.MaxOverhead {
			return t.WriteRTPBatchInPlace(pkts)
		}
	}
	g := w.group(sock)
	var first error
	for len(pkts) > 0 {
		k, err := s.EncryptRTPBatch(pkts, pkts)
		for _, b := range pkts[:k] {
			g.msgs = append(g.msgs, udpio.OutMessage{Buf: b, Addr: p.tuple.Remote})
		}
		t.rtpOut.Add(uint64(k))
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

// group returns the queue of sock, adding it to the round.
func (w *RTPBatchWriter) group(sock *listener.UDPSocket) *sendGroup {
	for i := range w.groups {
		if w.groups[i].sock == sock {
			return &w.groups[i]
		}
	}
	if n := len(w.groups); n < cap(w.groups) { // reuse a queue of an earlier round
		w.groups = w.groups[:n+1]
		w.groups[n].sock = sock
		return &w.groups[n]
	}
	w.groups = append(w.groups, sendGroup{sock: sock})
	return &w.groups[len(w.groups)-1]
}

// Flush sends what Add queued, one socket at a time, and returns the
// first error.
func (w *RTPBatchWriter) Flush() error {
	var first error
	for i := range w.groups {
		g := &w.groups[i]
		if len(g.msgs) > 0 {
			if err := g.sock.SendMessages(g.msgs); err != nil && first == nil {
				first = fmt.Errorf("webrtc: write rtp batch: %w", err)
			}
		}
		clear(g.msgs)
		g.msgs = g.msgs[:0]
		g.sock = nil
	}
	w.groups = w.groups[:0]
	return first
}
