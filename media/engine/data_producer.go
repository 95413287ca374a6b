package engine

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/event"
)

type dataProducer struct {
	object
	transport *transport
	router    *router
	typ       media.DataType
	sctp      *media.SctpStreamParameters
	label     string
	protocol  string
	paused    atomic.Bool

	messages, bytes atomic.Uint64

	// consMu guards consumers.
	consMu    sync.Mutex
	consumers []*dataConsumer

	onTransportClose event.Listeners[struct{}]
	onPause          event.Listeners[struct{}]
	onResume         event.Listeners[struct{}]
}

var _ media.DataProducer = (*dataProducer)(nil)

func (t *transport) ProduceData(ctx context.Context, o *media.DataProducerOptions) (media.DataProducer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := t.checkOpen("transport"); err != nil {
		return nil, err
	}
	if !t.direct {
		return nil, fmt.Errorf("produceData: SCTP on this transport: %w", media.ErrUnsupported)
	}
	var opts media.DataProducerOptions
	if o != nil {
		opts = *o
	}
	id := opts.ID
	if id == "" {
		id = newID()
	} else if err := validID("id", id); err != nil {
		return nil, err
	}
	p := &dataProducer{transport: t, router: t.router, typ: media.DataDirect, label: opts.Label, protocol: opts.Protocol}
	p.init(id, opts.AppData)
	p.paused.Store(opts.Paused)
	if err := t.router.addDataProducer(p); err != nil {
		return nil, err
	}
	t.mu.Lock()
	if t.closed.Load() {
		t.mu.Unlock()
		t.router.removeDataProducer(id)
		return nil, media.NewError(media.ErrClosed, "transport %s closed", t.id)
	}
	t.dataProducers[id] = p
	t.mu.Unlock()
	t.onNewDataProducer.Emit(p)
	return p, nil
}

func (p *dataProducer) Type() media.DataType { return p.typ }
func (p *dataProducer) SctpStreamParameters() *media.SctpStreamParameters {
	return p.sctp
}
func (p *dataProducer) Label() string    { return p.label }
func (p *dataProducer) Protocol() string { return p.protocol }
func (p *dataProducer) Paused() bool     { return p.paused.Load() }

func (p *dataProducer) OnTransportClose(fn func()) func() { return on(&p.onTransportClose, fn) }
func (p *dataProducer) OnPause(fn func()) func()          { return on(&p.onPause, fn) }
func (p *dataProducer) OnResume(fn func()) func()         { return on(&p.onResume, fn) }

func (p *dataProducer) Close(ctx context.Context) error {
	p.close(closeBySelf)
	return nil
}

func (p *dataProducer) close(reason closeReason) {
	if p.closed.Swap(true) {
		return
	}
	p.router.removeDataProducer(p.id)
	if reason == closeBySelf {
		p.transport.mu.Lock()
		delete(p.transport.dataProducers, p.id)
		p.transport.mu.Unlock()
	}
	p.consMu.Lock()
	cons := p.consumers
	p.consumers = nil
	p.consMu.Unlock()
	for _, c := range cons {
		c.close(closeByProducer)
	}
	if reason == closeByParent {
		emit(&p.onTransportClose)
	}
	emit(&p.onClose)
	p.onClose.Clear()
}

func (p *dataProducer) consumerList() []*dataConsumer {
	p.consMu.Lock()
	defer p.consMu.Unlock()
	return slices.Clone(p.consumers)
}

func (p *dataProducer) addConsumer(c *dataConsumer) error {
	p.consMu.Lock()
	defer p.consMu.Unlock()
	if p.closed.Load() {
		return media.NewError(media.ErrClosed, "data producer %s closed", p.id)
	}
	p.consumers = append(p.consumers, c)
	return nil
}

func (p *dataProducer) removeConsumer(c *dataConsumer) {
	p.consMu.Lock()
	defer p.consMu.Unlock()
	p.consumers = slices.DeleteFunc(p.consumers, func(x *dataConsumer) bool { return x == c })
}

func (p *dataProducer) Pause(ctx context.Context) error  { return p.setPaused(true) }
func (p *dataProducer) Resume(ctx context.Context) error { return p.setPaused(false) }

func (p *dataProducer) setPaused(paused bool) error {
	if err := p.checkOpen("data producer"); err != nil {
		return err
	}
	if p.paused.Swap(paused) == paused {
		return nil
	}
	for _, c := range p.consumerList() {
		c.setProducerPaused(paused)
	}
	if paused {
		emit(&p.onPause)
	} else {
		emit(&p.onResume)
	}
	return nil
}

func (p *dataProducer) Send(msg []byte, o *media.DataSendOptions) error {
	if err := p.checkOpen("data producer"); err != nil {
		return err
	}
	if p.typ != media.DataDirect {
		return media.NewError(media.ErrInvalidState, "data producer %s is not on a DirectTransport", p.id)
	}
	var opts media.DataSendOptions
	if o != nil {
		opts = *o
	}
	if opts.PPID == 0 {
		opts.PPID = media.PPIDBinary
		if len(msg) == 0 {
			opts.PPID = media.PPIDBinaryEmpty
		}
	}
	if dt, ok := p.transport.outer.(*directTransport); ok && len(msg) > dt.maxMessageSize {
		return &media.ParamError{Field: "message", Reason: fmt.Sprintf("larger than maxMessageSize %d", dt.maxMessageSize)}
	}
	p.messages.Add(1)
	p.bytes.Add(uint64(len(msg)))
	if p.paused.Load() {
		return nil
	}
	p.consMu.Lock()
	cons := p.consumers
	p.consMu.Unlock()
	for _, c := range cons {
		c.deliver(msg, &opts)
	}
	return nil
}

func (p *dataProducer) Dump(ctx context.Context) (*media.DataProducerDump, error) {
	if err := p.checkOpen("data producer"); err != nil {
		return nil, err
	}
	return &media.DataProducerDump{ID: p.id, Type: p.typ, SctpStreamParameters: p.sctp,
		Label: p.label, Protocol: p.protocol, Paused: p.paused.Load()}, nil
}

func (p *dataProducer) GetStats(ctx context.Context) ([]media.DataProducerStats, error) {
	if err := p.checkOpen("data producer"); err != nil {
		return nil, err
	}
	return []media.DataProducerStats{{Type: "data-producer", Timestamp: time.Now().UnixMilli(),
		Label: p.label, Protocol: p.protocol, MessagesReceived: p.messages.Load(), BytesReceived: p.bytes.Load()}}, nil
}
