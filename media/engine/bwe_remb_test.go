package engine_test

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
)

// TestRembFeedback sends paced RTP with abs-send-time to a producer that
// negotiated abs-send-time and goog-remb but not transport-cc: the
// transport estimates the bandwidth and sends REMB, at about the incoming
// bitrate or above while nothing queues, and no more than
// setMaxIncomingBitrate once that is set.
func TestRembFeedback(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	e := newEndpoint(t)
	tr := must[media.PlainTransport](t)(f.router.CreatePlainTransport(f.ctx, &media.PlainTransportOptions{ListenInfo: &media.TransportListenInfo{IP: lo}}))
	mustOK(t, tr.Connect(f.ctx, &media.PlainTransportConnectOptions{IP: lo, Port: e.port()}))
	const absID = 3
	params := vp8Params(42)
	params.Codecs[0].RtcpFeedback = append(params.Codecs[0].RtcpFeedback, media.RtcpFeedback{Type: "goog-remb"})
	params.HeaderExtensions = []media.RtpHeaderExtensionParameters{{URI: media.ExtAbsSendTime, ID: absID}}
	must[media.Producer](t)(tr.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))

	// About 1.6 Mbps: 1,000 bytes every 5 ms, abs-send-time from the clock.
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		start := time.Now()
		snd := &sender{ssrc: 42, pt: 101}
		for {
			var pk rtp.Packet
			if err := pk.Unmarshal(snd.packet(t, false, 1000)); err != nil {
				return
			}
			abs := uint32(time.Since(start) * (1 << 18) / time.Second)
			_ = pk.SetExtension(absID, []byte{byte(abs >> 16), byte(abs >> 8), byte(abs)})
			b, err := pk.Marshal()
			if err != nil {
				return
			}
			e.send(tr.Tuple(), b)
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })

	lastRemb := func() (uint64, bool) {
		var last *rtcp.ReceiverEstimatedMaximumBitrate
		for _, p := range e.rtcpPackets() {
			if r, ok := p.(*rtcp.ReceiverEstimatedMaximumBitrate); ok {
				last = r
			}
		}
		if last == nil {
			return 0, false
		}
		if len(last.SSRCs) != 1 || last.SSRCs[0] != 42 {
			t.Fatalf("REMB SSRCs %v", last.SSRCs)
		}
		return uint64(last.Bitrate), true
	}
	// The estimate's value depends on arrival timing, which a loaded
	// machine distorts; TestRembEstimator checks it on synthetic timing.
	wait.Until(t, "a REMB", func() bool {
		b, ok := lastRemb()
		return ok && b > 0
	})
	b, _ := lastRemb()
	t.Logf("REMB %d bps", b)

	mustOK(t, tr.SetMaxIncomingBitrate(f.ctx, 200_000))
	e.reset()
	wait.Until(t, "a REMB capped at 200 kbps", func() bool {
		b, ok := lastRemb()
		return ok && b <= 200_000
	})
}
