package engine

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/depdesc"
	"github.com/ropehq/rope/media/internal/event"
	"github.com/ropehq/rope/media/internal/rtppkt"
	"github.com/ropehq/rope/media/internal/svc"
	"github.com/ropehq/rope/media/internal/vp8"
	"github.com/ropehq/rope/media/ortc"
)

// keyFramePending is how long a key frame request suppresses further ones
// for the same stream, unless a key frame arrives first.
const keyFramePending = time.Second

type producer struct {
	object
	transport  *transport
	router     *router
	kind       media.MediaKind
	typ        media.ProducerType
	params     media.RtpParameters
	consumable media.RtpParameters
	mapping    media.RtpMapping
	paused     atomic.Bool
	streams    []*recvStream
	// kfDelay is keyFrameRequestDelay in ns (0: none).
	kfDelay int64

	// Payload type tables, indexed by the producer's payload type.
	// mappedPT holds router PT + 1 (0: unknown); rtxApt holds the
	// producer's media PT + 1 for RTX PTs.
	mappedPT [128]uint8
	rtxApt   [128]uint8
	kfCodec  [128]uint8
	// extMap maps the producer's header extension ids to the router's.
	extMap rtppkt.ExtMap
	// audioLevelID is the router's ssrc-audio-level extension id (0: none).
	audioLevelID uint8
	// frameMarkingIDs are the router's frame marking extension ids (the
	// RFC and draft-07 URIs; 0: none): H264 temporal layers.
	frameMarkingIDs [2]uint8
	// ddID is the router's dependency descriptor extension id (0: the
	// producer did not negotiate it); av1dd.go reads it into packets.
	// ddStrip maps every id to itself but ddID (nil when ddID is 0):
	// consumers that did not negotiate the extension drop it with it.
	ddID    uint8
	ddStrip *rtppkt.ExtMap
	// observers are the RTP observers watching this producer (copy on
	// write under consMu).
	observers atomic.Pointer[[]*rtpObserver]

	// ingress serialises packet ingress; it guards the streams' receive
	// state and scratch.
	ingress sync.Mutex
	scratch [rtppkt.MaxPacketLen]byte

	// sendMu guards sendBuf, the copy of packets given to Send.
	sendMu  sync.Mutex
	sendBuf [rtppkt.MaxPacketLen]byte

	// consMu serialises changes to consumers (copy on write; the packet
	// path loads it without locking).
	consMu    sync.Mutex
	consumers atomic.Pointer[[]*consumer]
	// flushTurn is the worker's event loop turn (+1) in which the
	// producer was last fed (event_loop.go); loop goroutine only.
	flushTurn uint64

	onTransportClose event.Listeners[struct{}]
	onPause          event.Listeners[struct{}]
	onResume         event.Listeners[struct{}]
	onScore          event.Listeners[[]media.ProducerScore]
	onOrientation    event.Listeners[media.ProducerVideoOrientation]
	onTrace          event.Listeners[media.ProducerTraceEventData]

	// traceMask holds the enabled trace event bits (trace.go); traceQ
	// the events made under ingress, emitted after it.
	traceMask atomic.Uint32
	traceQ    traceQueue
	// cvoID is the producer's urn:3gpp:video-orientation extension id (0:
	// none). ingress guards the last orientation seen (cvo, cvoSeen) and
	// cvoChanged, set when it changed and the event is not yet emitted.
	cvoID      uint8
	cvo        media.ProducerVideoOrientation
	cvoSeen    bool
	cvoChanged bool
}

var _ media.Producer = (*producer)(nil)

func newProducer(t *transport, id string, o *media.ProducerOptions, params media.RtpParameters, typ media.ProducerType, m media.RtpMapping, consumable media.RtpParameters) *producer {
	p := &producer{
		transport: t, router: t.router, kind: o.Kind, typ: typ,
		params: params, consumable: consumable, mapping: m,
	}
	p.init(id, o.AppData)
	p.paused.Store(o.Paused)
	p.kfDelay = int64(max(o.KeyFrameRequestDelay, 0)) * int64(time.Millisecond)
	empty := []*consumer{}
	p.consumers.Store(&empty)
	p.buildTables()
	for i, e := range p.params.Encodings {
		s := &recvStream{idx: i, rid: e.RID, mappedSSRC: m.Encodings[i].MappedSSRC}
		s.ssrc.Store(e.SSRC)
		if e.RTX != nil {
			s.rtxSSRC.Store(e.RTX.SSRC)
		}
		s.codec = p.mediaCodec(e.CodecPayloadType)
		s.clockRate = int64(s.codec.ClockRate)
		for _, fb := range s.codec.RtcpFeedback {
			s.usePli = s.usePli || (fb.Type == "nack" && fb.Parameter == "pli")
			s.useFir = s.useFir || (fb.Type == "ccm" && fb.Parameter == "fir")
		}
		if p.kind == media.KindVideo {
			s.store = new(rtppkt.Store)
		}
		s.nack.enabled = hasFeedback(s.codec.RtcpFeedback, "nack", "")
		if isSVC(p.params) {
			// SVC producers and pipe producers of SVC streams.
			s.initLayerRates(ortc.ParseScalabilityMode(e.ScalabilityMode))
		}
		s.temporalLayers = min(max(ortc.ParseScalabilityMode(e.ScalabilityMode).TemporalLayers, 1), maxTemporalLayers)
		if p.ddID != 0 {
			s.dd = new(depdesc.Parser)
		}
		p.streams = append(p.streams, s)
	}
	return p
}

func (p *producer) buildTables() {
	for _, re := range p.router.caps.HeaderExtensions {
		if re.URI == media.ExtAudioLevel && re.Kind == media.KindAudio && p.kind == media.KindAudio {
			p.audioLevelID = uint8(re.PreferredID)
		}
		if re.Kind == media.KindVideo && p.kind == media.KindVideo {
			switch re.URI {
			case media.ExtFrameMarking:
				p.frameMarkingIDs[0] = uint8(re.PreferredID)
			case media.ExtFrameMarking07:
				p.frameMarkingIDs[1] = uint8(re.PreferredID)
			}
		}
	}
	for _, e := range p.params.HeaderExtensions {
		if e.URI == media.ExtVideoOrientation && p.kind == media.KindVideo && e.ID > 0 && e.ID < 256 {
			p.cvoID = uint8(e.ID)
		}
		switch e.URI {
		case media.ExtRtpStreamID, media.ExtRepairedRtpStreamID:
			// As mediasoup: RIDs name the producer's streams; consumers
			// never get them (a receiving browser would demux by them).
			continue
		case media.ExtMid:
			// The producer's MID names its m-section in the sending
			// browser; a receiving browser would route the packet by it
			// to whichever of its transceivers has that MID. As mediasoup,
			// each consumer writes its own MID instead (consumer.copyPacket).
			continue
		case media.ExtTransportWideCC01, media.ExtAbsSendTime:
			// Hop by hop: a video consumer writes its transport's own
			// (consumer.copyNumbered). As mediasoup, audio goes out with
			// neither: the sender's transport-wide numbers, read by a
			// browser that bundles audio with video as the receiving
			// transport's, would pass for those of video packets in its
			// transport-cc feedback.
			if p.kind == media.KindAudio {
				continue
			}
		}
		for _, re := range p.router.caps.HeaderExtensions {
			if re.URI == e.URI && re.Kind == p.kind && e.ID > 0 && e.ID < 256 {
				p.extMap[e.ID] = uint8(re.PreferredID)
				if e.URI == media.ExtDependencyDescriptor && p.kind == media.KindVideo {
					p.ddID = uint8(re.PreferredID)
					p.ddStrip = stripMap(p.ddID)
				}
			}
		}
	}
	for _, mc := range p.mapping.Codecs {
		p.mappedPT[mc.PayloadType&0x7f] = uint8(mc.MappedPayloadType) + 1
	}
	for _, c := range p.params.Codecs {
		pt := c.PayloadType & 0x7f
		if isRtx(c.MimeType) {
			if apt, ok := c.Parameters.Int("apt"); ok && apt >= 0 && apt < 128 {
				p.rtxApt[pt] = uint8(apt) + 1
			}
			continue
		}
		if m := p.mappedPT[pt]; m != 0 {
			p.kfCodec[m-1] = keyFrameCodec(c.MimeType)
		}
	}
}

// mediaCodec returns the encoding's codec: the one with pt or the first
// media codec.
func (p *producer) mediaCodec(pt *int) media.RtpCodecParameters {
	for _, c := range p.params.Codecs {
		if !isRtx(c.MimeType) && (pt == nil || *pt == c.PayloadType) {
			return c
		}
	}
	return p.params.Codecs[0]
}

func (p *producer) Kind() media.MediaKind                        { return p.kind }
func (p *producer) RtpParameters() media.RtpParameters           { return p.params.Clone() }
func (p *producer) Type() media.ProducerType                     { return p.typ }
func (p *producer) ConsumableRtpParameters() media.RtpParameters { return p.consumable.Clone() }
func (p *producer) Paused() bool                                 { return p.paused.Load() }

func (p *producer) Score() []media.ProducerScore {
	p.ingress.Lock()
	defer p.ingress.Unlock()
	return p.scoresLocked()
}

func (p *producer) scoresLocked() []media.ProducerScore {
	out := make([]media.ProducerScore, 0, len(p.streams))
	for i, s := range p.streams {
		if ssrc := s.ssrc.Load(); ssrc != 0 {
			out = append(out, media.ProducerScore{EncodingIdx: i, SSRC: ssrc, RID: s.rid, Score: s.score})
		}
	}
	return out
}

func (p *producer) OnTransportClose(fn func()) func() { return on(&p.onTransportClose, fn) }
func (p *producer) OnPause(fn func()) func()          { return on(&p.onPause, fn) }
func (p *producer) OnResume(fn func()) func()         { return on(&p.onResume, fn) }
func (p *producer) OnScore(fn func([]media.ProducerScore)) func() {
	return p.onScore.On(fn)
}
func (p *producer) OnVideoOrientationChange(fn func(media.ProducerVideoOrientation)) func() {
	return p.onOrientation.On(fn)
}
func (p *producer) OnTrace(fn func(media.ProducerTraceEventData)) func() {
	return p.onTrace.On(fn)
}

func (p *producer) Close(ctx context.Context) error {
	p.close(closeBySelf)
	return nil
}

func (p *producer) close(reason closeReason) {
	if p.closed.Swap(true) {
		return
	}
	p.router.removeProducer(p.id)
	if reason == closeBySelf {
		p.transport.removeProducer(p)
	}
	p.consMu.Lock()
	cons := *p.consumers.Load()
	empty := []*consumer{}
	p.consumers.Store(&empty)
	p.consMu.Unlock()
	// A closing router closes every transport, and each its consumers
	// with "transportclose": mediasoup's consumers learn of a closed
	// router (or dead worker) from their own transport, never from their
	// producer. A producer's consumers are in its router.
	if !p.router.closed.Load() {
		for _, c := range cons {
			c.close(closeByProducer)
		}
	}
	for _, o := range p.observerList() {
		o.forget(p)
	}
	if reason == closeByParent {
		emit(&p.onTransportClose)
	}
	emit(&p.onClose)
	p.onClose.Clear()
}

func (p *producer) addConsumer(c *consumer) error {
	p.consMu.Lock()
	defer p.consMu.Unlock()
	if p.closed.Load() {
		return media.NewError(media.ErrClosed, "producer %s closed", p.id)
	}
	old := *p.consumers.Load()
	cons := make([]*consumer, len(old), len(old)+1)
	copy(cons, old)
	cons = append(cons, c)
	p.consumers.Store(&cons)
	return nil
}

func (p *producer) removeConsumer(c *consumer) {
	p.consMu.Lock()
	defer p.consMu.Unlock()
	old := *p.consumers.Load()
	cons := make([]*consumer, 0, len(old))
	for _, x := range old {
		if x != c {
			cons = append(cons, x)
		}
	}
	p.consumers.Store(&cons)
}

func (p *producer) consumerList() []*consumer { return *p.consumers.Load() }

func (p *producer) Pause(ctx context.Context) error {
	if err := p.checkOpen("producer"); err != nil {
		return err
	}
	if p.paused.Swap(true) {
		return nil
	}
	for _, c := range p.consumerList() {
		c.setProducerPaused(true)
	}
	for _, o := range p.observerList() {
		o.producerPaused(p, true)
	}
	emit(&p.onPause)
	return nil
}

func (p *producer) Resume(ctx context.Context) error {
	if err := p.checkOpen("producer"); err != nil {
		return err
	}
	if !p.paused.Swap(false) {
		return nil
	}
	for _, c := range p.consumerList() {
		c.setProducerPaused(false)
	}
	for _, o := range p.observerList() {
		o.producerPaused(p, false)
	}
	emit(&p.onResume)
	return nil
}

func (p *producer) EnableTraceEvent(ctx context.Context, types []media.ProducerTraceEventType) error {
	if err := p.checkOpen("producer"); err != nil {
		return err
	}
	p.traceMask.Store(traceMaskOf(types, producerTraceBits))
	return nil
}

// Send injects an RTP packet (DirectTransport producers only).
func (p *producer) Send(b []byte) error {
	if err := p.checkOpen("producer"); err != nil {
		return err
	}
	if !p.transport.direct {
		return media.NewError(media.ErrInvalidState, "producer %s is not on a DirectTransport", p.id)
	}
	h, ok := rtppkt.Parse(b)
	if !ok || len(b) > rtppkt.MaxPacketLen {
		return &media.ParamError{Field: "packet", Reason: "not a valid RTP packet"}
	}
	ref, ok := (*p.transport.ingress.Load())[h.SSRC]
	if !ok {
		ref, ok = p.transport.learnStream(b, &h)
	}
	if !ok || ref.p != p {
		return &media.ParamError{Field: "packet", Reason: fmt.Sprintf("unknown ssrc %d", h.SSRC)}
	}
	// Copy: the packet path rewrites headers in place.
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	n := copy(p.sendBuf[:], b)
	p.transport.rtpBytesReceived.Add(uint64(n))
	p.receiveRTP(p.sendBuf[:n], &h, ref, nanotime())
	p.flush()
	return nil
}

// packet is a producer packet being handed to consumers: in the router's
// space (mapped SSRC and payload type).
type packet struct {
	b       []byte
	seq     uint16
	ts      uint32
	pt      uint8
	enc     int
	hdrLen  int
	now     int64
	kfCodec uint8
	kf      int8 // -1 unknown, 0 no, 1 yes
	// vp8 is the VP8 payload descriptor, parsed on first use (vp8State).
	vp8      vp8.Descriptor
	vp8State int8 // 0 unparsed, 1 parsed, -1 none (not VP8 or invalid)
	// fm is the first byte of an H264 packet's frame marking extension
	// (RFC 9626: S E I D B TID), valid if hasFM.
	fm    byte
	hasFM bool
	// svc is the packet's layer facts, read on first use (svcLayers).
	svc      svc.Packet
	svcState int8 // 0 unread, 1 read, -1 none
	// dd is the packet's dependency descriptor (valid if hasDD) and
	// ddStruct the structure it was resolved against (the stream
	// parser's, valid while producer.ingress is held); av1dd.go.
	dd       depdesc.Descriptor
	ddStruct *depdesc.Structure
	hasDD    bool
}

// Frame marking bits.
const (
	fmBase   = 0x08 // B: base layer sync
	fmTIDMax = 0x07
)

// readFrameMarking reads an H264 packet's frame marking, if it has one.
func (p *producer) readFrameMarking(pk *packet, b []byte, h *rtppkt.Header) {
	for _, id := range p.frameMarkingIDs {
		if id == 0 {
			continue
		}
		if v, ok := rtppkt.Extension(b, *h, id); ok && len(v) >= 1 {
			pk.fm, pk.hasFM = v[0], true
			return
		}
	}
}

// vp8Desc returns the packet's VP8 payload descriptor, or nil if it is
// not VP8 or its descriptor is truncated.
func (pk *packet) vp8Desc() *vp8.Descriptor {
	if pk.vp8State == 0 {
		pk.vp8State = -1
		if pk.kfCodec == kfVP8 && vp8.Parse(pk.b[pk.hdrLen:], &pk.vp8) == nil {
			pk.vp8State = 1
		}
	}
	if pk.vp8State < 0 {
		return nil
	}
	return &pk.vp8
}

func (pk *packet) keyFrame() bool {
	if pk.kf < 0 {
		pk.kf = 0
		if isKeyFrame(pk.kfCodec, pk.b[pk.hdrLen:]) || pk.ddKeyFrame() {
			pk.kf = 1
		}
	}
	return pk.kf == 1
}

// receiveRTP handles one packet of stream ref. b may be modified in place.
func (p *producer) receiveRTP(b []byte, h *rtppkt.Header, ref streamRef, now int64) {
	p.ingress.Lock()
	p.receiveLocked(b, h, ref, now)
	changed, cvo := p.cvoChanged, p.cvo
	p.cvoChanged = false
	p.ingress.Unlock()
	if changed {
		p.onOrientation.Emit(cvo)
	}
	if p.traceMask.Load() != 0 {
		p.traceQ.emit(&p.onTrace)
	}
}

// readVideoOrientation notes the packet's CVO extension if it changed
// (mediasoup emits the first one seen and every change).
func (p *producer) readVideoOrientation(b []byte, h *rtppkt.Header) {
	v, ok := rtppkt.Extension(b, *h, p.cvoID)
	if !ok {
		return
	}
	if o, ok := videoOrientation(v); ok && (!p.cvoSeen || o != p.cvo) {
		p.cvo, p.cvoSeen, p.cvoChanged = o, true, true
	}
}

// traceRTP queues the "rtp" or "keyframe" trace event of a received
// packet, as received (before mapping).
func (p *producer) traceRTP(mask uint32, b []byte, h *rtppkt.Header, ref streamRef, s *recvStream) {
	kf := false
	if codec := keyFrameCodec(s.codec.MimeType); codec != kfNone {
		kf = isKeyFrame(codec, b[h.HeaderLen:len(b)-h.PaddingLen])
	}
	if e, ok := rtpTraceEvent(mask, rtpTraceInfo(b, h, kf, ref.rtx), "in"); ok {
		p.traceQ.add(e)
	}
}

// receiveLocked is receiveRTP with ingress held.
func (p *producer) receiveLocked(b []byte, h *rtppkt.Header, ref streamRef, now int64) {
	s := p.streams[ref.idx]
	if p.cvoID != 0 {
		p.readVideoOrientation(b, h)
	}
	pt := h.PayloadType
	if ref.rtx {
		var ok bool
		if b, pt, ok = p.unwrapRtx(b, h, s); !ok {
			return
		}
		if !s.nack.has(h.SequenceNumber) {
			// Not a packet the SFU asked for: the sender's padding
			// (libwebrtc pads with old packets on RTX while it probes)
			// or a late duplicate. As in mediasoup, dropped: it would
			// count into the stream's bitrate, which sets the layers
			// viewers' estimates allow, and reach every consumer again.
			return
		}
		s.retransmitted++
	}
	if mask := p.traceMask.Load(); mask&(traceRTP|traceKeyFrame) != 0 {
		p.traceRTP(mask, b, h, ref, s)
	}
	mapped := p.mappedPT[pt]
	if mapped == 0 {
		return
	}
	if s.update(h.SequenceNumber, h.Timestamp, len(b), s.clockRate, now) {
		p.sendNack(s)
	}
	if !rtppkt.MapExtensions(b, *h, &p.extMap) {
		return
	}
	rtppkt.SetSSRC(b, s.mappedSSRC)
	rtppkt.SetPayloadType(b, mapped-1)
	pk := packet{b: b, seq: h.SequenceNumber, ts: h.Timestamp, pt: mapped - 1, enc: ref.idx,
		hdrLen: h.HeaderLen, now: now, kfCodec: p.kfCodec[mapped-1], kf: -1}
	if pk.kfCodec == kfH264 || pk.kfCodec == kfH265 {
		p.readFrameMarking(&pk, b, h)
	}
	if s.dd != nil {
		p.readDependencyDescriptor(&pk, b, h, s)
	}
	if s.temporalLayers > 1 {
		s.countTemporal(&pk, len(b), now)
	}
	if s.store != nil {
		s.store.Put(pk.seq, b, pk.now)
	}
	if s.layerRates != nil && !ref.rtx {
		s.countLayer(&pk, len(b), now)
	}
	if pk.kfCodec != kfNone && pk.keyFrame() {
		if !ref.rtx {
			s.keyFrames++
		}
		if s.kfPendingUntil.Load() != 0 {
			s.kfPendingUntil.Store(0)
			s.kfRetry.Store(false)
		}
	}
	if p.paused.Load() {
		return
	}
	if obs := p.observers.Load(); obs != nil && len(*obs) > 0 {
		p.reportLevel(*obs, b, h)
	}
	for _, c := range *p.consumers.Load() {
		c.forward(&pk)
	}
}

// flush sends what the consumers queued during a read batch. It runs on
// the goroutine that fed receiveRTP.
func (p *producer) flush() { p.flushTo(nil) }

// flushTo is flush with the sends queued on ring (nil: sent now).
func (p *producer) flushTo(ring *sendRing) {
	for _, c := range *p.consumers.Load() {
		c.flushTo(ring)
	}
}

// unwrapRtx turns an RTX packet (RFC 4588) back into the original packet
// of stream s in p.scratch. It returns the packet and its payload type.
func (p *producer) unwrapRtx(b []byte, h *rtppkt.Header, s *recvStream) ([]byte, uint8, bool) {
	apt := p.rtxApt[h.PayloadType]
	end := len(b) - h.PaddingLen
	if apt == 0 || end-h.HeaderLen < 2 {
		return nil, 0, false // unknown or padding-only probe
	}
	osn := binary.BigEndian.Uint16(b[h.HeaderLen:])
	n := copy(p.scratch[:], b[:h.HeaderLen])
	n += copy(p.scratch[n:], b[h.HeaderLen+2:end])
	out := p.scratch[:n]
	out[0] &^= 0x20 // padding removed
	rtppkt.SetSSRC(out, s.ssrc.Load())
	rtppkt.SetSequenceNumber(out, osn)
	rtppkt.SetPayloadType(out, apt-1)
	h.SequenceNumber, h.PaddingLen = osn, 0
	return out, apt - 1, true
}

// sendNack asks the sender for the stream's missing packets; call with
// ingress held.
func (p *producer) sendNack(s *recvStream) {
	if b := s.nack.packet(s.mappedSSRC, s.ssrc.Load()); b != nil {
		s.nackCount++
		s.nackPackets += uint64(s.nack.n)
		p.transport.sendRTCP(b)
		if p.traceMask.Load()&traceNack != 0 {
			p.traceQ.add(traceEvent("nack", "out", struct{}{}))
		}
	}
}

// requestKeyFrame asks the producer's endpoint for a key frame on stream
// idx (PLI, else FIR), unless a request is already pending. As
// mediasoup's KeyFrameRequestManager, a request that gets no key frame
// within keyFramePending is sent once more (retryKeyFrames), and so is
// one pending when another consumer asks: an endpoint may ignore a
// request (Chromium answers at most one PLI per 300 ms), and a consumer
// waiting for a key frame would otherwise wait for the next one asked.
func (p *producer) requestKeyFrame(idx int) {
	if p.kind != media.KindVideo || idx < 0 || idx >= len(p.streams) || p.closed.Load() {
		return
	}
	s := p.streams[idx]
	ssrc := s.ssrc.Load()
	if ssrc == 0 {
		return // not received yet (RID or MID encoding)
	}
	now := nanotime()
	if !p.kfDelayOver(s, now) {
		return
	}
	s.kfRetry.Store(true)
	if until := s.kfPendingUntil.Load(); until != 0 && now < until {
		return
	}
	p.sendKeyFrameRequest(s, ssrc, now)
}

// kfDelayOver applies keyFrameRequestDelay as mediasoup's
// KeyFrameRequestDelayer: a request goes on only if none went on within
// the delay, and starts a new delay; one that falls within it is kept
// (kfDelayed) and made when the delay ends (retryKeyFrames).
func (p *producer) kfDelayOver(s *recvStream, now int64) bool {
	if p.kfDelay == 0 {
		return true
	}
	until := s.kfDelayUntil.Load()
	if now < until || !s.kfDelayUntil.CompareAndSwap(until, now+p.kfDelay) {
		s.kfDelayed.Store(true)
		return false
	}
	return true
}

// retryKeyFrames sends once more every key frame request that expired
// without a key frame; the transport's RTCP loop calls it.
func (p *producer) retryKeyFrames(now int64) {
	if p.kind != media.KindVideo || p.closed.Load() {
		return
	}
	for i, s := range p.streams {
		if p.kfDelay != 0 && now >= s.kfDelayUntil.Load() && s.kfDelayed.Swap(false) {
			p.requestKeyFrame(i)
		}
		if until := s.kfPendingUntil.Load(); until == 0 || now < until || !s.kfRetry.Swap(false) {
			continue
		}
		if ssrc := s.ssrc.Load(); ssrc != 0 {
			p.sendKeyFrameRequest(s, ssrc, now)
		}
	}
}

// sendKeyFrameRequest sends a PLI (else a FIR) for stream s and marks a
// request pending for keyFramePending.
func (p *producer) sendKeyFrameRequest(s *recvStream, ssrc uint32, now int64) {
	s.kfPendingUntil.Store(now + int64(keyFramePending))
	switch {
	case s.usePli:
		s.pliCount.Add(1)
		p.transport.sendRTCP(marshalPLI(s.mappedSSRC, ssrc))
		if p.traceMask.Load()&tracePLI != 0 {
			p.onTrace.Emit(traceEvent("pli", "out", media.SsrcTraceInfo{SSRC: ssrc}))
		}
	case s.useFir:
		s.firCount.Add(1)
		p.transport.sendRTCP(marshalFIR(s.mappedSSRC, ssrc, uint8(s.firCount.Load())))
		if p.traceMask.Load()&traceFIR != 0 {
			p.onTrace.Emit(traceEvent("fir", "out", media.SsrcTraceInfo{SSRC: ssrc}))
		}
	}
}

// streamIndexByMappedSSRC finds the stream a consumer-side SSRC refers to.
func (p *producer) streamIndexByMappedSSRC(ssrc uint32) int {
	for i, s := range p.streams {
		if s.mappedSSRC == ssrc {
			return i
		}
	}
	return -1
}

func (p *producer) Dump(ctx context.Context) (*media.ProducerDump, error) {
	if err := p.checkOpen("producer"); err != nil {
		return nil, err
	}
	d := &media.ProducerDump{
		ID: p.id, Kind: p.kind, Type: p.typ, RtpParameters: p.params.Clone(),
		RtpMapping: p.mapping, TraceEventTypes: traceNames(p.traceMask.Load(), producerTraceBits, producerTraceOrder), Paused: p.paused.Load(),
	}
	p.ingress.Lock()
	for _, s := range p.streams {
		if s.ssrc.Load() != 0 {
			d.RtpStreams = append(d.RtpStreams, media.RtpStreamDump{Score: s.score, Params: p.streamParams(s)})
		}
	}
	p.ingress.Unlock()
	return d, nil
}

func (p *producer) streamParams(s *recvStream) media.RtpStreamParams {
	// As mediasoup: the layers the encoding's scalabilityMode declares.
	sm := ortc.ParseScalabilityMode(p.params.Encodings[s.idx].ScalabilityMode)
	return media.RtpStreamParams{
		EncodingIdx: s.idx, SSRC: s.ssrc.Load(), PayloadType: s.codec.PayloadType, MimeType: s.codec.MimeType,
		ClockRate: s.codec.ClockRate, RID: s.rid, CNAME: p.params.Rtcp.CNAME, RtxSSRC: s.rtxSSRC.Load(),
		UseNack: hasFeedback(s.codec.RtcpFeedback, "nack", ""), UsePli: s.usePli, UseFir: s.useFir,
		SpatialLayers: sm.SpatialLayers, TemporalLayers: sm.TemporalLayers,
	}
}

func hasFeedback(fbs []media.RtcpFeedback, typ, param string) bool {
	for _, fb := range fbs {
		if strings.EqualFold(fb.Type, typ) && fb.Parameter == param {
			return true
		}
	}
	return false
}

func (p *producer) GetStats(ctx context.Context) ([]media.RtpStreamStats, error) {
	if err := p.checkOpen("producer"); err != nil {
		return nil, err
	}
	p.ingress.Lock()
	defer p.ingress.Unlock()
	out := make([]media.RtpStreamStats, 0, len(p.streams))
	for _, s := range p.streams {
		if s.ssrc.Load() != 0 { // as mediasoup: streams not yet received are left out
			out = append(out, p.streamStats(s, nanotime()))
		}
	}
	return out, nil
}

// streamStats builds the "inbound-rtp" stats; call with ingress held.
func (p *producer) streamStats(s *recvStream, now int64) media.RtpStreamStats {
	jitter := uint32(s.jitter)
	return media.RtpStreamStats{
		Type: "inbound-rtp", Timestamp: time.Now().UnixMilli(), SSRC: s.ssrc.Load(), RtxSSRC: s.rtxSSRC.Load(),
		RID: s.rid, Kind: p.kind, MimeType: s.codec.MimeType, PacketsLost: s.lost(),
		PacketsRetransmitted: s.retransmitted, PacketsRepaired: s.retransmitted,
		NackCount: s.nackCount, NackPacketCount: s.nackPackets, PliCount: s.pliCount.Load(), FirCount: s.firCount.Load(), Score: s.score,
		PacketCount: s.packets, ByteCount: s.bytes, Bitrate: s.rate.bitrate(now), Jitter: &jitter, KeyFrames: s.keyFrames,
		BitrateByLayer: s.bitrateByLayer(now),
	}
}

// updateScores recomputes stream scores (10 when media flowed during the
// last interval) and reports whether any changed.
func (p *producer) updateScores(now int64, interval time.Duration) bool {
	p.ingress.Lock()
	defer p.ingress.Unlock()
	changed := false
	for _, s := range p.streams {
		score := 0
		if s.started && now-s.lastPacketAt < int64(interval)+int64(time.Second) {
			score = 10
		}
		if score != s.score {
			s.score, changed = score, true
		}
	}
	return changed
}
