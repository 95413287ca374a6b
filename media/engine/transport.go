package engine

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/event"
	"github.com/ropehq/rope/media/internal/rtppkt"
)

// link is the I/O side of a transport kind (plain, pipe, direct).
type link interface {
	// sendRTP and sendRTCP write one packet to the remote side; they may
	// be called from any goroutine and must not keep b.
	sendRTP(b []byte)
	// sendRTPBatch writes a consumer's output queue; it may modify the
	// packets and bufs (encrypting in place), which the consumer rewrites
	// before their next use, and must not keep them.
	sendRTPBatch(bufs [][]byte)
	sendRTCP(b []byte)
	// close stops I/O; wait waits for the link's goroutines.
	close()
	wait()
	fillDump(d *media.TransportDump)
	fillStats(s *media.TransportStats)
}

// streamRef routes an incoming SSRC to a producer stream.
type streamRef struct {
	p   *producer
	idx int
	rtx bool
}

// consumerRef routes an RTCP media SSRC to a consumer stream.
type consumerRef struct {
	c   *consumer
	idx int
}

// transport is the part shared by every transport kind. The kind wraps it
// (plainTransport, pipeTransport, directTransport) and sets outer and
// link.
type transport struct {
	object
	router *router
	// statsType is the "type" of stats entries.
	statsType string
	outer     media.Transport
	link      link
	direct    bool
	pipe      bool
	// enableRtx (pipe transports) makes pipe consumers use RTX.
	enableRtx bool

	// mu guards the maps below.
	mu            sync.Mutex
	producers     map[string]*producer
	consumers     map[string]*consumer
	dataProducers map[string]*dataProducer
	dataConsumers map[string]*dataConsumer
	consumerSSRC  map[uint32]consumerRef
	traceTypes    []media.TransportTraceEventType
	// cnameForProducers is the CNAME of the producers (not on pipe
	// transports); see producerCNAME.
	cnameForProducers string
	// nextMidForConsumers is the MID counter of consumers given no mid
	// (nextConsumerMid).
	nextMidForConsumers int

	// listener holds the MID and RID tables (rtp_listener.go); guarded
	// by mu.
	listener rtpListener

	// ingress maps SSRC to producer stream (the listener's SSRC table);
	// replaced (copy on write) under mu, read without locks by the
	// receive path.
	ingress atomic.Pointer[map[uint32]streamRef]

	bytesReceived, bytesSent       atomic.Uint64
	rtpBytesReceived, rtpBytesSent atomic.Uint64
	rtxBytesReceived, rtxBytesSent atomic.Uint64

	// tcc sends transport-cc feedback (bwe.go), remb REMB from its own
	// estimate (bwe_remb.go); at most one of them is set, when the first
	// producer negotiates either. Set under mu, read by the receive path.
	tcc  atomic.Pointer[tccServer]
	remb atomic.Pointer[rembServer]
	// bweStart tells the RTCP goroutine (rtcpLoop; startLoopBwe on the
	// event loop) to start the feedback timer.
	bweStart chan struct{}
	// maxIncomingBitrate is setMaxIncomingBitrate's value (0: none).
	maxIncomingBitrate atomic.Uint64

	// tccClient is the send-side bandwidth estimator (bwe_send.go), set
	// under mu by the first consumer that negotiates it; sendBweStart
	// wakes the RTCP goroutine to run the estimator's tick at once (it
	// starts it, and needDistribute and feedback worth acting on send
	// it). twccSeq is the last transport-wide sequence number sent;
	// needDistribute asks the RTCP goroutine to distribute the estimate
	// again.
	tccClient      atomic.Pointer[tccClient]
	sendBweStart   chan struct{}
	twccSeq        atomic.Uint32
	needDistribute bweSignal
	// bweWoken asks the event loop's estimator timer to run bweTick at
	// its next firing (bweLoopTick); bweNextAt is when bweTick asked to
	// run next there (loop goroutine only).
	bweWoken  atomic.Bool
	bweNextAt int64
	// initialOutgoing is initialAvailableOutgoingBitrate; minOutgoing and
	// maxOutgoing setMinOutgoingBitrate's and setMaxOutgoingBitrate's
	// values (0: none), set under mu.
	initialOutgoing          int
	minOutgoing, maxOutgoing atomic.Uint64
	probationBytesSent       atomic.Uint64
	// rates are the bitrates of the byte counters over the last RTCP
	// interval (stats), updated by the RTCP goroutine.
	rates transportRates

	// timers are the transport's timers on the worker's event loop;
	// onLoop says its RTCP runs there (else on rtcpLoop's goroutine),
	// bweOnLoop that the estimator's timer was started there.
	timers    loopTimers
	onLoop    atomic.Bool
	bweOnLoop atomic.Bool

	// Scratch of the RTCP goroutine (sendReports); rtcpOut is nil on
	// the event loop, which has its own (reportWriter).
	repProducers []*producer
	repConsumers []*consumer
	rtcpOut      *rtcpWriter

	// closeHook, if set by the kind, runs once closing is done, just
	// before the observer "close" (a WebRtcTransport's
	// "listenserverclose" and its server's bookkeeping).
	closeHook func(closeReason)

	// layersDue says a consumer's current layers changed since the last
	// emission (layers_event.go); layersWake tells rtcpLoop to emit.
	layersDue  atomic.Bool
	layersWake chan struct{}

	// inLoop counts user callbacks running on the transport's own
	// goroutines, so that Close called from one does not wait for itself.
	inLoop atomic.Int32
	stop   chan struct{}
	wg     sync.WaitGroup

	onRouterClose     event.Listeners[struct{}]
	onNewProducer     event.Listeners[media.Producer]
	onNewConsumer     event.Listeners[media.Consumer]
	onNewDataProducer event.Listeners[media.DataProducer]
	onNewDataConsumer event.Listeners[media.DataConsumer]
	onTrace           event.Listeners[media.TransportTraceEventData]
	// traceMask holds the enabled trace event bits (trace.go).
	traceMask atomic.Uint32
}

func newTransport(r *router, statsType string, appData media.AppData) *transport {
	t := &transport{
		router: r, statsType: statsType,
		producers: map[string]*producer{}, consumers: map[string]*consumer{},
		dataProducers: map[string]*dataProducer{}, dataConsumers: map[string]*dataConsumer{},
		consumerSSRC: map[uint32]consumerRef{}, stop: make(chan struct{}), bweStart: make(chan struct{}, 1), layersWake: make(chan struct{}, 1),
		sendBweStart: make(chan struct{}, 1), initialOutgoing: bweDefaultInitial,
	}
	t.init(newID(), appData)
	t.needDistribute.wake = t.sendBweStart
	empty := map[uint32]streamRef{}
	t.ingress.Store(&empty)
	return t
}

// start registers the transport with its router and starts its RTCP
// timers (startRTCP). The kind has set outer and link.
func (t *transport) start() error {
	if err := t.router.addTransport(t); err != nil {
		return err
	}
	t.startRTCP(t.router.worker.api.opts.RTCPInterval)
	return nil
}

func (t *transport) OnRouterClose(fn func()) func() { return on(&t.onRouterClose, fn) }
func (t *transport) OnNewProducer(fn func(media.Producer)) func() {
	return t.onNewProducer.On(fn)
}
func (t *transport) OnNewConsumer(fn func(media.Consumer)) func() {
	return t.onNewConsumer.On(fn)
}
func (t *transport) OnNewDataProducer(fn func(media.DataProducer)) func() {
	return t.onNewDataProducer.On(fn)
}
func (t *transport) OnNewDataConsumer(fn func(media.DataConsumer)) func() {
	return t.onNewDataConsumer.On(fn)
}
func (t *transport) OnTrace(fn func(media.TransportTraceEventData)) func() {
	return t.onTrace.On(fn)
}

func (t *transport) Close(ctx context.Context) error {
	t.close(closeBySelf)
	return nil
}

func (t *transport) close(reason closeReason) {
	if t.closed.Swap(true) {
		return
	}
	close(t.stop)
	t.timers.stop()
	if t.link != nil {
		t.link.close()
	}
	if t.inLoop.Load() == 0 {
		t.wg.Wait()
		if t.link != nil {
			t.link.wait()
		}
	}
	t.mu.Lock()
	producers, consumers := mapValues(t.producers), mapValues(t.consumers)
	dps, dcs := mapValues(t.dataProducers), mapValues(t.dataConsumers)
	t.producers, t.consumers = map[string]*producer{}, map[string]*consumer{}
	t.dataProducers, t.dataConsumers = map[string]*dataProducer{}, map[string]*dataConsumer{}
	t.consumerSSRC = map[uint32]consumerRef{}
	t.listener = rtpListener{}
	t.mu.Unlock()
	for _, c := range consumers {
		c.close(closeByParent)
	}
	for _, p := range producers {
		p.close(closeByParent)
	}
	for _, c := range dcs {
		c.close(closeByParent)
	}
	for _, p := range dps {
		p.close(closeByParent)
	}
	if reason == closeBySelf || reason == closeByListenServer {
		t.router.removeTransport(t.id)
	}
	if reason == closeByParent {
		emit(&t.onRouterClose)
	}
	if t.closeHook != nil {
		t.closeHook(reason)
	}
	emit(&t.onClose)
	t.onClose.Clear()
}

// loopCallback runs fn (which may call user handlers) on one of the
// transport's goroutines.
func (t *transport) loopCallback(fn func()) {
	defer t.router.worker.recoverPanic("transport event")
	t.inLoop.Add(1)
	defer t.inLoop.Add(-1)
	fn()
}

// receive handles one packet from the remote side (RTP or RTCP). It runs
// on the link's read goroutine and does not allocate for RTP. It returns
// the producer an RTP packet went to: the caller flushes it once the read
// batch is done.
func (t *transport) receive(b []byte, now int64) *producer {
	t.bytesReceived.Add(uint64(len(b)))
	if rtppkt.IsRTCP(b) {
		t.receiveRTCP(b)
		return nil
	}
	return t.receiveRTP(b, now)
}

func (t *transport) receiveRTP(b []byte, now int64) *producer {
	h, ok := rtppkt.Parse(b)
	if !ok {
		return nil
	}
	// As mediasoup, before finding the producer.
	if s := t.tcc.Load(); s != nil {
		s.incoming(b, &h, now)
	} else if s := t.remb.Load(); s != nil {
		s.incoming(b, &h, now)
	}
	ref, ok := (*t.ingress.Load())[h.SSRC]
	if !ok {
		if ref, ok = t.learnStream(b, &h); !ok {
			return nil
		}
	}
	if ref.rtx {
		t.rtxBytesReceived.Add(uint64(len(b)))
	} else {
		t.rtpBytesReceived.Add(uint64(len(b)))
	}
	ref.p.receiveRTP(b, &h, ref, now)
	return ref.p
}

// sendRTP is the consumers' way out.
func (t *transport) sendRTP(b []byte, rtx bool) {
	n := uint64(len(b))
	t.bytesSent.Add(n)
	if rtx {
		t.rtxBytesSent.Add(n)
	} else {
		t.rtpBytesSent.Add(n)
	}
	t.link.sendRTP(b)
}

func (t *transport) sendRTPBatch(bufs [][]byte) {
	t.countRTPBatch(bufs)
	t.link.sendRTPBatch(bufs)
}

// queueRTPBatch queues a batch of RTP packets on ring, where the link
// can send that way (a plain or pipe transport's connected socket
// without SRTP); false: send it with sendRTPBatch.
func (t *transport) queueRTPBatch(ring *sendRing, bufs [][]byte) bool {
	l, ok := t.link.(*udpLink)
	if !ok || !l.queueRTPBatch(ring, bufs) {
		return false
	}
	t.countRTPBatch(bufs)
	return true
}

// countRTPBatch counts a batch of RTP packets as sent.
func (t *transport) countRTPBatch(bufs [][]byte) {
	var n uint64
	for _, b := range bufs {
		n += uint64(len(b))
	}
	t.bytesSent.Add(n)
	t.rtpBytesSent.Add(n)
}

func (t *transport) sendRTCP(b []byte) {
	t.bytesSent.Add(uint64(len(b)))
	t.link.sendRTCP(b)
}

// rebuildIngress recomputes the SSRC table from the producers' streams
// (given and learned SSRCs); call with mu held.
func (t *transport) rebuildIngress() {
	m := make(map[uint32]streamRef)
	for _, p := range t.producers {
		for i, s := range p.streams {
			if ssrc := s.ssrc.Load(); ssrc != 0 {
				m[ssrc] = streamRef{p: p, idx: i}
			}
			if ssrc := s.rtxSSRC.Load(); ssrc != 0 {
				m[ssrc] = streamRef{p: p, idx: i, rtx: true}
			}
		}
	}
	t.ingress.Store(&m)
}

// SetMaxIncomingBitrate caps the bitrate remote senders are told they
// may use (a REMB next to the transport-cc feedback, bwe.go, or the cap
// of the REMB estimate, bwe_remb.go); 0 removes the cap.
func (t *transport) SetMaxIncomingBitrate(ctx context.Context, bitrate int) error {
	if err := t.checkBitrate(bitrate); err != nil {
		return err
	}
	t.maxIncomingBitrate.Store(uint64(bitrate))
	return nil
}

// SetMaxOutgoingBitrate caps the send-side estimate (bwe_send.go); 0
// removes the cap. As mediasoup, a bitrate must be 0 or at least 30000
// and not below the minimum.
func (t *transport) SetMaxOutgoingBitrate(ctx context.Context, bitrate int) error {
	if err := t.checkOutgoingBitrate(bitrate); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if min := t.minOutgoing.Load(); bitrate > 0 && uint64(bitrate) < min {
		return &media.ParamError{Field: "bitrate", Reason: fmt.Sprintf("must be >= current min outgoing bitrate (%d) or 0 (unlimited)", min)}
	}
	t.maxOutgoing.Store(uint64(bitrate))
	t.outgoingBoundsChangedLocked()
	return nil
}

// SetMinOutgoingBitrate sets the send-side estimate's floor; 0 removes
// it. As mediasoup, a bitrate must be 0 or at least 30000 and not above
// the maximum.
func (t *transport) SetMinOutgoingBitrate(ctx context.Context, bitrate int) error {
	if err := t.checkOutgoingBitrate(bitrate); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if max := t.maxOutgoing.Load(); bitrate > 0 && max > 0 && uint64(bitrate) > max {
		return &media.ParamError{Field: "bitrate", Reason: fmt.Sprintf("must be <= current max outgoing bitrate (%d) or 0 (unlimited)", max)}
	}
	t.minOutgoing.Store(uint64(bitrate))
	t.outgoingBoundsChangedLocked()
	return nil
}

func (t *transport) checkOutgoingBitrate(bitrate int) error {
	if err := t.checkBitrate(bitrate); err != nil {
		return err
	}
	if bitrate > 0 && bitrate < bweMinBitrate {
		return &media.ParamError{Field: "bitrate", Reason: fmt.Sprintf("must be >= %d or 0 (unlimited)", bweMinBitrate)}
	}
	return nil
}

// outgoingBoundsChangedLocked applies new bounds to the estimator and
// asks for a new distribution. Call with mu held.
func (t *transport) outgoingBoundsChangedLocked() {
	tc := t.tccClient.Load()
	if tc == nil {
		return
	}
	tc.mu.Lock()
	tc.applyBoundsLocked(float64(t.minOutgoing.Load()), float64(t.maxOutgoing.Load()))
	tc.mu.Unlock()
	t.needDistribute.Store(true)
}

func (t *transport) checkBitrate(bitrate int) error {
	if err := t.checkOpen("transport"); err != nil {
		return err
	}
	if bitrate < 0 {
		return &media.ParamError{Field: "bitrate", Reason: "negative"}
	}
	return nil
}

func (t *transport) EnableTraceEvent(ctx context.Context, types []media.TransportTraceEventType) error {
	if err := t.checkOpen("transport"); err != nil {
		return err
	}
	t.mu.Lock()
	t.traceTypes = append([]media.TransportTraceEventType(nil), types...)
	t.mu.Unlock()
	t.traceMask.Store(traceMaskOf(types, transportTraceBits))
	return nil
}

func (t *transport) Dump(ctx context.Context) (*media.TransportDump, error) {
	if err := t.checkOpen("transport"); err != nil {
		return nil, err
	}
	d := &media.TransportDump{
		ID: t.id, Direct: t.direct, MapSsrcConsumerID: []media.KeyValue{},
		MapRtxSsrcConsumerID: []media.KeyValue{}, TraceEventTypes: []string{},
		RtpListener: media.RtpListenerDump{SsrcTable: []media.KeyValue{}, MidTable: []media.KeyValue{}, RidTable: []media.KeyValue{}},
	}
	t.mu.Lock()
	d.ProducerIDs = sortedIDs(mapValues(t.producers))
	d.ConsumerIDs = sortedIDs(mapValues(t.consumers))
	d.DataProducerIDs = sortedIDs(mapValues(t.dataProducers))
	d.DataConsumerIDs = sortedIDs(mapValues(t.dataConsumers))
	for ssrc, ref := range t.consumerSSRC {
		kv := media.KeyValue{Key: itoa(ssrc), Value: ref.c.id}
		if ref.c.streams[ref.idx].rtxSSRC == ssrc {
			d.MapRtxSsrcConsumerID = append(d.MapRtxSsrcConsumerID, kv)
		} else {
			d.MapSsrcConsumerID = append(d.MapSsrcConsumerID, kv)
		}
	}
	for _, tt := range t.traceTypes {
		d.TraceEventTypes = append(d.TraceEventTypes, string(tt))
	}
	t.fillListenerDump(&d.RtpListener)
	t.mu.Unlock()
	for ssrc, ref := range *t.ingress.Load() {
		d.RtpListener.SsrcTable = append(d.RtpListener.SsrcTable, media.KeyValue{Key: itoa(ssrc), Value: ref.p.id})
	}
	if t.link != nil {
		t.link.fillDump(d)
	}
	return d, nil
}

func (t *transport) GetStats(ctx context.Context) ([]media.TransportStats, error) {
	if err := t.checkOpen("transport"); err != nil {
		return nil, err
	}
	s := media.TransportStats{
		Type: t.statsType, TransportID: t.id, Timestamp: time.Now().UnixMilli(),
		BytesReceived: t.bytesReceived.Load(), BytesSent: t.bytesSent.Load(),
		RtpBytesReceived: t.rtpBytesReceived.Load(), RtpBytesSent: t.rtpBytesSent.Load(),
		RtxBytesReceived: t.rtxBytesReceived.Load(), RtxBytesSent: t.rtxBytesSent.Load(),
		ProbationBytesSent: t.probationBytesSent.Load(),
	}
	t.rates.fill(&s)
	if tc := t.tccClient.Load(); tc != nil {
		avail, loss := tc.availableBitrate(), tc.packetLoss()
		s.AvailableOutgoingBitrate, s.RtpPacketLossSent = &avail, &loss
	}
	if max := t.maxOutgoing.Load(); max > 0 {
		s.MaxOutgoingBitrate = &max
	}
	if min := t.minOutgoing.Load(); min > 0 {
		s.MinOutgoingBitrate = &min
	}
	if t.link != nil {
		t.link.fillStats(&s)
	}
	return []media.TransportStats{s}, nil
}
