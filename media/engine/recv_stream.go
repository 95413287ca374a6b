package engine

import (
	"sync/atomic"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/rtppkt"
)

// recvStream is one encoding of a producer.
type recvStream struct {
	idx int
	// ssrc and rtxSSRC are the encoding's SSRCs, zero until learned for
	// an encoding given without them (by RID, repaired RID or MID; see
	// rtp_listener.go). Set once, with transport.mu and producer.ingress
	// held; read anywhere.
	ssrc       atomic.Uint32
	rtxSSRC    atomic.Uint32
	mappedSSRC uint32
	rid        string
	codec      media.RtpCodecParameters
	clockRate  int64
	usePli     bool
	useFir     bool
	store      *rtppkt.Store

	// kfPendingUntil (monotonic ns) suppresses repeated key frame requests.
	kfPendingUntil atomic.Int64
	// kfRetry sends the pending request once more if it expires without a
	// key frame (producer.retryKeyFrames).
	kfRetry atomic.Bool
	// kfDelayUntil (monotonic ns) ends the keyFrameRequestDelay of the
	// last request; kfDelayed holds a request made within it.
	kfDelayUntil atomic.Int64
	kfDelayed    atomic.Bool
	pliCount     atomic.Uint64
	firCount     atomic.Uint64

	// Guarded by producer.ingress.
	recvState
	// layerRates are an SVC stream's bitrates by spatial and temporal
	// layer (index spatial*layerT+temporal; svc_bwe.go); nil otherwise.
	layerRates []rate
	layerT     int
}

// recvState is the receive statistics of a stream (RFC 3550 A.1, A.8).
type recvState struct {
	started       bool
	baseSeq       uint16
	maxSeq        uint16
	cycles        uint32
	packets       uint64
	bytes         uint64
	retransmitted uint64
	jitter        float64
	lastTransit   int64
	lastPacketAt  int64
	lastSRNTP     uint32
	lastSRAt      int64
	expPrior      uint32
	recvPrior     uint64
	score         int
	rate          rate
	nack          nackGen
	nackCount     uint64
	nackPackets   uint64
	// keyFrames counts the key frames received (their first packets, not
	// retransmissions), for stats and the monitor.
	keyFrames uint64
}

func (s *recvState) update(seq uint16, ts uint32, n int, clock int64, now int64) (lost bool) {
	lost = s.nack.onPacket(seq, s.maxSeq, s.started)
	if !s.started {
		s.started, s.baseSeq, s.maxSeq = true, seq, seq
	} else if rtppkt.SeqLess(s.maxSeq, seq) {
		if seq < s.maxSeq {
			s.cycles += 1 << 16
		}
		s.maxSeq = seq
	}
	s.packets++
	s.bytes += uint64(n)
	s.rate.add(now, n)
	arrival := now / 1000 * clock / 1e6
	transit := arrival - int64(ts)
	if s.lastPacketAt != 0 {
		d := float64(int32(transit - s.lastTransit))
		if d < 0 {
			d = -d
		}
		s.jitter += (d - s.jitter) / 16
	}
	s.lastTransit = transit
	s.lastPacketAt = now
	return lost
}

// expected returns the packets expected so far (RFC 3550 A.3).
func (s *recvState) expected() uint32 {
	return s.cycles + uint32(s.maxSeq) - uint32(s.baseSeq) + 1
}

func (s *recvState) lost() int64 {
	if !s.started {
		return 0
	}
	return int64(s.expected()) - int64(s.packets-s.retransmitted)
}
