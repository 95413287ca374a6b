package engine

import (
	"encoding/binary"
	"time"

	"github.com/pion/rtcp"

	"github.com/ropehq/rope/media"
)

// RTCP is not on the per-packet hot path (a few packets per second per
// stream), so it uses pion/rtcp and may allocate.

func marshalPLI(sender, media uint32) []byte {
	b, _ := (&rtcp.PictureLossIndication{SenderSSRC: sender, MediaSSRC: media}).Marshal()
	return b
}

func marshalFIR(sender, media uint32, seq uint8) []byte {
	b, _ := (&rtcp.FullIntraRequest{SenderSSRC: sender, MediaSSRC: media,
		FIR: []rtcp.FIREntry{{SSRC: media, SequenceNumber: seq}}}).Marshal()
	return b
}

// receiveRTCP handles a compound RTCP packet from the remote side. Its
// transport-cc feedback goes to the send-side estimator, parsed without
// allocating (it reports on every packet sent); pion/rtcp parses the
// rest, one packet at a time.
func (t *transport) receiveRTCP(b []byte) {
	now := nanotime()
	for len(b) >= 4 {
		n := (int(be.Uint16(b[2:])) + 1) * 4
		if n > len(b) {
			return
		}
		pkt := b[:n]
		b = b[n:]
		if pkt[1] == rtcpTransportFeedback && pkt[0]&0x1f == rtcpTransportCC {
			if tc := t.tccClient.Load(); tc != nil {
				tc.onFeedback(pkt, now)
			}
			continue
		}
		t.receiveRTCPPacket(pkt, now)
	}
}

// RTCP packet type and format of transport-cc feedback.
const (
	rtcpTransportFeedback = 205
	rtcpTransportCC       = 15
)

// receiveRTCPPacket handles one RTCP packet but transport-cc feedback.
func (t *transport) receiveRTCPPacket(b []byte, now int64) {
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		return
	}
	for _, pkt := range pkts {
		switch pk := pkt.(type) {
		case *rtcp.SenderReport:
			t.onSenderReport(pk, now)
			t.onReports(pk.Reports, now)
		case *rtcp.ReceiverReport:
			t.onReports(pk.Reports, now)
		case *rtcp.ReceiverEstimatedMaximumBitrate:
			if tc := t.tccClient.Load(); tc != nil && tc.kind == bweREMB {
				tc.onREMB(float64(pk.Bitrate), now)
			}
		case *rtcp.PictureLossIndication:
			if ref, ok := t.consumerBySSRC(pk.MediaSSRC); ok {
				ref.c.onKeyFrameRequest(ref.idx, false)
			}
		case *rtcp.FullIntraRequest:
			for _, e := range pk.FIR {
				if ref, ok := t.consumerBySSRC(e.SSRC); ok {
					ref.c.onKeyFrameRequest(ref.idx, true)
				}
			}
		case *rtcp.TransportLayerNack:
			if ref, ok := t.consumerBySSRC(pk.MediaSSRC); ok {
				var lost []uint16
				for _, pair := range pk.Nacks {
					lost = append(lost, pair.PacketList()...)
				}
				ref.c.onNack(ref.idx, lost)
			}
		}
	}
}

// onSenderReport records a producer stream's SR for our receiver
// reports, and emits the producer's "sr" trace event.
func (t *transport) onSenderReport(sr *rtcp.SenderReport, now int64) {
	ref, ok := (*t.ingress.Load())[sr.SSRC]
	if !ok || ref.rtx {
		return
	}
	p := ref.p
	p.ingress.Lock()
	s := p.streams[ref.idx]
	s.lastSRNTP = uint32(sr.NTPTime >> 16)
	s.lastSRAt = now
	p.ingress.Unlock()
	if p.traceMask.Load()&traceSR != 0 {
		p.onTrace.Emit(traceEvent("sr", "in", media.SrTraceInfo{SSRC: sr.SSRC, NTPSec: uint32(sr.NTPTime >> 32),
			NTPFrac: uint32(sr.NTPTime), RTPTimestamp: sr.RTPTime, PacketCount: sr.PacketCount, OctetCount: sr.OctetCount}))
	}
}

func (t *transport) onReports(reports []rtcp.ReceptionReport, now int64) {
	tc := t.tccClient.Load()
	for _, r := range reports {
		if ref, ok := t.consumerBySSRC(r.SSRC); ok {
			ref.c.onReceiverReport(ref.idx, r.FractionLost, r.TotalLost, r.LastSenderReport, r.Delay, now)
			if tc != nil && ref.c.kind == media.KindVideo {
				tc.onReceiverLoss(r.FractionLost, now)
			}
		}
	}
}

// startRTCP starts what periodically sends SR+SDES for consumers, RR for
// producers and bandwidth feedback, and emits score changes: with the
// worker's event loop the loop's timers (event_loop.go), which cost the
// transport no goroutine; elsewhere the goroutine rtcpLoop.
func (t *transport) startRTCP(interval time.Duration) {
	reports := func() { t.sendReports(nanotime(), interval) }
	if t.timers.add(t.router.worker, interval, reports) {
		t.onLoop.Store(true)
		return
	}
	t.wg.Add(1)
	go t.rtcpLoop(interval)
}

// startLoopBwe does on the event loop what rtcpLoop does on bweStart and
// sendBweStart: it starts the feedback timer once a producer turned
// feedback on (bwe.go, bwe_remb.go), and the estimator's timer once a
// consumer turned the estimator on (bwe_send.go). Call it after adding a
// producer or a consumer, with no lock held.
func (t *transport) startLoopBwe() {
	if !t.onLoop.Load() {
		return
	}
	w := t.router.worker
	select {
	case <-t.bweStart: // sent once
		t.timers.add(w, tccFeedbackInterval, t.feedbackTick)
	default:
	}
	if t.tccClient.Load() != nil && !t.bweOnLoop.Swap(true) {
		t.bweWoken.Store(true)
		t.timers.add(w, bweProcessInterval, t.loopBweTick)
	}
}

// loopBweTick is the estimator's timer on the event loop: a wake-up sent
// on sendBweStart since the last tick makes bweLoopTick run bweTick now.
func (t *transport) loopBweTick() {
	select {
	case <-t.sendBweStart:
		t.bweWoken.Store(true)
	default:
	}
	t.bweLoopTick()
}

// rtcpLoop is startRTCP's goroutine where there is no event loop, owned
// by the transport: tickers for reports and feedback, and a timer for
// the send-side estimator (bwe_send.go) that fires when it asked to run
// again; sendBweStart runs it at once.
func (t *transport) rtcpLoop(interval time.Duration) {
	defer t.wg.Done()
	defer t.router.worker.recoverPanic("transport RTCP timer")
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var fb, bwe <-chan time.Time
	var bweTimer *time.Timer
	runBwe := func() {
		next := t.bweTick(nanotime())
		switch {
		case next <= 0 && bweTimer != nil:
			bweTimer.Stop()
		case next <= 0:
		case bweTimer == nil:
			bweTimer = time.NewTimer(next)
			bwe = bweTimer.C
		default:
			bweTimer.Reset(next)
		}
	}
	defer func() {
		if bweTimer != nil {
			bweTimer.Stop()
		}
	}()
	for {
		select {
		case <-t.stop:
			return
		case <-ticker.C:
			t.sendReports(nanotime(), interval)
		case <-t.layersWake:
			t.emitLayerChanges()
		case <-t.bweStart:
			fbTick := time.NewTicker(tccFeedbackInterval)
			defer fbTick.Stop()
			fb = fbTick.C
		case <-t.sendBweStart:
			runBwe()
		case <-bwe:
			runBwe()
		case <-fb:
			t.feedbackTick()
		}
	}
}

// feedbackTick sends bandwidth feedback (bwe.go, bwe_remb.go).
func (t *transport) feedbackTick() {
	if s := t.tcc.Load(); s != nil {
		s.feedback(t, nanotime())
	} else if s := t.remb.Load(); s != nil {
		s.feedback(t, nanotime())
	}
}

func (t *transport) sendReports(now int64, interval time.Duration) {
	t.rates.update(t, now)
	t.mu.Lock()
	for _, p := range t.producers {
		t.repProducers = append(t.repProducers, p)
	}
	for _, c := range t.consumers {
		t.repConsumers = append(t.repConsumers, c)
	}
	t.mu.Unlock()
	w := t.reportWriter()
	w.t = t
	for _, c := range t.repConsumers {
		c.writeSenderReports(w, now)
	}
	writeReceiverReports(w, t.repProducers, now)
	w.flush()
	w.t = nil
	t.inLoop.Add(1)
	for _, p := range t.repProducers {
		if p.updateScores(now, interval) {
			p.onScore.Emit(p.Score())
		}
		p.retryKeyFrames(now)
	}
	for _, c := range t.repConsumers {
		if !c.producer.closed.Load() && c.scoreChanged() {
			c.onScore.Emit(c.Score())
		}
		if c.updateLayers() {
			c.onLayersChange.Emit(c.CurrentLayers())
		}
	}
	t.inLoop.Add(-1)
	clear(t.repProducers)
	clear(t.repConsumers)
	t.repProducers, t.repConsumers = t.repProducers[:0], t.repConsumers[:0]
}

// reportWriter is sendReports' writer: on the event loop the loop's, one
// for all its transports; else the transport's own, made on first use
// (only its RTCP goroutine uses it).
func (t *transport) reportWriter() *rtcpWriter {
	if t.onLoop.Load() {
		return &t.router.worker.loop.rtcpOut
	}
	if t.rtcpOut == nil {
		t.rtcpOut = new(rtcpWriter)
	}
	return t.rtcpOut
}

// rtcpWriter packs generated RTCP into datagrams without allocating; one
// goroutine uses it at a time.
type rtcpWriter struct {
	t   *transport
	n   int
	buf [1200]byte
}

// room makes room for size bytes, sending what is buffered if needed.
func (w *rtcpWriter) room(size int) []byte {
	if w.n+size > len(w.buf) {
		w.flush()
	}
	b := w.buf[w.n : w.n+size]
	w.n += size
	return b
}

func (w *rtcpWriter) flush() {
	if w.n > 0 {
		w.t.sendRTCP(w.buf[:w.n])
		w.n = 0
	}
}

// writeSenderReports writes an SR and an SDES CNAME for each stream that
// sent (RFC 3550 6.4.1, 6.5).
func (c *consumer) writeSenderReports(w *rtcpWriter, now int64) {
	if c.closed.Load() {
		return
	}
	cname := cnameOr(c.params.Rtcp.CNAME)
	if len(cname) > 255 {
		cname = cname[:255]
	}
	sdesLen := (4 + 2 + len(cname) + 1 + 3) &^ 3 // chunk: ssrc, item, null, pad
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.streams {
		s := &c.streams[i]
		if s.packets == 0 {
			continue
		}
		ntp := ntpTime(now)
		rtpTS := s.lastTS + uint32((now-s.lastSentAt)/1000*s.clockRate/1e6)
		s.lastSRMid, s.lastSRAt = uint32(ntp>>16), now
		b := w.room(28 + 4 + sdesLen)
		clear(b)
		b[0], b[1] = 0x80, 200
		be.PutUint16(b[2:], 6)
		be.PutUint32(b[4:], s.ssrc)
		be.PutUint64(b[8:], ntp)
		be.PutUint32(b[16:], rtpTS)
		be.PutUint32(b[20:], uint32(s.packets))
		be.PutUint32(b[24:], uint32(s.bytes))
		d := b[28:]
		d[0], d[1] = 0x81, 202
		be.PutUint16(d[2:], uint16(sdesLen/4))
		be.PutUint32(d[4:], s.ssrc)
		d[8], d[9] = 1, byte(len(cname)) // CNAME
		copy(d[10:], cname)
	}
}

func cnameOr(cname string) string {
	if cname == "" {
		return "rope"
	}
	return cname
}

// writeReceiverReports writes RRs covering every producer stream.
func writeReceiverReports(w *rtcpWriter, producers []*producer, now int64) {
	var rr []byte
	count := 0
	for _, p := range producers {
		p.ingress.Lock()
		for _, s := range p.streams {
			if !s.started {
				continue
			}
			if rr == nil || count == 31 || w.n+24 > len(w.buf) {
				if w.n+8+24 > len(w.buf) {
					w.flush()
				}
				rr, count = w.room(8), 0
				rr[0], rr[1] = 0x80, 201
				be.PutUint32(rr[4:], 1)
			}
			s.writeReceptionReport(w.room(24), now)
			count++
			rr[0] = 0x80 | byte(count)
			be.PutUint16(rr[2:], uint16(1+6*count))
			p.sendNack(s) // retries
		}
		p.ingress.Unlock()
		if p.traceMask.Load() != 0 {
			p.traceQ.emit(&p.onTrace)
		}
	}
}

// writeReceptionReport writes an RFC 3550 report block into b (24
// bytes); call with the producer's ingress lock held.
func (s *recvStream) writeReceptionReport(b []byte, now int64) {
	expected := s.expected()
	expInterval := expected - s.expPrior
	recvInterval := s.packets - s.recvPrior
	s.expPrior, s.recvPrior = expected, s.packets
	var fraction uint8
	if lost := int64(expInterval) - int64(recvInterval); expInterval > 0 && lost > 0 {
		fraction = uint8(lost << 8 / int64(expInterval))
	}
	var delay uint32
	if s.lastSRAt != 0 {
		delay = uint32((now - s.lastSRAt) * 65536 / int64(time.Second))
	}
	be.PutUint32(b[0:], s.ssrc.Load())
	be.PutUint32(b[4:], uint32(fraction)<<24|uint32(max(0, s.lost()))&0xffffff)
	be.PutUint32(b[8:], s.cycles|uint32(s.maxSeq))
	be.PutUint32(b[12:], uint32(s.jitter))
	be.PutUint32(b[16:], s.lastSRNTP)
	be.PutUint32(b[20:], delay)
}

var be = binary.BigEndian
