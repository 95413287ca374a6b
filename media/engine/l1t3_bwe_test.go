//go:build linux

package engine_test

import (
	"testing"
	"time"

	"github.com/ropehq/rope/media"
)

// TestSendSideBweOneStreamTemporal: the bitrate distribution steps a
// one-stream simulcast producer's consumer (VP8, one L1T3 encoding) by
// temporal layer: on a link carrying the stream's lower temporal layers
// but not its top one (250 kbit/s against 180 and 300 kbit/s) it gets a
// lower temporal layer, not nothing and not all; lifting the limit
// brings temporal layer 2 back.
func TestSendSideBweOneStreamTemporal(t *testing.T) {
	if testing.Short() {
		t.Skip("takes up to a minute of real time")
	}
	f := newFixture(t)
	src := newEndpoint(t)
	in := f.plain(f.router, src)
	params := vp8Params(100)
	params.Encodings[0].ScalabilityMode = "L1T3"
	p := must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))
	if p.Type() != media.ProducerSimulcast {
		t.Fatalf("producer type %s", p.Type())
	}
	caps, twccID := bweCaps(f.router)
	rx := newBweReceiver(t)
	rx.limit.Store(250_000)
	tr := must[media.PlainTransport](t)(f.router.CreatePlainTransport(f.ctx, &media.PlainTransportOptions{ListenInfo: &media.TransportListenInfo{IP: lo}}))
	if err := tr.Connect(f.ctx, &media.PlainTransportConnectOptions{IP: lo, Port: rx.port()}); err != nil {
		t.Fatal(err)
	}
	c := must[media.Consumer](t)(tr.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps}))
	rx.start(tr.Tuple(), twccID)
	startTemporalFeeder(t, src, in.Tuple(), temporalFeederLayers[:1])

	waitFor(t, "the producer's bitrates by temporal layer", 10*time.Second, func() bool {
		st, _ := p.GetStats(f.ctx)
		if len(st) == 0 {
			return false
		}
		b := st[0].BitrateByLayer
		return b["0.0"] > 80_000 && b["0.1"] > b["0.0"] && b["0.2"] > b["0.1"] && b["0.2"] < 400_000
	})
	stable := 0
	waitFor(t, "the limited consumer below temporal layer 2 for 2 s", 60*time.Second, func() bool {
		st := must[[]media.TransportStats](t)(tr.GetStats(f.ctx))[0]
		if st.AvailableOutgoingBitrate != nil && *st.AvailableOutgoingBitrate < 290_000 &&
			spatial(c) == 0 && temporal(c) >= 0 && temporal(c) < 2 {
			stable++
		} else {
			stable = 0
		}
		return stable >= 100
	})
	t.Logf("limited: spatial %d temporal %d", spatial(c), temporal(c))
	rx.limit.Store(0)
	waitFor(t, "temporal layer 2 back once the limit is lifted", 90*time.Second, func() bool {
		return spatial(c) == 0 && temporal(c) == 2
	})
}
