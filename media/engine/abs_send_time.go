package engine

import (
	"time"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/rtppkt"
)

// abs-send-time (http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time):
// as mediasoup's transports (RtpPacket::UpdateAbsSendTime when sending,
// retransmitting or probing), every packet of a video consumer that
// negotiated the extension carries the time it leaves the SFU, so that a
// receiver estimating bandwidth from it (REMB) measures the path from us,
// not the producer's. mediasoup's producers add the element to every
// video packet and its transports update it; ours write it while
// copying the packet for the consumer (consumer.copyNumbered), with the
// read batch's arrival time, which the batch leaves with (the same clock
// as the transport-wide send history's).

// consumerAbsID is the abs-send-time extension id of a video consumer's
// params (0: none or not video).
func consumerAbsID(kind media.MediaKind, params media.RtpParameters) uint8 {
	if kind != media.KindVideo {
		return 0
	}
	for _, e := range params.HeaderExtensions {
		if e.URI == media.ExtAbsSendTime && e.ID > 0 && e.ID < 256 {
			return uint8(e.ID)
		}
	}
	return 0
}

// putAbsSendTime writes monotonic time now (ns) as abs-send-time: 24
// bits of 6.18 fixed-point seconds.
func putAbsSendTime(b []byte, now int64) {
	sec, frac := now/int64(time.Second), now%int64(time.Second)
	v := uint32(sec<<18|frac<<18/int64(time.Second)) & 0xffffff
	b[0], b[1], b[2] = byte(v>>16), byte(v>>8), byte(v)
}

// copyOverwriting copies packet src into dst and overwrites the values
// of els there, if src has every one of them with a value of the same
// length; otherwise it returns 0 and dst is left unspecified.
func copyOverwriting(dst, src []byte, hdrLen int, els []rtppkt.Element) int {
	var offs [4]int
	if len(els) > len(offs) || len(dst) < len(src) {
		return 0
	}
	h := rtppkt.Header{HeaderLen: hdrLen}
	for i, e := range els {
		v, ok := rtppkt.Extension(src, h, e.ID)
		if !ok || len(v) != len(e.Val) {
			return 0
		}
		offs[i] = cap(src) - cap(v) // v's offset in src
	}
	n := copy(dst, src)
	for i, e := range els {
		copy(dst[offs[i]:], e.Val)
	}
	return n
}

// restampAbsSendTime rewrites the abs-send-time (extension id) of the
// packets bufs, queued with the time they arrived, with now, the time
// they are handed to the socket: a receiver's REMB estimate, like the
// transport-cc one, must not read the worker's own delay as the path's.
func restampAbsSendTime(bufs [][]byte, id uint8, now int64) {
	for _, b := range bufs {
		h, ok := rtppkt.Parse(b)
		if !ok {
			continue
		}
		if v, ok := rtppkt.Extension(b, h, id); ok && len(v) == 3 {
			putAbsSendTime(v, now)
		}
	}
}
