package engine

import (
	"context"
	"fmt"
	"strconv"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/ortc"
)

func (t *transport) Produce(ctx context.Context, o *media.ProducerOptions) (media.Producer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := t.checkOpen("transport"); err != nil {
		return nil, err
	}
	if o == nil {
		return nil, &media.ParamError{Field: "options", Reason: "required"}
	}
	if !o.Kind.Valid() {
		return nil, &media.ParamError{Field: "kind", Reason: fmt.Sprintf("invalid kind %q", o.Kind)}
	}
	id := o.ID
	if id == "" {
		id = newID()
	} else if err := validID("id", id); err != nil {
		return nil, err
	}
	rp := o.RtpParameters
	if !t.pipe {
		rp.Rtcp.CNAME = t.producerCNAME(rp.Rtcp.CNAME)
	}
	params, m, consumable, err := producerParams(o.Kind, rp, t.router.caps)
	if err != nil {
		return nil, fmt.Errorf("produce: %w", err)
	}
	if err := checkProducerEncodings(params); err != nil {
		return nil, err
	}
	typ, err := encodingsType(params)
	if err != nil {
		return nil, err
	}
	if t.pipe {
		typ = media.ProducerPipe
	}
	p := newProducer(t, id, o, params, typ, m, consumable)
	if err := t.addProducer(p); err != nil {
		return nil, err
	}
	t.startLoopBwe()
	t.onNewProducer.Emit(p)
	return p, nil
}

// producerCNAME returns the CNAME every producer of the transport gets,
// as mediasoup's Transport.produce (except on pipe transports, where each
// producer keeps its own): the first one given, else a random one.
// Chromium sending RID simulcast signals no a=ssrc and so no CNAME; an
// empty CNAME would reach consumers' SDP (a=ssrc:N cname:) and a
// receiving Chromium would then not bind the SSRC.
func (t *transport) producerCNAME(given string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cnameForProducers == "" {
		t.cnameForProducers = given
		if given == "" {
			t.cnameForProducers = newID()[:8]
		}
	}
	return t.cnameForProducers
}

// addProducer registers p in the router and the transport, rejecting
// duplicate ids, SSRCs, MIDs and RIDs (rtp_listener.go).
func (t *transport) addProducer(p *producer) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed.Load() {
		return media.NewError(media.ErrClosed, "transport %s closed", t.id)
	}
	if err := t.checkProducerLocked(p); err != nil {
		return err
	}
	if err := t.router.addProducer(p); err != nil {
		return err
	}
	t.addProducerLocked(p)
	t.enableBweLocked(p.params)
	t.producers[p.id] = p
	t.rebuildIngress()
	return nil
}

func (t *transport) removeProducer(p *producer) {
	t.mu.Lock()
	delete(t.producers, p.id)
	t.removeProducerLocked(p)
	t.rebuildIngress()
	t.mu.Unlock()
}

func (t *transport) Consume(ctx context.Context, o *media.ConsumerOptions) (media.Consumer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := t.checkOpen("transport"); err != nil {
		return nil, err
	}
	if o == nil || o.ProducerID == "" {
		return nil, &media.ParamError{Field: "producerId", Reason: "required"}
	}
	p, err := t.router.producer(o.ProducerID)
	if err != nil {
		return nil, err
	}
	typ, params, err := t.consumerParams(p, o)
	if err != nil {
		return nil, err
	}
	c := newConsumer(t, p, typ, params, o)
	switch typ {
	case media.ConsumerSimulcast:
		c.sim = newSimulcast(len(p.streams), ortc.ParseScalabilityMode(params.Encodings[0].ScalabilityMode).TemporalLayers, o.PreferredLayers)
	case media.ConsumerSVC:
		c.svc = newSVCLayers(params, o.PreferredLayers)
	}
	if err := t.addConsumer(c); err != nil {
		return nil, err
	}
	t.startLoopBwe()
	if c.sim != nil && c.bweManaged() {
		// No layer until the transport's estimate gives one (bwe_send.go).
		c.sim.target.Store(-1)
	}
	if c.svc != nil && !c.bweManaged() {
		c.setSVCTarget(int(c.svc.preferredSpatial.Load()), int(c.svc.preferredTemporal.Load()))
	}
	if err := p.addConsumer(c); err != nil {
		t.removeConsumer(c)
		return nil, err
	}
	c.setProducerPaused(p.paused.Load()) // in case it changed meanwhile
	t.onNewConsumer.Emit(c)
	if c.isActive() {
		c.requestKeyFrames()
	}
	return c, nil
}

func (t *transport) consumerParams(p *producer, o *media.ConsumerOptions) (media.ConsumerType, media.RtpParameters, error) {
	if t.pipe || o.Pipe {
		return media.ConsumerPipe, pipeConsumerParameters(p.consumable, t.enableRtx), nil
	}
	if o.RtpCapabilities == nil {
		return "", media.RtpParameters{}, &media.ParamError{Field: "rtpCapabilities", Reason: "required"}
	}
	if !canConsume(p.consumable, o.RtpCapabilities) {
		return "", media.RtpParameters{}, fmt.Errorf("consume: producer %s not consumable with the given rtpCapabilities: %w", p.id, media.ErrUnsupported)
	}
	enableRtx := p.kind == media.KindVideo
	if o.EnableRtx != nil {
		enableRtx = *o.EnableRtx
	}
	params, err := consumerParameters(p.consumable, o.RtpCapabilities, enableRtx)
	if err != nil {
		return "", media.RtpParameters{}, fmt.Errorf("consume: %w", err)
	}
	params.Mid = o.Mid
	if params.Mid == "" {
		params.Mid = t.nextConsumerMid()
	}
	typ, err := encodingsType(p.consumable)
	if err != nil {
		return "", media.RtpParameters{}, fmt.Errorf("consume: %w", err)
	}
	switch typ {
	case media.ProducerSimulcast:
		return media.ConsumerSimulcast, params, nil
	case media.ProducerSVC:
		params.HeaderExtensions = svcExtensions(p, params.HeaderExtensions)
		return media.ConsumerSVC, params, nil
	}
	return media.ConsumerSimple, params, nil
}

// nextConsumerMid returns the MID of the next (non-pipe) consumer that
// was given none, from the transport's counter, as mediasoup's
// Transport.consume: "0", "1", ... wrapping to "0" at 100000000 (at most
// 8 bytes).
func (t *transport) nextConsumerMid() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	mid := strconv.Itoa(t.nextMidForConsumers)
	t.nextMidForConsumers++
	if t.nextMidForConsumers == 100000000 {
		t.nextMidForConsumers = 0
	}
	return mid
}

func (t *transport) addConsumer(c *consumer) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed.Load() {
		return media.NewError(media.ErrClosed, "transport %s closed", t.id)
	}
	t.consumers[c.id] = c
	t.enableSendBweLocked(c)
	t.needDistribute.Store(true)
	for i, s := range c.streams {
		t.consumerSSRC[s.ssrc] = consumerRef{c: c, idx: i}
		if s.rtxSSRC != 0 {
			t.consumerSSRC[s.rtxSSRC] = consumerRef{c: c, idx: i}
		}
	}
	return nil
}

func (t *transport) removeConsumer(c *consumer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.consumers, c.id)
	t.needDistribute.Store(true)
	for ssrc, ref := range t.consumerSSRC {
		if ref.c == c {
			delete(t.consumerSSRC, ssrc)
		}
	}
}

func (t *transport) consumerBySSRC(ssrc uint32) (consumerRef, bool) {
	t.mu.Lock()
	ref, ok := t.consumerSSRC[ssrc]
	t.mu.Unlock()
	return ref, ok
}
