package engine

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/event"
)

type dataConsumer struct {
	object
	transport      *transport
	producer       *dataProducer
	typ            media.DataType
	paused         atomic.Bool
	producerPaused atomic.Bool

	messages, bytes atomic.Uint64

	// threshold is the buffered amount low threshold.
	threshold atomic.Int64

	// mu guards subchannels.
	mu          sync.Mutex
	subchannels []uint16

	onTransportClose event.Listeners[struct{}]
	onProducerClose  event.Listeners[struct{}]
	onProducerPause  event.Listeners[struct{}]
	onProducerResume event.Listeners[struct{}]
	onPause          event.Listeners[struct{}]
	onResume         event.Listeners[struct{}]
	onMessage        event.Listeners[dataMessage]
	onBufferFull     event.Listeners[struct{}]
	onBufferedLow    event.Listeners[int]
}

type dataMessage struct {
	msg  []byte
	ppid int
}

var _ media.DataConsumer = (*dataConsumer)(nil)

func (t *transport) ConsumeData(ctx context.Context, o *media.DataConsumerOptions) (media.DataConsumer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := t.checkOpen("transport"); err != nil {
		return nil, err
	}
	if o == nil || o.DataProducerID == "" {
		return nil, &media.ParamError{Field: "dataProducerId", Reason: "required"}
	}
	p, err := t.router.dataProducer(o.DataProducerID)
	if err != nil {
		return nil, err
	}
	if !t.direct {
		return nil, fmt.Errorf("consumeData: SCTP on this transport: %w", media.ErrUnsupported)
	}
	c := &dataConsumer{transport: t, producer: p, typ: media.DataDirect, subchannels: uniqSorted(o.Subchannels)}
	c.init(newID(), o.AppData)
	c.paused.Store(o.Paused)
	c.producerPaused.Store(p.paused.Load())
	t.mu.Lock()
	if t.closed.Load() {
		t.mu.Unlock()
		return nil, media.NewError(media.ErrClosed, "transport %s closed", t.id)
	}
	t.dataConsumers[c.id] = c
	t.mu.Unlock()
	if err := p.addConsumer(c); err != nil {
		c.removeFromTransport()
		return nil, err
	}
	t.onNewDataConsumer.Emit(c)
	return c, nil
}

func uniqSorted(s []uint16) []uint16 {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

func (c *dataConsumer) DataProducerID() string { return c.producer.id }
func (c *dataConsumer) Type() media.DataType   { return c.typ }
func (c *dataConsumer) SctpStreamParameters() *media.SctpStreamParameters {
	return nil
}
func (c *dataConsumer) Label() string            { return c.producer.label }
func (c *dataConsumer) Protocol() string         { return c.producer.protocol }
func (c *dataConsumer) Paused() bool             { return c.paused.Load() }
func (c *dataConsumer) DataProducerPaused() bool { return c.producerPaused.Load() }

func (c *dataConsumer) Subchannels() []uint16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.subchannels)
}

func (c *dataConsumer) OnTransportClose(fn func()) func()     { return on(&c.onTransportClose, fn) }
func (c *dataConsumer) OnDataProducerClose(fn func()) func()  { return on(&c.onProducerClose, fn) }
func (c *dataConsumer) OnDataProducerPause(fn func()) func()  { return on(&c.onProducerPause, fn) }
func (c *dataConsumer) OnDataProducerResume(fn func()) func() { return on(&c.onProducerResume, fn) }
func (c *dataConsumer) OnPause(fn func()) func()              { return on(&c.onPause, fn) }
func (c *dataConsumer) OnResume(fn func()) func()             { return on(&c.onResume, fn) }
func (c *dataConsumer) OnSctpSendBufferFull(fn func()) func() { return on(&c.onBufferFull, fn) }
func (c *dataConsumer) OnBufferedAmountLow(fn func(int)) func() {
	return c.onBufferedLow.On(fn)
}
func (c *dataConsumer) OnMessage(fn func([]byte, int)) func() {
	if fn == nil {
		return func() {}
	}
	return c.onMessage.On(func(m dataMessage) { fn(m.msg, m.ppid) })
}

func (c *dataConsumer) Close(ctx context.Context) error {
	c.close(closeBySelf)
	return nil
}

func (c *dataConsumer) close(reason closeReason) {
	if c.closed.Swap(true) {
		return
	}
	if reason != closeByProducer {
		c.producer.removeConsumer(c)
	}
	if reason != closeByParent {
		c.removeFromTransport()
	}
	switch reason {
	case closeByParent:
		emit(&c.onTransportClose)
	case closeByProducer:
		emit(&c.onProducerClose)
	}
	emit(&c.onClose)
	c.onClose.Clear()
}

func (c *dataConsumer) removeFromTransport() {
	c.transport.mu.Lock()
	delete(c.transport.dataConsumers, c.id)
	c.transport.mu.Unlock()
}

func (c *dataConsumer) setProducerPaused(paused bool) {
	if c.closed.Load() || c.producerPaused.Swap(paused) == paused {
		return
	}
	if paused {
		emit(&c.onProducerPause)
	} else {
		emit(&c.onProducerResume)
	}
}

func (c *dataConsumer) Pause(ctx context.Context) error  { return c.setPaused(true) }
func (c *dataConsumer) Resume(ctx context.Context) error { return c.setPaused(false) }

func (c *dataConsumer) setPaused(paused bool) error {
	if err := c.checkOpen("data consumer"); err != nil {
		return err
	}
	if c.paused.Swap(paused) == paused {
		return nil
	}
	if paused {
		emit(&c.onPause)
	} else {
		emit(&c.onResume)
	}
	return nil
}

// deliver hands a message to the application, honouring pause and
// subchannel filters (mediasoup DataConsumer::SendMessage).
func (c *dataConsumer) deliver(msg []byte, o *media.DataSendOptions) {
	if c.closed.Load() || c.paused.Load() || c.producerPaused.Load() {
		return
	}
	c.mu.Lock()
	subs := c.subchannels
	c.mu.Unlock()
	if len(o.Subchannels) > 0 && !slices.ContainsFunc(o.Subchannels, func(s uint16) bool { return slices.Contains(subs, s) }) {
		return
	}
	if o.RequiredSubchannel != nil && !slices.Contains(subs, *o.RequiredSubchannel) {
		return
	}
	c.count(msg)
	c.onMessage.Emit(dataMessage{msg: msg, ppid: o.PPID})
}

// SetBufferedAmountLowThreshold on a direct data consumer, whose buffer
// is always empty, fires "bufferedamountlow" (0) at once.
func (c *dataConsumer) SetBufferedAmountLowThreshold(ctx context.Context, threshold int) error {
	if err := c.setThreshold(threshold); err != nil {
		return err
	}
	c.onBufferedLow.Emit(0)
	return nil
}

// setThreshold validates and stores a buffered amount low threshold.
func (c *dataConsumer) setThreshold(threshold int) error {
	if err := c.checkOpen("data consumer"); err != nil {
		return err
	}
	if threshold < 0 || threshold > math.MaxUint32 {
		return &media.ParamError{Field: "threshold", Reason: fmt.Sprintf("%d out of range", threshold)}
	}
	c.threshold.Store(int64(threshold))
	return nil
}

func (c *dataConsumer) GetBufferedAmount(ctx context.Context) (int, error) {
	return 0, c.checkOpen("data consumer")
}

// Send hands a server-originated message to a direct data consumer's
// OnMessage listeners, as if its data producer had sent it but past the
// subchannel filters (mediasoup refuses send on a direct data consumer).
func (c *dataConsumer) Send(ctx context.Context, msg []byte, ppid int) error {
	limit := 0
	if dt, ok := c.transport.outer.(*directTransport); ok {
		limit = dt.maxMessageSize
	}
	msg, ppid, err := c.checkSend(msg, ppid, limit)
	if err != nil {
		return err
	}
	if ppid == media.PPIDStringEmpty || ppid == media.PPIDBinaryEmpty {
		msg = msg[:0]
	}
	c.count(msg)
	c.onMessage.Emit(dataMessage{msg: msg, ppid: ppid})
	return nil
}

// checkSend validates a Send and returns the message and PPID to send
// as mediasoup's DataConsumer.send would: ppid 0 becomes binary (or
// binary empty), an empty PPID carries one byte.
func (c *dataConsumer) checkSend(msg []byte, ppid, limit int) ([]byte, int, error) {
	if err := c.checkOpen("data consumer"); err != nil {
		return nil, 0, err
	}
	if ppid < 0 || ppid > math.MaxUint32 {
		return nil, 0, &media.ParamError{Field: "ppid", Reason: fmt.Sprintf("%d out of range", ppid)}
	}
	if limit > 0 && len(msg) > limit {
		return nil, 0, &media.ParamError{Field: "message", Reason: fmt.Sprintf("%d bytes exceed maxMessageSize %d", len(msg), limit)}
	}
	if c.paused.Load() || c.producerPaused.Load() {
		return nil, 0, media.NewError(media.ErrInvalidState, "data consumer %s is paused", c.id)
	}
	if ppid == 0 {
		ppid = media.PPIDBinary
		if len(msg) == 0 {
			ppid = media.PPIDBinaryEmpty
		}
	}
	switch ppid {
	case media.PPIDStringEmpty:
		msg = []byte{' '}
	case media.PPIDBinaryEmpty:
		msg = []byte{0}
	}
	return msg, ppid, nil
}

// count adds a message to the sent statistics.
func (c *dataConsumer) count(msg []byte) {
	c.messages.Add(1)
	c.bytes.Add(uint64(len(msg)))
}

func (c *dataConsumer) SetSubchannels(ctx context.Context, subs []uint16) error {
	if err := c.checkOpen("data consumer"); err != nil {
		return err
	}
	c.mu.Lock()
	c.subchannels = uniqSorted(subs)
	c.mu.Unlock()
	return nil
}

func (c *dataConsumer) AddSubchannel(ctx context.Context, sub uint16) error {
	if err := c.checkOpen("data consumer"); err != nil {
		return err
	}
	c.mu.Lock()
	c.subchannels = uniqSorted(append(slices.Clone(c.subchannels), sub))
	c.mu.Unlock()
	return nil
}

func (c *dataConsumer) RemoveSubchannel(ctx context.Context, sub uint16) error {
	if err := c.checkOpen("data consumer"); err != nil {
		return err
	}
	c.mu.Lock()
	c.subchannels = slices.DeleteFunc(slices.Clone(c.subchannels), func(s uint16) bool { return s == sub })
	c.mu.Unlock()
	return nil
}

func (c *dataConsumer) Dump(ctx context.Context) (*media.DataConsumerDump, error) {
	if err := c.checkOpen("data consumer"); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return &media.DataConsumerDump{ID: c.id, DataProducerID: c.producer.id, Type: c.typ,
		Label: c.producer.label, Protocol: c.producer.protocol, BufferedAmountLowThreshold: int(c.threshold.Load()),
		Paused: c.paused.Load(), DataProducerPaused: c.producerPaused.Load(), Subchannels: slices.Clone(c.subchannels)}, nil
}

func (c *dataConsumer) GetStats(ctx context.Context) ([]media.DataConsumerStats, error) {
	if err := c.checkOpen("data consumer"); err != nil {
		return nil, err
	}
	return []media.DataConsumerStats{{Type: "data-consumer", Timestamp: time.Now().UnixMilli(),
		Label: c.producer.label, Protocol: c.producer.protocol, MessagesSent: c.messages.Load(), BytesSent: c.bytes.Load()}}, nil
}
