package engine

import (
	"sync"
	"time"

	"github.com/ropehq/rope/media"
)

// rateWindow is the shortest window of the transport bitrates.
const rateWindow = time.Second

// transportRates turns a transport's byte counters into the bitrates of
// its stats (recvBitrate, sendBitrate, rtp*, rtx*, probation*): the
// growth of each counter over the last rateWindow or more (the RTCP
// goroutine looks at them on every report).
type transportRates struct {
	// mu guards the fields below.
	mu   sync.Mutex
	at   int64
	last [7]uint64
	bps  [7]uint64
}

func (t *transport) counters() [7]uint64 {
	return [7]uint64{
		t.bytesReceived.Load(), t.bytesSent.Load(), t.rtpBytesReceived.Load(), t.rtpBytesSent.Load(),
		t.rtxBytesReceived.Load(), t.rtxBytesSent.Load(), t.probationBytesSent.Load(),
	}
}

// update takes the counters at now (the RTCP goroutine).
func (r *transportRates) update(t *transport, now int64) {
	c := t.counters()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.at != 0 && now-r.at < int64(rateWindow) {
		return
	}
	if r.at != 0 {
		for i := range c {
			r.bps[i] = (c[i] - r.last[i]) * 8 * 1e9 / uint64(now-r.at)
		}
	}
	r.at, r.last = now, c
}

func (r *transportRates) fill(s *media.TransportStats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s.RecvBitrate, s.SendBitrate = r.bps[0], r.bps[1]
	s.RtpRecvBitrate, s.RtpSendBitrate = r.bps[2], r.bps[3]
	s.RtxRecvBitrate, s.RtxSendBitrate = r.bps[4], r.bps[5]
	s.ProbationSendBitrate = r.bps[6]
}
