package mediaclient

import (
	"context"

	"github.com/ropehq/rope/media"
)

type dataProducer struct{ *base }

var _ media.DataProducer = (*dataProducer)(nil)

// ID is the media id (the "id" property).
func (p *dataProducer) ID() string {
	if id := get[string](p.base, "id"); id != "" {
		return id
	}
	return p.o.ID()
}

func (p *dataProducer) Type() media.DataType { return get[media.DataType](p.base, "type") }
func (p *dataProducer) SctpStreamParameters() *media.SctpStreamParameters {
	return get[*media.SctpStreamParameters](p.base, "sctpStreamParameters")
}
func (p *dataProducer) Label() string                   { return get[string](p.base, "label") }
func (p *dataProducer) Protocol() string                { return get[string](p.base, "protocol") }
func (p *dataProducer) Paused() bool                    { return get[bool](p.base, "paused") }
func (p *dataProducer) Close(ctx context.Context) error { return p.close(ctx) }

func (p *dataProducer) Dump(ctx context.Context) (*media.DataProducerDump, error) {
	var d media.DataProducerDump
	return &d, p.call(ctx, "dump", nil, &d)
}

func (p *dataProducer) GetStats(ctx context.Context) ([]media.DataProducerStats, error) {
	var s []media.DataProducerStats
	return s, p.call(ctx, "getStats", nil, &s)
}

func (p *dataProducer) Pause(ctx context.Context) error  { return p.call(ctx, "pause", nil, nil) }
func (p *dataProducer) Resume(ctx context.Context) error { return p.call(ctx, "resume", nil, nil) }

// sendParams mirror mediaserver.SendParams.
type sendParams struct {
	Message            []byte   `json:"message"`
	PPID               int      `json:"ppid,omitempty"`
	Subchannels        []uint16 `json:"subchannels,omitempty"`
	RequiredSubchannel *uint16  `json:"requiredSubchannel,omitempty"`
}

// Send sends one message through the server, a call that waits at most
// Options.Timeout (over ROPE, Send blocks for one round trip).
func (p *dataProducer) Send(message []byte, o *media.DataSendOptions) error {
	params := sendParams{Message: message}
	if o != nil {
		params.PPID, params.Subchannels, params.RequiredSubchannel = o.PPID, o.Subchannels, o.RequiredSubchannel
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.c.opts.Timeout)
	defer cancel()
	return p.call(ctx, "send", params, nil)
}

func (p *dataProducer) OnTransportClose(fn func()) func() { return p.on("transportclose", fn) }
func (p *dataProducer) OnPause(fn func()) func()          { return p.on("pause", fn) }
func (p *dataProducer) OnResume(fn func()) func()         { return p.on("resume", fn) }

type dataConsumer struct{ *base }

var _ media.DataConsumer = (*dataConsumer)(nil)

func (c *dataConsumer) DataProducerID() string { return get[string](c.base, "dataProducerId") }
func (c *dataConsumer) Type() media.DataType   { return get[media.DataType](c.base, "type") }
func (c *dataConsumer) SctpStreamParameters() *media.SctpStreamParameters {
	return get[*media.SctpStreamParameters](c.base, "sctpStreamParameters")
}
func (c *dataConsumer) Label() string                   { return get[string](c.base, "label") }
func (c *dataConsumer) Protocol() string                { return get[string](c.base, "protocol") }
func (c *dataConsumer) Paused() bool                    { return get[bool](c.base, "paused") }
func (c *dataConsumer) DataProducerPaused() bool        { return get[bool](c.base, "dataProducerPaused") }
func (c *dataConsumer) Subchannels() []uint16           { return get[[]uint16](c.base, "subchannels") }
func (c *dataConsumer) Close(ctx context.Context) error { return c.close(ctx) }

func (c *dataConsumer) Dump(ctx context.Context) (*media.DataConsumerDump, error) {
	var d media.DataConsumerDump
	return &d, c.call(ctx, "dump", nil, &d)
}

func (c *dataConsumer) GetStats(ctx context.Context) ([]media.DataConsumerStats, error) {
	var s []media.DataConsumerStats
	return s, c.call(ctx, "getStats", nil, &s)
}

func (c *dataConsumer) Pause(ctx context.Context) error  { return c.call(ctx, "pause", nil, nil) }
func (c *dataConsumer) Resume(ctx context.Context) error { return c.call(ctx, "resume", nil, nil) }

// Send sends a message from the server to the consumer's endpoint: one
// call, the message base64 in JSON.
func (c *dataConsumer) Send(ctx context.Context, message []byte, ppid int) error {
	return c.call(ctx, "send", consumerSendParams{Message: message, PPID: ppid}, nil)
}

// consumerSendParams mirror mediaserver.ConsumerSendParams.
type consumerSendParams struct {
	Message []byte `json:"message"`
	PPID    int    `json:"ppid,omitempty"`
}

func (c *dataConsumer) SetBufferedAmountLowThreshold(ctx context.Context, threshold int) error {
	return c.call(ctx, "setBufferedAmountLowThreshold", map[string]int{"threshold": threshold}, nil)
}

func (c *dataConsumer) GetBufferedAmount(ctx context.Context) (int, error) {
	var n int
	return n, c.call(ctx, "getBufferedAmount", nil, &n)
}

func (c *dataConsumer) SetSubchannels(ctx context.Context, subchannels []uint16) error {
	return c.call(ctx, "setSubchannels", map[string]any{"subchannels": orNone(subchannels)}, nil)
}

func (c *dataConsumer) AddSubchannel(ctx context.Context, subchannel uint16) error {
	return c.call(ctx, "addSubchannel", map[string]uint16{"subchannel": subchannel}, nil)
}

func (c *dataConsumer) RemoveSubchannel(ctx context.Context, subchannel uint16) error {
	return c.call(ctx, "removeSubchannel", map[string]uint16{"subchannel": subchannel}, nil)
}

func (c *dataConsumer) OnTransportClose(fn func()) func()     { return c.on("transportclose", fn) }
func (c *dataConsumer) OnDataProducerClose(fn func()) func()  { return c.on("dataproducerclose", fn) }
func (c *dataConsumer) OnDataProducerPause(fn func()) func()  { return c.on("dataproducerpause", fn) }
func (c *dataConsumer) OnDataProducerResume(fn func()) func() { return c.on("dataproducerresume", fn) }
func (c *dataConsumer) OnPause(fn func()) func()              { return c.on("pause", fn) }
func (c *dataConsumer) OnResume(fn func()) func()             { return c.on("resume", fn) }
func (c *dataConsumer) OnSctpSendBufferFull(fn func()) func() { return c.on("sctpsendbufferfull", fn) }

// messageEvent mirrors mediaserver.MessageEvent.
type messageEvent struct {
	Message []byte `json:"message"`
	PPID    int    `json:"ppid"`
}

// OnMessage receives the messages of a DirectTransport data consumer.
func (c *dataConsumer) OnMessage(fn func([]byte, int)) func() {
	return onData(c.base, "message", func(m messageEvent) { fn(m.Message, m.PPID) })
}

func (c *dataConsumer) OnBufferedAmountLow(fn func(int)) func() {
	return onData(c.base, "bufferedamountlow", func(d struct {
		BufferedAmount int `json:"bufferedAmount"`
	}) {
		fn(d.BufferedAmount)
	})
}
