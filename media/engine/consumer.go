package engine

import (
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/event"
	"github.com/ropehq/rope/media/internal/gcc"
	"github.com/ropehq/rope/media/internal/rtppkt"
	"github.com/ropehq/rope/media/ortc"
	"github.com/ropehq/rope/media/webrtc"
)

// outBatch bounds the packets a consumer queues before sending.
const outBatch = 16

type consumer struct {
	object
	transport *transport
	producer  *producer
	kind      media.MediaKind
	typ       media.ConsumerType
	params    media.RtpParameters
	useNack   bool
	// logSent says the streams remember sent packets in a seqLog
	// (send_history.go).
	logSent bool
	// rtxPT is the RTX payload type (0: no RTX).
	rtxPT uint8
	// outPT maps router payload types to the consumer's (identity for
	// negotiated codecs; 0 means not negotiated: drop).
	outPT [128]uint8
	// midID is the id of the MID header extension the consumer writes
	// mid into (0: the consumer's rtpParameters have no mid, or did not
	// negotiate the extension), as mediasoup's consumers do.
	midID uint8
	mid   []byte
	// twccID is the transport-wide-cc extension id the consumer
	// negotiated with transport-cc feedback (0: none): its packets carry
	// the transport's sequence numbers there (bwe_send.go).
	twccID uint8
	// absID is the abs-send-time extension id a video consumer
	// negotiated (0: none): its packets carry their send time there
	// (abs_send_time.go).
	absID uint8
	// stripDD: the producer's packets carry the dependency descriptor and
	// this consumer did not negotiate it (av1dd.go).
	stripDD bool

	paused         atomic.Bool
	producerPaused atomic.Bool
	priority       atomic.Int32
	// activeSince is when the consumer last became active (monotonic ns).
	activeSince atomic.Int64
	// managingBitrate is a simple consumer's state in the bitrate
	// distribution (bwe_layers.go; RTCP goroutine only).
	managingBitrate bool
	// reportedScore is the last score emitted (score*100+producerScore).
	reportedScore atomic.Int32

	// mu guards the send state: streams, active.
	mu      sync.Mutex
	active  bool
	streams []sendStream

	// sim is the simulcast layer state (nil unless simulcast).
	sim *simulcast
	// svc is the SVC layer state (nil unless svc).
	svc *svcLayers

	// The output queue holds rewritten packets until the producer's read
	// batch ends, then goes out in one sendmmsg. Only the producer's
	// ingress path (one goroutine at a time) touches it. Its buffers
	// are out[:held], queued of them holding packets (outBufs): the
	// first is the consumer's own (first), allocated with its first
	// packet, so a queue of one, the usual at conference rates, takes
	// no lock; the others come from the worker's pool when the queue
	// grows and go back once it is sent.
	pool    *outPool
	first   *outBuf
	out     [outBatch]*outBuf
	held    int
	outBufs [outBatch][]byte
	queued  int
	// outSent are the transport-wide sequence numbers and sizes of the
	// queued packets (outNumbered of them, when twccID is set).
	outSent     [outBatch]gcc.Packet
	outNumbered int

	onTransportClose event.Listeners[struct{}]
	onProducerClose  event.Listeners[struct{}]
	onProducerPause  event.Listeners[struct{}]
	onProducerResume event.Listeners[struct{}]
	onPause          event.Listeners[struct{}]
	onResume         event.Listeners[struct{}]
	onScore          event.Listeners[media.ConsumerScore]
	onLayersChange   event.Listeners[*media.ConsumerLayers]
	onTrace          event.Listeners[media.ProducerTraceEventData]
	onRtp            event.Listeners[[]byte]

	// traceMask holds the enabled trace event bits (trace.go); traceQ
	// the events made under mu, emitted after it.
	traceMask atomic.Uint32
	traceQ    traceQueue
}

var _ media.Consumer = (*consumer)(nil)

// sendStream is one outgoing RTP stream of a consumer; it forwards the
// producer stream with the same index (simple consumers: stream 0).
type sendStream struct {
	ssrc         uint32
	rtxSSRC      uint32
	clockRate    int64
	syncRequired bool
	seq          rtppkt.SeqRewriter
	// seqMap or seqLog map sent sequence numbers back to the
	// producer's, for retransmissions (send_history.go); seqMap is nil
	// unless NACK is negotiated and the consumer uses no seqLog.
	seqMap *rtppkt.SeqMap
	seqLog seqLog
	rtxSeq uint16
	// tsOffset is added to timestamps (simulcast layer switches).
	tsOffset uint32

	packets, bytes uint64
	keyFrames      uint64 // key frames forwarded (their first packets)
	retransmitted  uint64
	nackCount      uint64
	nackPackets    uint64
	pliCount       uint64
	firCount       uint64
	lastTS         uint32
	lastSentAt     int64
	rate           rate
	lastSRMid      uint32
	lastSRAt       int64
	fractionLost   uint8
	packetsLost    int64
	rtt            float64
	hasRtt         bool
	score          int
}

func newConsumer(t *transport, p *producer, typ media.ConsumerType, params media.RtpParameters, o *media.ConsumerOptions) *consumer {
	c := &consumer{transport: t, producer: p, kind: p.kind, typ: typ, params: params, pool: &t.router.worker.outPool}
	c.init(newID(), o.AppData)
	c.paused.Store(o.Paused)
	c.producerPaused.Store(p.paused.Load())
	for _, codec := range params.Codecs {
		pt := uint8(codec.PayloadType & 0x7f)
		if isRtx(codec.MimeType) {
			c.rtxPT = pt
			continue
		}
		c.outPT[pt] = pt
		c.useNack = c.useNack || hasFeedback(codec.RtcpFeedback, "nack", "")
	}
	if params.Mid != "" && len(params.Mid) <= 255 {
		for _, e := range params.HeaderExtensions {
			if e.URI == media.ExtMid && e.ID > 0 && e.ID < 256 {
				c.midID, c.mid = uint8(e.ID), []byte(params.Mid)
			}
		}
	}
	c.logSent = c.useNack && usesSeqLog(typ)
	for _, e := range params.Encodings {
		s := sendStream{ssrc: e.SSRC, clockRate: int64(params.Codecs[0].ClockRate), syncRequired: true, score: 10}
		if e.RTX != nil {
			s.rtxSSRC = e.RTX.SSRC
		}
		if c.useNack && !c.logSent {
			s.seqMap = new(rtppkt.SeqMap)
		}
		c.streams = append(c.streams, s)
	}
	c.twccID = consumerTWCCID(params)
	c.absID = consumerAbsID(c.kind, params)
	c.stripDD = p.ddStrip != nil && !hasExtensionURI(params, media.ExtDependencyDescriptor)
	c.active = !c.paused.Load() && !c.producerPaused.Load()
	c.activeSince.Store(nanotime())
	c.priority.Store(1)
	c.reportedScore.Store(-1)
	return c
}

func (c *consumer) ProducerID() string                 { return c.producer.id }
func (c *consumer) Kind() media.MediaKind              { return c.kind }
func (c *consumer) RtpParameters() media.RtpParameters { return c.params.Clone() }
func (c *consumer) Type() media.ConsumerType           { return c.typ }
func (c *consumer) Paused() bool                       { return c.paused.Load() }
func (c *consumer) ProducerPaused() bool               { return c.producerPaused.Load() }
func (c *consumer) Priority() int                      { return int(c.priority.Load()) }

func (c *consumer) Score() media.ConsumerScore {
	c.mu.Lock()
	score := c.streams[0].score
	c.mu.Unlock()
	ps := c.producer.Score()
	out := media.ConsumerScore{Score: score, ProducerScores: make([]int, len(ps))}
	for i, s := range ps {
		out.ProducerScores[i] = s.Score
	}
	if len(ps) > 0 {
		out.ProducerScore = ps[0].Score
	}
	return out
}

// scoreChanged reports whether the score differs from the last one
// reported by "score" (and records it), without allocating.
func (c *consumer) scoreChanged() bool {
	c.mu.Lock()
	score := c.streams[0].score
	c.mu.Unlock()
	p := c.producer
	p.ingress.Lock()
	ps := p.streams[0].score
	p.ingress.Unlock()
	key := int32(score*100 + ps)
	return c.reportedScore.Swap(key) != key
}

func (c *consumer) OnTransportClose(fn func()) func() { return on(&c.onTransportClose, fn) }
func (c *consumer) OnProducerClose(fn func()) func()  { return on(&c.onProducerClose, fn) }
func (c *consumer) OnProducerPause(fn func()) func()  { return on(&c.onProducerPause, fn) }
func (c *consumer) OnProducerResume(fn func()) func() { return on(&c.onProducerResume, fn) }
func (c *consumer) OnPause(fn func()) func()          { return on(&c.onPause, fn) }
func (c *consumer) OnResume(fn func()) func()         { return on(&c.onResume, fn) }
func (c *consumer) OnScore(fn func(media.ConsumerScore)) func() {
	return c.onScore.On(fn)
}
func (c *consumer) OnLayersChange(fn func(*media.ConsumerLayers)) func() {
	return c.onLayersChange.On(fn)
}
func (c *consumer) OnTrace(fn func(media.ProducerTraceEventData)) func() {
	return c.onTrace.On(fn)
}
func (c *consumer) OnRtp(fn func([]byte)) func() { return c.onRtp.On(fn) }

func (c *consumer) Close(ctx context.Context) error {
	c.close(closeBySelf)
	return nil
}

func (c *consumer) close(reason closeReason) {
	if c.closed.Swap(true) {
		return
	}
	c.mu.Lock()
	c.active = false
	c.mu.Unlock()
	if reason != closeByProducer {
		c.producer.removeConsumer(c)
	}
	if reason != closeByParent {
		c.transport.removeConsumer(c)
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

// isActive reports whether packets flow (for callers outside the send
// path, which holds mu already).
func (c *consumer) isActive() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.active
}

// updateActive recomputes whether packets flow; when they start flowing
// again the streams resync and a key frame is requested.
func (c *consumer) updateActive() {
	c.mu.Lock()
	was := c.active
	c.active = !c.closed.Load() && !c.paused.Load() && !c.producerPaused.Load()
	now := c.active
	if now && !was {
		c.activeSince.Store(nanotime())
		for i := range c.streams {
			c.streams[i].syncRequired = true
		}
		if c.sim != nil {
			c.sim.current = -1
		}
	}
	if c.svc != nil && now != was {
		c.svc.activeChanged(now)
	}
	if c.sim != nil && was && !now && c.sim.current >= 0 {
		c.sim.layersChanged = true // the current layers are none now
	}
	changed := c.layersPending()
	c.mu.Unlock()
	if changed && !c.closed.Load() {
		c.transport.wakeLayers()
	}
	if c.svc != nil && now && !was && !c.bweManaged() {
		c.setSVCTarget(c.targetLayers(nanotime()))
	}
	if now != was {
		c.transport.needDistribute.Store(true)
	}
	if now && !was {
		c.requestKeyFrames()
	}
}

func (c *consumer) requestKeyFrames() {
	if c.kind != media.KindVideo {
		return
	}
	for i := range c.streams {
		c.producer.requestKeyFrame(c.producerStream(i))
	}
}

// producerStream maps a consumer stream index to the producer's (-1: a
// simulcast consumer the bandwidth estimate allows no layer).
func (c *consumer) producerStream(i int) int {
	if c.sim != nil {
		return int(c.sim.target.Load())
	}
	return i
}

func (c *consumer) setProducerPaused(paused bool) {
	if c.closed.Load() || c.producerPaused.Swap(paused) == paused {
		return
	}
	c.updateActive()
	if paused {
		emit(&c.onProducerPause)
	} else {
		emit(&c.onProducerResume)
	}
}

func (c *consumer) Pause(ctx context.Context) error {
	if err := c.checkOpen("consumer"); err != nil {
		return err
	}
	if c.paused.Swap(true) {
		return nil
	}
	c.updateActive()
	emit(&c.onPause)
	return nil
}

func (c *consumer) Resume(ctx context.Context) error {
	if err := c.checkOpen("consumer"); err != nil {
		return err
	}
	if !c.paused.Swap(false) {
		return nil
	}
	c.updateActive()
	emit(&c.onResume)
	return nil
}

func (c *consumer) SetPriority(ctx context.Context, priority int) error {
	if err := c.checkOpen("consumer"); err != nil {
		return err
	}
	if priority < 1 {
		return &media.ParamError{Field: "priority", Reason: "must be >= 1"}
	}
	c.priority.Store(int32(priority))
	c.transport.needDistribute.Store(true)
	return nil
}

func (c *consumer) UnsetPriority(ctx context.Context) error { return c.SetPriority(ctx, 1) }

func (c *consumer) RequestKeyFrame(ctx context.Context) error {
	if err := c.checkOpen("consumer"); err != nil {
		return err
	}
	c.requestKeyFrames()
	return nil
}

func (c *consumer) EnableTraceEvent(ctx context.Context, types []media.ProducerTraceEventType) error {
	if err := c.checkOpen("consumer"); err != nil {
		return err
	}
	c.traceMask.Store(traceMaskOf(types, producerTraceBits))
	return nil
}

// traceRTP queues the "rtp" or "keyframe" trace event of a sent packet.
func (c *consumer) traceRTP(mask uint32, pk *packet, b []byte) {
	h, ok := rtppkt.Parse(b)
	if !ok {
		return
	}
	kf := pk.kfCodec != kfNone && pk.keyFrame()
	if e, ok := rtpTraceEvent(mask, rtpTraceInfo(b, &h, kf, false), "out"); ok {
		c.traceQ.add(e)
	}
}

// forward queues one producer packet for sending; flush sends the queue.
// Both run on the producer's ingress path, must not allocate, and never
// modify pk.b.
func (c *consumer) forward(pk *packet) {
	if c.queued == c.held && !c.growOut() {
		// The worker's pool lent all it may: what is queued goes now,
		// and this packet waits in the consumer's own buffer.
		c.sendQueue()
		c.growOut()
	}
	if b := c.rewrite(pk, c.out[c.queued][:rtppkt.MaxPacketLen], &c.outSent[c.outNumbered]); b != nil {
		if c.outSent[c.outNumbered].Size != 0 {
			c.outNumbered++
		}
		c.outBufs[c.queued] = b
		c.queued++
		if c.queued == outBatch {
			// Under the producer's ingress lock: the trace events wait
			// for the flush after it (a listener may read the producer).
			c.sendQueue()
		}
	}
}

// flush sends the queued packets, returns the queue's buffers and
// emits the trace events queued with them. Call it without the
// producer's ingress lock.
func (c *consumer) flush() { c.flushTo(nil) }

// flushTo is flush with the sends queued on ring (nil: sent now).
func (c *consumer) flushTo(ring *sendRing) {
	if ring != nil && (c.transport.direct || c.traceMask.Load() != 0) {
		// Listeners run below and may feed producers (a DirectTransport
		// app sending what it receives), whose consumers would write
		// into buffers the ring has yet to send: it sends them first.
		ring.submit()
		ring = nil
	}
	c.sendQueueTo(ring)
	if c.traceMask.Load() != 0 {
		c.traceQ.emit(&c.onTrace)
	}
}

// sendQueue sends the queued packets and returns the queue's buffers.
func (c *consumer) sendQueue() { c.sendQueueTo(nil) }

// sendQueueTo is sendQueue with the sends queued on ring (nil: sent
// now): the buffers go back to the pool, but nothing takes them before
// the turn's next packets, after the ring's submission.
func (c *consumer) sendQueueTo(ring *sendRing) {
	if c.queued == 0 {
		c.releaseOut()
		return
	}
	bufs := c.outBufs[:c.queued]
	c.queued = 0
	if c.outNumbered > 0 || c.absID != 0 {
		now := nanotime()
		c.recordSent(now)
		if c.absID != 0 {
			restampAbsSendTime(bufs, c.absID, now)
		}
	}
	if c.transport.direct {
		for _, b := range bufs {
			c.onRtp.Emit(b)
		}
	} else if ring == nil || !c.transport.queueRTPBatch(ring, bufs) {
		c.transport.sendRTPBatch(bufs)
	}
	clear(bufs)
	c.releaseOut()
}

// growOut adds a buffer to the queue: the consumer's own first, then
// the pool's. It reports false when the pool lent all it may.
func (c *consumer) growOut() bool {
	if c.held == 0 {
		if c.first == nil {
			c.first = new(outBuf)
		}
		c.out[0] = c.first
	} else if c.out[c.held] = c.pool.borrow(); c.out[c.held] == nil {
		return false
	}
	c.held++
	return true
}

// releaseOut returns the pool's buffers of an empty queue: after a
// flush, and after the batch writer flushInto lent them to has sent
// them.
func (c *consumer) releaseOut() {
	if c.queued != 0 || c.held == 0 {
		return
	}
	if c.held > 1 {
		c.pool.put(c.out[1:c.held])
	}
	c.held = 0
}

// flushInto is flush for the end of a WebRtcTransport's read batch: a
// queue bound for a connected WebRtcTransport is handed to w, which sends
// it with those of other transports on the same WebRtcServer socket when
// w.Flush is called, before the queue is used again (the caller then
// calls releaseOut); any other goes out as flush sends it.
func (c *consumer) flushInto(w *webrtc.RTPBatchWriter) {
	if c.queued == 0 {
		return
	}
	l, ok := c.transport.link.(*webRtcLink)
	if !ok || c.transport.direct || !l.ready() {
		c.flush()
		return
	}
	bufs := c.outBufs[:c.queued]
	c.queued = 0
	if c.traceMask.Load() != 0 {
		c.traceQ.emit(&c.onTrace)
	}
	if c.absID != 0 { // Add encrypts: stamp now
		restampAbsSendTime(bufs, c.absID, nanotime())
	}
	c.transport.countRTPBatch(bufs)
	_ = w.Add(l.tr, bufs)
}

// recordSent records the numbered packets of the queue being sent in the
// transport's send history, as sent at (monotonic ns). at is when they
// are handed to the socket, not when they arrived: the time a worker
// takes between reading a packet and sending it (a busy turn of its
// event loop) is the worker's, and counted as the path's it would look
// like a queue building on the path to every viewer at once.
func (c *consumer) recordSent(at int64) {
	if c.outNumbered == 0 {
		return
	}
	if tc := c.transport.tccClient.Load(); tc != nil {
		tc.history.Record(at, c.outSent[:c.outNumbered])
	}
	c.outNumbered = 0
}

// rewrite copies pk into buf with the consumer's SSRC, payload type and
// sequence number, or returns nil if the packet is not to be sent. A
// packet given a transport-wide sequence number has it and its size in
// *sent (else sent.Size is 0).
func (c *consumer) rewrite(pk *packet, buf []byte, sent *gcc.Packet) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.active || c.outPT[pk.pt] == 0 {
		return nil
	}
	var s *sendStream
	var out uint16
	marker := false
	switch {
	case c.svc != nil:
		s = &c.streams[0]
		var ok bool
		out, marker, ok = c.svc.accept(pk, s)
		if c.layersPending() {
			c.transport.wakeLayers()
		}
		if !ok {
			return nil
		}
	case c.sim != nil:
		s = &c.streams[0]
		ok := c.sim.accept(pk, s)
		if c.layersPending() {
			c.transport.wakeLayers()
		}
		if !ok {
			return nil
		}
	default:
		if pk.enc >= len(c.streams) {
			return nil
		}
		s = &c.streams[pk.enc]
		if s.syncRequired {
			if pk.kfCodec != kfNone && !pk.keyFrame() {
				return nil
			}
			s.seq.Sync(pk.seq - 1)
			s.syncRequired = false
		}
	}
	if c.svc == nil {
		out = s.seq.Input(pk.seq)
	}
	n, twcc, numbered := c.copyNumbered(buf, pk.b, pk.hdrLen, pk.now)
	b := buf[:n]
	if c.stripDD {
		c.dropDependencyDescriptor(b)
	}
	sent.Size = 0
	if numbered {
		sent.Seq, sent.Size = twcc, n
	}
	rtppkt.SetSSRC(b, s.ssrc)
	rtppkt.SetPayloadType(b, c.outPT[pk.pt])
	rtppkt.SetSequenceNumber(b, out)
	ts := pk.ts + s.tsOffset
	if s.tsOffset != 0 {
		rtppkt.SetTimestamp(b, ts)
	}
	info := rtppkt.SeqInfo{In: pk.seq, Stream: uint8(pk.enc), TSOffset: s.tsOffset}
	if marker && b[1]&0x80 == 0 {
		b[1] |= 0x80
		info.Marker = true
	}
	if c.sim != nil && c.sim.vp8Write {
		c.sim.vp8Write = false
		d := pk.vp8Desc()
		// The payload ends the packet, as in pk.b.
		d.Write(b[n-(len(pk.b)-pk.hdrLen):], c.sim.vp8Pic, c.sim.vp8TL0)
		info.PicOffset, info.TL0Offset = c.sim.vp8Pic-d.PictureID, c.sim.vp8TL0-d.TL0PicIdx
	}
	s.remember(out, info, c.logSent)
	s.packets++
	s.bytes += uint64(n)
	if pk.kfCodec != kfNone && pk.keyFrame() {
		s.keyFrames++
	}
	s.rate.add(pk.now, n)
	s.lastTS = ts
	s.lastSentAt = pk.now
	if mask := c.traceMask.Load(); mask&(traceRTP|traceKeyFrame) != 0 {
		c.traceRTP(mask, pk, b)
	}
	return b
}

// copyNumbered is copyPacket that also writes the transport's next
// transport-wide sequence number, when the transport estimates
// bandwidth from transport-cc and the consumer negotiated it, and the
// abs-send-time now, when the consumer negotiated it (abs_send_time.go);
// it returns the length and the number, and whether it wrote one.
func (c *consumer) copyNumbered(dst, src []byte, hdrLen int, now int64) (int, uint16, bool) {
	numbered := false
	if c.twccID != 0 {
		tc := c.transport.tccClient.Load()
		numbered = tc != nil && tc.kind == bweTransportCC
	}
	if !numbered && c.absID == 0 {
		return c.copyPacket(dst, src, hdrLen), 0, false
	}
	var els [3]rtppkt.Element
	var tw [2]byte
	var abs [3]byte
	var seq uint16
	k := 0
	if c.midID != 0 {
		els[k] = rtppkt.Element{ID: c.midID, Val: c.mid}
		k++
	}
	if numbered {
		seq = uint16(c.transport.twccSeq.Add(1))
		be.PutUint16(tw[:], seq)
		els[k] = rtppkt.Element{ID: c.twccID, Val: tw[:]}
		k++
	}
	if c.absID != 0 {
		putAbsSendTime(abs[:], now)
		els[k] = rtppkt.Element{ID: c.absID, Val: abs[:]}
		k++
	}
	if c.midID == 0 {
		// Fast path: the producer's packet has the elements already
		// (browsers number theirs): copy, then overwrite them.
		if n := copyOverwriting(dst, src, hdrLen, els[:k]); n != 0 {
			return n, seq, numbered
		}
	}
	if n := rtppkt.CopyWithElements(dst, src, hdrLen, els[:k]); n != 0 {
		return n, seq, numbered
	}
	return copy(dst, src), 0, false
}

// copyPacket copies packet src (header length hdrLen) into dst with the
// consumer's MID, if it has one, in the MID header extension (the
// producer's is not forwarded; see producer.buildTables). A packet the
// MID does not fit in is copied as it is.
func (c *consumer) copyPacket(dst, src []byte, hdrLen int) int {
	if c.midID != 0 {
		if n := rtppkt.CopyWithExtension(dst, src, hdrLen, c.midID, c.mid); n != 0 {
			return n
		}
	}
	return copy(dst, src)
}

func (c *consumer) send(b []byte, rtx bool) {
	if c.transport.direct {
		c.onRtp.Emit(b)
		return
	}
	c.transport.sendRTP(b, rtx)
}

// onNack retransmits the packets a receiver reported lost on stream idx.
func (c *consumer) onNack(idx int, lost []uint16) {
	if c.traceMask.Load()&traceNack != 0 {
		c.onTrace.Emit(traceEvent("nack", "in", struct{}{}))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &c.streams[idx]
	s.nackCount++
	s.nackPackets += uint64(len(lost))
	if !c.useNack || !c.active {
		return
	}
	rtxBuf, nackBuf := c.pool.get(), c.pool.get()
	defer c.pool.putOne(nackBuf)
	defer c.pool.putOne(rtxBuf)
	for _, out := range lost {
		info, ok := s.sent(out, idx, c.logSent)
		if !ok || int(info.Stream) >= len(c.producer.streams) {
			continue
		}
		store := c.producer.streams[info.Stream].store
		if store == nil {
			continue
		}
		var b []byte
		var twcc uint16
		numbered := false
		if c.midID == 0 && c.twccID == 0 && c.absID == 0 {
			b = rtxBuf[:store.Get(info.In, rtxBuf[:rtppkt.MaxPacketLen])]
		} else if n := store.Get(info.In, nackBuf[:rtppkt.MaxPacketLen]); n != 0 {
			if h, ok := rtppkt.Parse(nackBuf[:n]); ok {
				var m int
				m, twcc, numbered = c.copyNumbered(rtxBuf[:rtppkt.MaxPacketLen], nackBuf[:n], h.HeaderLen, nanotime())
				b = rtxBuf[:m]
			}
		}
		// A seqLog also maps numbers the consumer skipped (packets
		// of a codec it did not negotiate, never sent): not those.
		if len(b) == 0 || c.outPT[rtppkt.PayloadType(b)] == 0 {
			continue
		}
		if c.stripDD {
			c.dropDependencyDescriptor(b)
		}
		if info.TSOffset != 0 {
			rtppkt.SetTimestamp(b, rtppkt.Timestamp(b)+info.TSOffset)
		}
		if info.PicOffset != 0 || info.TL0Offset != 0 {
			vp8Offset(b, info.PicOffset, info.TL0Offset)
		}
		if info.Marker {
			b[1] |= 0x80
		}
		rtppkt.SetPayloadType(b, c.outPT[rtppkt.PayloadType(b)])
		rtppkt.SetSequenceNumber(b, out)
		rtppkt.SetSSRC(b, s.ssrc)
		rtx := s.rtxSSRC != 0 && c.rtxPT != 0
		if rtx {
			b = c.wrapRtx(s, rtxBuf, b)
		}
		if b == nil {
			continue
		}
		s.retransmitted++
		if tc := c.transport.tccClient.Load(); numbered && tc != nil {
			tc.history.RecordOne(nanotime(), twcc, len(b), 0)
		}
		c.send(b, rtx)
	}
}

// wrapRtx turns b (at the start of buf) into an RTX packet in place
// (RFC 4588).
func (c *consumer) wrapRtx(s *sendStream, buf *outBuf, b []byte) []byte {
	h, ok := rtppkt.Parse(b)
	if !ok {
		return nil
	}
	end := len(b) - h.PaddingLen
	osn := rtppkt.SequenceNumber(b)
	copy(buf[h.HeaderLen+2:], b[h.HeaderLen:end])
	binary.BigEndian.PutUint16(buf[h.HeaderLen:], osn)
	out := buf[:end+2]
	out[0] &^= 0x20
	rtppkt.SetSSRC(out, s.rtxSSRC)
	rtppkt.SetPayloadType(out, c.rtxPT)
	s.rtxSeq++
	rtppkt.SetSequenceNumber(out, s.rtxSeq)
	return out
}

// onKeyFrameRequest handles a PLI or FIR from the receiver.
func (c *consumer) onKeyFrameRequest(idx int, fir bool) {
	c.mu.Lock()
	if fir {
		c.streams[idx].firCount++
	} else {
		c.streams[idx].pliCount++
	}
	active, ssrc := c.active, c.streams[idx].ssrc
	c.mu.Unlock()
	if fir && c.traceMask.Load()&traceFIR != 0 {
		c.onTrace.Emit(traceEvent("fir", "in", media.SsrcTraceInfo{SSRC: ssrc}))
	} else if !fir && c.traceMask.Load()&tracePLI != 0 {
		c.onTrace.Emit(traceEvent("pli", "in", media.SsrcTraceInfo{SSRC: ssrc}))
	}
	if active {
		c.producer.requestKeyFrame(c.producerStream(idx))
	}
}

// onReceiverReport applies a reception report about stream idx.
func (c *consumer) onReceiverReport(idx int, fractionLost uint8, totalLost uint32, lsr, dlsr uint32, now int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &c.streams[idx]
	s.fractionLost = fractionLost
	s.packetsLost = int64(totalLost)
	if lsr != 0 {
		mid := uint32(ntpTime(now) >> 16)
		if d := mid - lsr - dlsr; int32(d) > 0 {
			s.rtt, s.hasRtt = float64(d)*1000/65536, true
		}
	}
	s.score = 10 - int(fractionLost)*10/256
}

func (c *consumer) Dump(ctx context.Context) (*media.ConsumerDump, error) {
	if err := c.checkOpen("consumer"); err != nil {
		return nil, err
	}
	d := &media.ConsumerDump{
		ID: c.id, ProducerID: c.producer.id, Kind: c.kind, Type: c.typ, RtpParameters: c.params.Clone(),
		ConsumableRtpEncodings: c.producer.consumable.Clone().Encodings,
		TraceEventTypes:        traceNames(c.traceMask.Load(), producerTraceBits, producerTraceOrder),
		Paused:                 c.paused.Load(), ProducerPaused: c.producerPaused.Load(), Priority: c.Priority(),
	}
	for _, codec := range c.params.Codecs {
		if !isRtx(codec.MimeType) {
			d.SupportedCodecPayloadTypes = append(d.SupportedCodecPayloadTypes, codec.PayloadType)
		}
	}
	// As mediasoup: the layers the consumer's scalabilityMode declares.
	sm := ortc.ParseScalabilityMode(c.params.Encodings[0].ScalabilityMode)
	c.mu.Lock()
	for i, s := range c.streams {
		codec := c.params.Codecs[0]
		d.RtpStreams = append(d.RtpStreams, media.RtpStreamDump{Score: s.score, Params: media.RtpStreamParams{
			EncodingIdx: i, SSRC: s.ssrc, PayloadType: codec.PayloadType, MimeType: codec.MimeType,
			ClockRate: codec.ClockRate, CNAME: c.params.Rtcp.CNAME, RtxSSRC: s.rtxSSRC, RtxPayloadType: int(c.rtxPT),
			UseNack: c.useNack, UsePli: hasFeedback(codec.RtcpFeedback, "nack", "pli"),
			UseFir: hasFeedback(codec.RtcpFeedback, "ccm", "fir"), SpatialLayers: sm.SpatialLayers, TemporalLayers: sm.TemporalLayers,
		}})
	}
	c.mu.Unlock()
	if c.typ != media.ConsumerPipe && len(d.RtpStreams) > 0 {
		d.RtpStream = &d.RtpStreams[0]
	}
	c.dumpLayers(d)
	return d, nil
}

func (c *consumer) GetStats(ctx context.Context) ([]media.RtpStreamStats, error) {
	if err := c.checkOpen("consumer"); err != nil {
		return nil, err
	}
	now := nanotime()
	var out []media.RtpStreamStats
	c.mu.Lock()
	for i := range c.streams {
		out = append(out, c.streamStats(&c.streams[i], now))
	}
	c.mu.Unlock()
	// Then the producer streams being forwarded.
	p := c.producer
	p.ingress.Lock()
	for i := range c.streams {
		if idx := c.producerStream(i); idx >= 0 && idx < len(p.streams) {
			out = append(out, p.streamStats(p.streams[idx], now))
		}
	}
	p.ingress.Unlock()
	return out, nil
}

// streamStats builds a stream's "outbound-rtp" stats; call with mu held.
func (c *consumer) streamStats(s *sendStream, now int64) media.RtpStreamStats {
	st := media.RtpStreamStats{
		Type: "outbound-rtp", Timestamp: time.Now().UnixMilli(), SSRC: s.ssrc, RtxSSRC: s.rtxSSRC,
		Kind: c.kind, MimeType: c.params.Codecs[0].MimeType, PacketsLost: s.packetsLost,
		FractionLost: int(s.fractionLost), PacketsRetransmitted: s.retransmitted, NackCount: s.nackCount,
		NackPacketCount: s.nackPackets, PliCount: s.pliCount, FirCount: s.firCount, Score: s.score,
		PacketCount: s.packets, ByteCount: s.bytes, Bitrate: s.rate.bitrate(now), KeyFrames: s.keyFrames,
	}
	if s.hasRtt {
		rtt := s.rtt
		st.RoundTripTime = &rtt
	}
	return st
}
