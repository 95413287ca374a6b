package mediaclient

import (
	"context"

	"github.com/ropehq/rope/media"
)

type producer struct{ *base }

var _ media.Producer = (*producer)(nil)

// ID is the media id (the "id" property), which differs from the ROPE id
// for a producer piped into a router of the same server.
func (p *producer) ID() string {
	if id := get[string](p.base, "id"); id != "" {
		return id
	}
	return p.o.ID()
}

func (p *producer) Kind() media.MediaKind { return get[media.MediaKind](p.base, "kind") }
func (p *producer) RtpParameters() media.RtpParameters {
	return get[media.RtpParameters](p.base, "rtpParameters")
}
func (p *producer) Type() media.ProducerType { return get[media.ProducerType](p.base, "type") }
func (p *producer) ConsumableRtpParameters() media.RtpParameters {
	return get[media.RtpParameters](p.base, "consumableRtpParameters")
}
func (p *producer) Paused() bool                    { return get[bool](p.base, "paused") }
func (p *producer) Score() []media.ProducerScore    { return get[[]media.ProducerScore](p.base, "score") }
func (p *producer) Close(ctx context.Context) error { return p.close(ctx) }

func (p *producer) Dump(ctx context.Context) (*media.ProducerDump, error) {
	var d media.ProducerDump
	return &d, p.call(ctx, "dump", nil, &d)
}

func (p *producer) GetStats(ctx context.Context) ([]media.RtpStreamStats, error) {
	var s []media.RtpStreamStats
	return s, p.call(ctx, "getStats", nil, &s)
}

func (p *producer) Pause(ctx context.Context) error  { return p.call(ctx, "pause", nil, nil) }
func (p *producer) Resume(ctx context.Context) error { return p.call(ctx, "resume", nil, nil) }

func (p *producer) EnableTraceEvent(ctx context.Context, types []media.ProducerTraceEventType) error {
	return p.call(ctx, "enableTraceEvent", map[string]any{"types": orNone(types)}, nil)
}

// Send sends one RTP packet through the server (a producer of a
// DirectTransport): a call that waits at most Options.Timeout, so over
// ROPE Send blocks for one round trip.
func (p *producer) Send(packet []byte) error { return p.sendPacket("send", packet) }

func (p *producer) OnTransportClose(fn func()) func() { return p.on("transportclose", fn) }
func (p *producer) OnPause(fn func()) func()          { return p.on("pause", fn) }
func (p *producer) OnResume(fn func()) func()         { return p.on("resume", fn) }
func (p *producer) OnScore(fn func([]media.ProducerScore)) func() {
	return onData(p.base, "score", fn)
}
func (p *producer) OnVideoOrientationChange(fn func(media.ProducerVideoOrientation)) func() {
	return onData(p.base, "videoorientationchange", fn)
}
func (p *producer) OnTrace(fn func(media.ProducerTraceEventData)) func() {
	return onData(p.base, "trace", fn)
}

type consumer struct{ *base }

var _ media.Consumer = (*consumer)(nil)

func (c *consumer) ProducerID() string       { return get[string](c.base, "producerId") }
func (c *consumer) Kind() media.MediaKind    { return get[media.MediaKind](c.base, "kind") }
func (c *consumer) Type() media.ConsumerType { return get[media.ConsumerType](c.base, "type") }
func (c *consumer) RtpParameters() media.RtpParameters {
	return get[media.RtpParameters](c.base, "rtpParameters")
}
func (c *consumer) Paused() bool               { return get[bool](c.base, "paused") }
func (c *consumer) ProducerPaused() bool       { return get[bool](c.base, "producerPaused") }
func (c *consumer) Priority() int              { return get[int](c.base, "priority") }
func (c *consumer) Score() media.ConsumerScore { return get[media.ConsumerScore](c.base, "score") }
func (c *consumer) PreferredLayers() *media.ConsumerLayers {
	return get[*media.ConsumerLayers](c.base, "preferredLayers")
}
func (c *consumer) CurrentLayers() *media.ConsumerLayers {
	return get[*media.ConsumerLayers](c.base, "currentLayers")
}
func (c *consumer) Close(ctx context.Context) error { return c.close(ctx) }

func (c *consumer) Dump(ctx context.Context) (*media.ConsumerDump, error) {
	var d media.ConsumerDump
	return &d, c.call(ctx, "dump", nil, &d)
}

func (c *consumer) GetStats(ctx context.Context) ([]media.RtpStreamStats, error) {
	var s []media.RtpStreamStats
	return s, c.call(ctx, "getStats", nil, &s)
}

func (c *consumer) Pause(ctx context.Context) error  { return c.call(ctx, "pause", nil, nil) }
func (c *consumer) Resume(ctx context.Context) error { return c.call(ctx, "resume", nil, nil) }

func (c *consumer) SetPreferredLayers(ctx context.Context, layers media.ConsumerLayers) error {
	return c.call(ctx, "setPreferredLayers", layers, nil)
}

func (c *consumer) SetPriority(ctx context.Context, priority int) error {
	return c.call(ctx, "setPriority", map[string]int{"priority": priority}, nil)
}

func (c *consumer) UnsetPriority(ctx context.Context) error {
	return c.call(ctx, "unsetPriority", nil, nil)
}
func (c *consumer) RequestKeyFrame(ctx context.Context) error {
	return c.call(ctx, "requestKeyFrame", nil, nil)
}

func (c *consumer) EnableTraceEvent(ctx context.Context, types []media.ProducerTraceEventType) error {
	return c.call(ctx, "enableTraceEvent", map[string]any{"types": orNone(types)}, nil)
}

func (c *consumer) OnTransportClose(fn func()) func() { return c.on("transportclose", fn) }
func (c *consumer) OnProducerClose(fn func()) func()  { return c.on("producerclose", fn) }
func (c *consumer) OnProducerPause(fn func()) func()  { return c.on("producerpause", fn) }
func (c *consumer) OnProducerResume(fn func()) func() { return c.on("producerresume", fn) }
func (c *consumer) OnPause(fn func()) func()          { return c.on("pause", fn) }
func (c *consumer) OnResume(fn func()) func()         { return c.on("resume", fn) }
func (c *consumer) OnScore(fn func(media.ConsumerScore)) func() {
	return onData(c.base, "score", fn)
}
func (c *consumer) OnLayersChange(fn func(*media.ConsumerLayers)) func() {
	return onData(c.base, "layerschange", fn)
}
func (c *consumer) OnTrace(fn func(media.ProducerTraceEventData)) func() {
	return onData(c.base, "trace", fn)
}

// OnRtp receives the RTP of a consumer of a DirectTransport: while it
// has a listener, this connection is subscribed to its packets.
func (c *consumer) OnRtp(fn func([]byte)) func() {
	return c.onPackets(notifyRTP, "subscribeRtp", "unsubscribeRtp", fn)
}
