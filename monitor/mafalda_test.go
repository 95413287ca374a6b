package monitor_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/mafalda/mafaldaclient"
	"github.com/ropehq/rope/mafalda/mafaldaserver"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/mediaserver"
	"github.com/ropehq/rope/media/mediatest"
	"github.com/ropehq/rope/monitor"
	"github.com/ropehq/rope/ropeclient"
	"github.com/ropehq/rope/ropeserver"
)

// TestMafaldaFigures: under -media-mode=mafalda a room is a MafaldaRouter
// whose workers are not ROPE objects: the figures list the Mafalda's
// pool workers with their CPU and memory, count the MafaldaRouter as a
// router, and follow its producers and consumers.
func TestMafaldaFigures(t *testing.T) {
	s := newServerWith(t, &monitor.Options{Interval: monitor.DefaultInterval / 5},
		func(rs *ropeserver.Server) (func(context.Context) error, error) {
			maf := mafalda.New(engine.New(nil), &mafalda.Options{CPUs: 2})
			mfs, err := mafaldaserver.Register(rs, maf, &mafaldaserver.Options{Media: &mediaserver.Options{MaxWorkersPerConn: -1}})
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context) error { return errors.Join(mfs.Close(ctx), maf.Close(ctx)) }, nil
		})
	mc, err := mafaldaclient.Dial(ctxFor(t), s.ws, &mafaldaclient.Options{ROPE: &ropeclient.Options{Token: testToken}})
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	mr, err := mc.CreateRouter(ctxFor(t), &mafalda.MafaldaRouterOptions{
		RouterOptions: media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()}})
	if err != nil {
		t.Fatal(err)
	}
	r := newRoomOn(t, mr)
	p := r.produce("alice", 9999)
	r.consume("bob", p, 2)
	var f *monitor.Figures
	wait.Until(t, "the pool's workers and the room's figures", func() bool {
		f = figuresOf(t, s)
		return len(f.Pool) >= 1 && f.Pool[0].Mem > 0 && f.Pool[0].CPU != nil &&
			f.Objects[p.producer.ID()].Recv > 0 && f.Totals.ForwardedPackets > 0
	})
	if f.Totals.Routers != 1 || f.Totals.Consumers != 2 || f.Totals.Workers != len(f.Pool) {
		t.Fatalf("totals %+v with %d pool workers", f.Totals, len(f.Pool))
	}
}
