package mafalda_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/mediatest"
)

const timeout = 5 * time.Second

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// newMafalda returns a Mafalda over a fresh local engine, closed with the
// test, which then checks that no worker is left.
func newMafalda(t testing.TB, opts *mafalda.Options) *mafalda.Mafalda {
	m := mafalda.New(engine.New(nil), opts)
	t.Cleanup(func() {
		if err := m.Close(context.Background()); err != nil {
			t.Error(err)
		}
		if n := len(m.Workers()); n != 0 {
			t.Errorf("%d workers left", n)
		}
	})
	return m
}

func zeroLoad(context.Context, media.Worker) (float64, error) { return 0, nil }

func newRoom(t testing.TB, m *mafalda.Mafalda, watermark float64) *mafalda.MafaldaRouter {
	return must[*mafalda.MafaldaRouter](t)(m.CreateMafaldaRouter(ctxFor(t), &mafalda.MafaldaRouterOptions{
		RouterOptions: media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()}, WatermarkWorker: watermark}))
}

func listenInfo() *media.TransportListenInfo {
	return &media.TransportListenInfo{Protocol: media.ProtocolUDP, IP: "127.0.0.1"}
}

// plainTo creates a plain transport in mr connected to e.
func plainTo(t testing.TB, mr *mafalda.MafaldaRouter, e *mediatest.Endpoint) media.PlainTransport {
	t.Helper()
	ctx := ctxFor(t)
	tr := must[media.PlainTransport](t)(mr.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: listenInfo()}))
	if err := tr.Connect(ctx, &media.PlainTransportConnectOptions{IP: "127.0.0.1", Port: e.Port()}); err != nil {
		t.Fatal(err)
	}
	return tr
}

// routerOf returns the router of the room that holds transport id.
func routerOf(t testing.TB, mr *mafalda.MafaldaRouter, id string) string {
	t.Helper()
	for _, p := range mr.DumpState().Transports {
		if p.ID == id {
			return p.RouterID
		}
	}
	t.Fatalf("transport %s not placed", id)
	return ""
}

// consumersOf returns how many consumers the router with id has for the
// producer, from the engine's own dump.
func consumersOf(t testing.TB, m *mafalda.Mafalda, routerID, producerID string) int {
	t.Helper()
	for _, r := range m.Routers() {
		if r.ID() != routerID {
			continue
		}
		d := must[*media.RouterDump](t)(r.Dump(ctxFor(t)))
		i := slices.IndexFunc(d.MapProducerIDConsumerIDs, func(kv media.KeyValues) bool { return kv.Key == producerID })
		if i < 0 {
			return 0
		}
		return len(d.MapProducerIDConsumerIDs[i].Values)
	}
	return -1
}
