package engine

import (
	"strconv"
	"sync/atomic"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/depdesc"
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
	// dd parses the stream's dependency descriptors (nil: the producer
	// did not negotiate the extension); guarded by producer.ingress.
	dd *depdesc.Parser

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
	// temporalLayers is the encoding's scalabilityMode T (at most
	// maxTemporalLayers); above 1, each temporal layer's bitrate is
	// measured (layerRates), as mediasoup's RtpStreamRecv counts
	// bitrates per layer for the bitrate distribution.
	temporalLayers int

	// Guarded by producer.ingress.
	recvState
	// layerRates are an SVC stream's bitrates by spatial and temporal
	// layer (index spatial*layerT+temporal; svc_bwe.go); nil otherwise.
	layerRates []rate
	layerT     int
	// tidRates are the bitrates by temporal layer of a stream with
	// temporal layers (countTemporal); SVC streams also keep layerRates.
	tidRates [maxTemporalLayers]rate
}

// countTemporal adds n bytes of packet pk to its temporal layer's bitrate
// (the VP8 descriptor's TID, H264/H265 frame marking, AV1's dependency
// descriptor; 0 without any).
// Call with producer.ingress held.
func (s *recvStream) countTemporal(pk *packet, n int, now int64) {
	tid := 0
	if d := pk.vp8Desc(); d != nil && d.HasTID {
		tid = int(d.TID)
	} else if pk.hasFM {
		tid = int(pk.fm & fmTIDMax)
	} else if d := pk.av1DD(); d != nil {
		tid = int(d.TemporalID)
	}
	s.tidRates[min(tid, s.temporalLayers-1)].add(now, n)
}

// temporalBitrate is the bitrate of temporal layer t alone (mediasoup's
// GetLayerBitrate); a stream without temporal layers has one, the whole
// stream. Call with producer.ingress held.
func (s *recvStream) temporalBitrate(now int64, t int) uint64 {
	if s.temporalLayers <= 1 {
		if t == 0 {
			return s.rate.early(now)
		}
		return 0
	}
	if t >= s.temporalLayers {
		return 0
	}
	return s.tidRates[t].early(now)
}

// bitrateByLayer is the stats' bitrateByLayer: "0.t" for each temporal
// layer t, the bitrate up to it (nil without temporal layers, as
// mediasoup). Call with producer.ingress held.
func (s *recvStream) bitrateByLayer(now int64) map[string]int {
	if s.temporalLayers <= 1 {
		return nil
	}
	m := make(map[string]int, s.temporalLayers)
	for t := 0; t < s.temporalLayers; t++ {
		m["0."+strconv.Itoa(t)] = int(s.temporalUpTo(now, t))
	}
	return m
}

// temporalUpTo is the bitrate of temporal layers 0 to t (mediasoup's
// GetBitrate with a temporal layer), 0 while layer t itself has none.
// Call with producer.ingress held.
func (s *recvStream) temporalUpTo(now int64, t int) uint64 {
	if s.temporalBitrate(now, t) == 0 {
		return 0
	}
	var sum uint64
	for l := 0; l <= t; l++ {
		sum += s.temporalBitrate(now, l)
	}
	return sum
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
