package mafalda_test

import (
	"context"
	"slices"
	"testing"

	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediatest"
)

// transportLoad is a LoadFunc of 20% per transport of the room on the
// worker, so that with a watermark of 100 a worker takes 5 peers.
func transportLoad(m **mafalda.Mafalda) mafalda.LoadFunc {
	return func(ctx context.Context, w media.Worker) (float64, error) {
		d, err := w.Dump(ctx)
		if err != nil {
			return 0, err
		}
		n := 0
		for _, mr := range (*m).MafaldaRouters() {
			for _, p := range mr.DumpState().Transports {
				if slices.Contains(d.RouterIDs, p.RouterID) {
					n++
				}
			}
		}
		return float64(20 * n), nil
	}
}

// TestPipeArithmetic: 10 peers with 2 producers each, 5 peers per worker,
// each consuming every other peer's producers. On-demand piping opens one
// pipe per producer into the other worker: 20 × (2−1) = 20 pipe
// consumers, where piping per consumer (the full mesh of consumers) would
// open 20 × 5 = 100.
func TestPipeArithmetic(t *testing.T) {
	t.Parallel()
	const peers, producersPerPeer, workers = 10, 2, 2
	ctx := ctxFor(t)
	var m *mafalda.Mafalda
	m = newMafalda(t, &mafalda.Options{CPUs: workers, LoadFunc: transportLoad(&m)})
	mr := newRoom(t, m, 100)
	trs := make([]media.DirectTransport, peers)
	var prods []media.Producer
	for i := range trs {
		trs[i] = must[media.DirectTransport](t)(mr.CreateDirectTransport(ctx, nil))
		for j := 0; j < producersPerPeer; j++ {
			ssrc := uint32(1000 + 10*i + j)
			prods = append(prods, must[media.Producer](t)(trs[i].Produce(ctx, &media.ProducerOptions{
				Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(ssrc), AppData: media.AppData{"peer": i}})))
		}
	}
	if n := len(m.Workers()); n != workers {
		t.Fatalf("%d workers, want %d", n, workers)
	}
	appConsumers := 0
	for i, tr := range trs {
		for _, p := range prods {
			if p.AppData()["peer"] == i {
				continue
			}
			must[media.Consumer](t)(tr.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
			appConsumers++
		}
	}
	want := len(prods) * (workers - 1)
	d := mr.DumpState()
	if d.PipesOpened != want || len(d.Pipes) != want {
		t.Fatalf("%d pipes opened, %d open, want %d (full mesh: %d)", d.PipesOpened, len(d.Pipes), want, len(prods)*peers/workers)
	}
	for _, p := range d.Pipes {
		if p.Consumers != peers/workers {
			t.Fatalf("pipe %+v: want %d consumers", p, peers/workers)
		}
	}
	// The engine agrees: every consumer beyond the application's is a pipe
	// consumer.
	total := 0
	for _, r := range m.Routers() {
		rd := must[*media.RouterDump](t)(r.Dump(ctx))
		total += len(rd.MapConsumerIDProducerID)
	}
	if total-appConsumers != want {
		t.Fatalf("engine: %d consumers, %d by the application: %d pipe consumers, want %d", total, appConsumers, total-appConsumers, want)
	}
	t.Logf("%d producers on %d workers, %d consumers: %d pipe consumers (full mesh %d)", len(prods), workers, appConsumers, want, len(prods)*peers/workers)
}
