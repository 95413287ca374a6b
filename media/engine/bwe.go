package engine

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/rtppkt"
)

// Bandwidth feedback to senders, as mediasoup's
// TransportCongestionControlServer: a transport whose producers let the
// sender estimate its bandwidth from our feedback sends it, so that a
// browser raises its send rate (and turns on its higher simulcast
// layers) instead of staying at its start bitrate.
//
// A producer that negotiated the transport-wide-cc-01 header extension
// and "transport-cc" RTCP feedback on a codec turns the feedback on
// (enableBweLocked; on WebRTC and plain transports, not on pipe ones,
// whose producers negotiate neither, nor on direct ones, which have no
// remote sender): every RTP packet the transport
// receives with that extension (any producer's; the id is the one the
// producer declared, as the listener's MID and RID ids) is recorded with
// its arrival time, and every tccFeedbackInterval the transport sends
// transport-cc feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01)
// built by pion/interceptor's twcc.Recorder. While setMaxIncomingBitrate
// is set, a REMB with that bitrate goes out every tccRembInterval too (the
// sender takes the lower of its estimate and the REMB), and once it is
// unset, a few REMBs with bitrate 0 lift the cap.
//
// A transport whose first bandwidth-estimating producer negotiated
// abs-send-time and goog-remb but not transport-cc sends REMB from a
// receive-side estimator instead (bwe_remb.go).

const (
	// tccFeedbackInterval is mediasoup's TransportCcFeedbackSendInterval.
	tccFeedbackInterval = 100 * time.Millisecond
	// tccRembInterval is mediasoup's LimitationRembInterval.
	tccRembInterval = 1500 * time.Millisecond
	// tccUnlimitedRembs is mediasoup's UnlimitedRembNumPackets.
	tccUnlimitedRembs = 4
	// tccSenderSSRC is the sender SSRC of our feedback (0, as mediasoup).
	tccSenderSSRC = 0
)

// tccServer records the arrival of transport-cc numbered packets and
// builds the feedback. The receive path calls incoming; the transport's
// RTCP goroutine calls feedback.
type tccServer struct {
	// extID is the transport-wide-cc-01 extension id.
	extID atomic.Uint32

	// mu guards the recorder and the REMB state.
	mu       sync.Mutex
	recorder *twcc.Recorder
	// rembMax is the maximum incoming bitrate at the last feedback,
	// rembSentAt when the last limitation REMB went out, unlimitedRembs
	// how many unlimited ones are still to go.
	// lastSSRC is the SSRC of the latest recorded packet, the REMB's
	// (mediasoup's has none; libwebrtc applies a REMB to the whole
	// transport either way, while others, pion included, route RTCP by
	// its SSRCs).
	lastSSRC       uint32
	rembMax        uint64
	rembSentAt     int64
	unlimitedRembs int
}

func newTCCServer() *tccServer {
	return &tccServer{recorder: twcc.NewRecorder(tccSenderSSRC)}
}

// producerUsesTransportCC reports whether params negotiated transport-cc
// (the header extension and the codec feedback) and returns the
// extension's id.
func producerUsesTransportCC(params media.RtpParameters) (uint8, bool) {
	return negotiatedExtension(params, media.ExtTransportWideCC01, "transport-cc")
}

// negotiatedExtension returns the id of the header extension uri when
// params carry it and some codec has the RTCP feedback type fb.
func negotiatedExtension(params media.RtpParameters, uri media.RtpHeaderExtensionURI, fb string) (uint8, bool) {
	var id uint8
	for _, e := range params.HeaderExtensions {
		if e.URI == uri && e.ID > 0 && e.ID < 256 {
			id = uint8(e.ID)
		}
	}
	if id == 0 {
		return 0, false
	}
	for _, c := range params.Codecs {
		if hasFeedback(c.RtcpFeedback, fb, "") {
			return id, true
		}
	}
	return 0, false
}

// incoming records packet b (header h) if it carries a transport-wide
// sequence number. It runs on the receive path and does not allocate.
func (s *tccServer) incoming(b []byte, h *rtppkt.Header, now int64) {
	v, ok := rtppkt.Extension(b, *h, uint8(s.extID.Load()))
	if !ok || len(v) < 2 {
		return
	}
	seq := uint16(v[0])<<8 | uint16(v[1])
	s.mu.Lock()
	s.recorder.Record(h.SSRC, seq, now/int64(time.Microsecond))
	s.lastSSRC = h.SSRC
	s.mu.Unlock()
}

// feedback sends the transport-cc feedback of the packets recorded since
// the last call and, while packets arrive, mediasoup's limitation REMB:
// with setMaxIncomingBitrate set, one with that bitrate every
// tccRembInterval; once it is unset, tccUnlimitedRembs with bitrate 0
// (unlimited), the first at once.
func (s *tccServer) feedback(t *transport, now int64) {
	max := t.maxIncomingBitrate.Load()
	s.mu.Lock()
	var pkts []rtcp.Packet
	if s.recorder.PacketsHeld() > 0 {
		pkts = s.recorder.BuildFeedbackPacket()
		if s.rembMax != 0 && max == 0 {
			s.unlimitedRembs = tccUnlimitedRembs
		}
		if max != 0 {
			s.unlimitedRembs = 0
		}
		s.rembMax = max
		if (max != 0 || s.unlimitedRembs > 0) &&
			(now-s.rembSentAt > int64(tccRembInterval) || s.unlimitedRembs == tccUnlimitedRembs) {
			s.rembSentAt = now
			pkts = append(pkts, &rtcp.ReceiverEstimatedMaximumBitrate{
				SenderSSRC: tccSenderSSRC, Bitrate: float32(max), SSRCs: []uint32{s.lastSSRC}})
			if s.unlimitedRembs > 0 {
				s.unlimitedRembs--
			}
		}
	}
	s.mu.Unlock()
	for _, pk := range pkts {
		if b, err := pk.Marshal(); err == nil {
			t.sendRTCP(b)
		}
	}
}

// enableBweLocked turns bandwidth feedback on for producer params, as
// mediasoup's Transport: the first producer that negotiated transport-cc
// (preferred) or abs-send-time with goog-remb picks the kind; later
// producers with the same kind set the extension id (the last one wins).
// Call with t.mu held; the RTCP goroutine then starts its feedback timer.
func (t *transport) enableBweLocked(params media.RtpParameters) {
	if t.direct || t.pipe {
		return
	}
	tcc, remb := t.tcc.Load(), t.remb.Load()
	if id, ok := producerUsesTransportCC(params); ok && remb == nil {
		if tcc == nil {
			tcc = newTCCServer()
			t.tcc.Store(tcc)
			t.bweStart <- struct{}{} // buffered; sent once
		}
		tcc.extID.Store(uint32(id))
		return
	}
	if id, ok := producerUsesRemb(params); ok && tcc == nil {
		if remb == nil {
			remb = newRembServer()
			t.remb.Store(remb)
			t.bweStart <- struct{}{}
		}
		remb.extID.Store(uint32(id))
	}
}
