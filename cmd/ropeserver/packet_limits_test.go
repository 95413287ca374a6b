package main

import (
	"errors"
	"testing"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediatest"
	"github.com/ropehq/rope/rope"
)

// -max-packet-subscriptions bounds the packet streams one connection
// subscribes to, here with worker processes (whose own server bounds
// nothing: the parent's one connection carries every client's); a
// cluster member sets no limit unless told.
func TestMaxPacketSubscriptions(t *testing.T) {
	_, url := startRun(t, "-workers", "process", "-max-packet-subscriptions", "1")
	api := dialMedia(t, url)
	ctx := ctxT(t)
	w, err := api.CreateWorker(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()})
	if err != nil {
		t.Fatal(err)
	}
	src, err := r.CreateDirectTransport(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := r.CreateDirectTransport(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := src.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(7)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 2 {
		c, err := dst.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: mediatest.EndpointCaps()})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID())
	}
	rc := api.ROPE()
	if err := rc.Call(ctx, ids[0], "subscribeRtp", struct{}{}, nil); err != nil {
		t.Fatal(err)
	}
	var re *rope.Error
	if err := rc.Call(ctx, ids[1], "subscribeRtp", struct{}{}, nil); !errors.As(err, &re) || re.Code != rope.CodeInvalidState {
		t.Fatalf("second subscription: %v", err)
	}
	if err := rc.Call(ctx, src.ID(), "subscribeRtcp", struct{}{}, nil); !errors.As(err, &re) || re.Code != rope.CodeInvalidState {
		t.Fatalf("rtcp subscription beyond the limit: %v", err)
	}
	if err := rc.Call(ctx, ids[0], "unsubscribeRtp", struct{}{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := rc.Call(ctx, ids[1], "subscribeRtp", struct{}{}, nil); err != nil {
		t.Fatalf("subscription after unsubscribing: %v", err)
	}

	member, err := parseConfig([]string{"-cluster", "-nats", "nats://127.0.0.1:1"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if member.media.maxPacketSubs >= 0 {
		t.Fatalf("a cluster member's -max-packet-subscriptions %d", member.media.maxPacketSubs)
	}
}
