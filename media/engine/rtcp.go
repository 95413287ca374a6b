package engine

import (
	"time"

	"github.com/pion/rtcp"
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

// receiveRTCP handles a compound RTCP packet from the remote side.
func (t *transport) receiveRTCP(b []byte) {
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		return
	}
	now := nanotime()
	for _, pkt := range pkts {
		switch pk := pkt.(type) {
		case *rtcp.SenderReport:
			t.onSenderReport(pk, now)
			t.onReports(pk.Reports, now)
		case *rtcp.ReceiverReport:
			t.onReports(pk.Reports, now)
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

// onSenderReport records a producer stream's SR for our receiver reports.
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
}

func (t *transport) onReports(reports []rtcp.ReceptionReport, now int64) {
	for _, r := range reports {
		if ref, ok := t.consumerBySSRC(r.SSRC); ok {
			ref.c.onReceiverReport(ref.idx, r.FractionLost, r.TotalLost, r.LastSenderReport, r.Delay, now)
		}
	}
}

// rtcpLoop periodically sends SR+SDES for consumers, RR for producers,
// and emits score changes. It is owned by the transport.
func (t *transport) rtcpLoop(interval time.Duration) {
	defer t.wg.Done()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
			t.sendReports(nanotime(), interval)
		}
	}
}

func (t *transport) sendReports(now int64, interval time.Duration) {
	t.mu.Lock()
	producers, consumers := mapValues(t.producers), mapValues(t.consumers)
	t.mu.Unlock()
	var pkts []rtcp.Packet
	for _, c := range consumers {
		pkts = append(pkts, c.senderReports(now)...)
	}
	if rr := receiverReport(producers, now); rr != nil {
		pkts = append(pkts, rr)
	}
	for i := 0; i < len(pkts); i += 16 {
		b, err := rtcp.Marshal(pkts[i:min(i+16, len(pkts))])
		if err == nil {
			t.sendRTCP(b)
		}
	}
	t.loopCallback(func() {
		for _, p := range producers {
			if scores, changed := p.updateScores(now, interval); changed {
				p.onScore.Emit(scores)
			}
		}
		for _, c := range consumers {
			if c.producer.closed.Load() {
				continue
			}
			if score, changed := c.scoreChanged(); changed {
				c.onScore.Emit(score)
			}
		}
	})
}

// senderReports builds an SR and SDES CNAME for each stream that sent.
func (c *consumer) senderReports(now int64) []rtcp.Packet {
	if c.closed.Load() {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []rtcp.Packet
	for i := range c.streams {
		s := &c.streams[i]
		if s.packets == 0 {
			continue
		}
		ntp := ntpTime(now)
		elapsed := now - s.lastSentAt
		rtpTS := s.lastTS + uint32(elapsed/1000*s.clockRate/1e6)
		s.lastSRMid, s.lastSRAt = uint32(ntp>>16), now
		out = append(out, &rtcp.SenderReport{
			SSRC: s.ssrc, NTPTime: ntp, RTPTime: rtpTS,
			PacketCount: uint32(s.packets), OctetCount: uint32(s.bytes),
		}, &rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{
			Source: s.ssrc, Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: cnameOr(c.params.Rtcp.CNAME)}},
		}}})
	}
	return out
}

func cnameOr(cname string) string {
	if cname == "" {
		return "rope"
	}
	return cname
}

// receiverReport builds one RR covering every producer stream.
func receiverReport(producers []*producer, now int64) *rtcp.ReceiverReport {
	rr := &rtcp.ReceiverReport{SSRC: 1}
	for _, p := range producers {
		p.ingress.Lock()
		for _, s := range p.streams {
			if s.started {
				rr.Reports = append(rr.Reports, s.receptionReport(now))
				p.sendNack(s) // retries
			}
		}
		p.ingress.Unlock()
	}
	if len(rr.Reports) == 0 {
		return nil
	}
	if len(rr.Reports) > 31 {
		rr.Reports = rr.Reports[:31]
	}
	return rr
}

// receptionReport computes an RFC 3550 report block; call with the
// producer's ingress lock held.
func (s *recvStream) receptionReport(now int64) rtcp.ReceptionReport {
	expected := s.expected()
	expInterval := expected - s.expPrior
	recvInterval := s.packets - s.recvPrior
	s.expPrior, s.recvPrior = expected, s.packets
	var fraction uint8
	if lost := int64(expInterval) - int64(recvInterval); expInterval > 0 && lost > 0 {
		fraction = uint8(lost << 8 / int64(expInterval))
	}
	r := rtcp.ReceptionReport{
		SSRC: s.ssrc, FractionLost: fraction, TotalLost: uint32(max(0, s.lost())) & 0xffffff,
		LastSequenceNumber: s.cycles | uint32(s.maxSeq), Jitter: uint32(s.jitter),
		LastSenderReport: s.lastSRNTP,
	}
	if s.lastSRAt != 0 {
		r.Delay = uint32((now - s.lastSRAt) * 65536 / int64(time.Second))
	}
	return r
}
