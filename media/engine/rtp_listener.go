package engine

import (
	"fmt"
	"slices"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/rtppkt"
)

// The RTP listener finds the producer stream of an incoming RTP packet as
// mediasoup's RtpListener::GetProducer and Producer::GetRtpStream do:
//
//  1. The SSRC table (transport.ingress): the encodings' own SSRCs and
//     those learned so far. This is the per-packet path; it takes no lock
//     and does not allocate.
//  2. For an unknown SSRC, the MID header extension
//     (urn:ietf:params:rtp-hdrext:sdes:mid) picks the producer by
//     rtpParameters.mid; failing that, the RID (rtp-stream-id, or
//     repaired-rtp-stream-id when there is none) picks it by an encoding's
//     rid.
//  3. In that producer, the RID picks the encoding; the payload type says
//     whether the packet is media or RTX (repaired-rtp-stream-id carries
//     the RID of the encoding an RTX stream repairs). A producer with one
//     encoding that has neither ssrc nor rid takes the first media SSRC,
//     and then the first RTX SSRC, that reach it by MID.
//
// A learned SSRC is stored in its stream (recvStream.ssrc or rtxSSRC) and
// the SSRC table is rebuilt, so later packets take the fast path. As in
// mediasoup, an encoding learns its media SSRC once (a packet with the
// same RID and another SSRC is dropped), and its RTX SSRC only after the
// media one.
//
// The header extension ids the listener reads are the transport's: each
// producer that declares mid, rid or repaired-rid extensions sets them
// (the last one wins, as in mediasoup's Transport).

// rtpListener holds the MID and RID tables of a transport. It is guarded
// by transport.mu.
type rtpListener struct {
	mid map[string]*producer
	rid map[string]*producer
	// Header extension ids of mid, rid and repaired-rid (0: none).
	midID, ridID, rridID uint8
}

// checkProducerEncodings applies mediasoup's rules for producer
// encodings: with several encodings each needs an ssrc or a rid; a single
// encoding without either needs rtpParameters.mid; rids are unique.
func checkProducerEncodings(params media.RtpParameters) error {
	encs := params.Encodings
	for i, e := range encs {
		field := fmt.Sprintf("rtpParameters.encodings[%d]", i)
		switch {
		case len(encs) > 1 && e.SSRC == 0 && e.RID == "":
			return &media.ParamError{Field: field, Reason: "ssrc or rid required when there are several encodings"}
		case len(encs) == 1 && e.SSRC == 0 && e.RID == "" && params.Mid == "":
			return &media.ParamError{Field: field, Reason: "ssrc or rid required, or rtpParameters.mid"}
		}
		if e.RID != "" && slices.ContainsFunc(encs[:i], func(o media.RtpEncodingParameters) bool { return o.RID == e.RID }) {
			return &media.ParamError{Field: field + ".rid", Reason: fmt.Sprintf("duplicate rid %q", e.RID)}
		}
	}
	return nil
}

// checkProducerLocked checks p's SSRCs, MID and RIDs against the
// transport's other producers. Call with transport.mu held.
func (t *transport) checkProducerLocked(p *producer) error {
	in := *t.ingress.Load()
	for i, s := range p.streams {
		for _, ssrc := range []uint32{s.ssrc.Load(), s.rtxSSRC.Load()} {
			if _, dup := in[ssrc]; dup && ssrc != 0 {
				return &media.ParamError{Field: fmt.Sprintf("rtpParameters.encodings[%d].ssrc", i), Reason: fmt.Sprintf("ssrc %d already in use", ssrc)}
			}
		}
	}
	l := &t.listener
	mid := p.params.Mid
	if _, dup := l.mid[mid]; dup && mid != "" {
		return &media.ParamError{Field: "rtpParameters.mid", Reason: fmt.Sprintf("mid %q already in use", mid)}
	}
	// As mediasoup: a RID another producer has is an error only without a
	// MID (with one, the MID tells the producers apart).
	for i, s := range p.streams {
		if _, dup := l.rid[s.rid]; dup && s.rid != "" && mid == "" {
			return &media.ParamError{Field: fmt.Sprintf("rtpParameters.encodings[%d].rid", i),
				Reason: fmt.Sprintf("rid %q already in use and rtpParameters.mid not given", s.rid)}
		}
	}
	return nil
}

// addProducerLocked enters p's MID, RIDs and header extension ids into the
// listener. Call with transport.mu held, after checkProducerLocked.
func (t *transport) addProducerLocked(p *producer) {
	l := &t.listener
	mid := p.params.Mid
	if l.mid == nil {
		l.mid, l.rid = map[string]*producer{}, map[string]*producer{}
	}
	if mid != "" {
		l.mid[mid] = p
	}
	for _, s := range p.streams {
		if _, taken := l.rid[s.rid]; !taken && s.rid != "" {
			l.rid[s.rid] = p
		}
	}
	for _, e := range p.params.HeaderExtensions {
		if e.ID <= 0 || e.ID > 255 {
			continue
		}
		switch e.URI {
		case media.ExtMid:
			l.midID = uint8(e.ID)
		case media.ExtRtpStreamID:
			l.ridID = uint8(e.ID)
		case media.ExtRepairedRtpStreamID:
			l.rridID = uint8(e.ID)
		}
	}
}

// removeProducerLocked drops p from the MID and RID tables; call with
// transport.mu held.
func (t *transport) removeProducerLocked(p *producer) {
	for k, v := range t.listener.mid {
		if v == p {
			delete(t.listener.mid, k)
		}
	}
	for k, v := range t.listener.rid {
		if v == p {
			delete(t.listener.rid, k)
		}
	}
}

// learnStream is the listener's slow path for a packet whose SSRC is not
// in the SSRC table: it finds the producer by MID or RID and the stream by
// RID, records the SSRC and returns the route. It runs once per new SSRC
// (and for every packet no producer takes).
func (t *transport) learnStream(b []byte, h *rtppkt.Header) (streamRef, bool) {
	t.mu.Lock()
	ref, ok := (*t.ingress.Load())[h.SSRC]
	if ok || t.closed.Load() {
		t.mu.Unlock()
		return ref, ok
	}
	l := &t.listener
	var p *producer
	if v, ok := rtppkt.Extension(b, *h, l.midID); ok && len(v) > 0 {
		p = l.mid[string(v)]
	}
	rid, ok := rtppkt.Extension(b, *h, l.ridID)
	if !ok || len(rid) == 0 {
		rid, _ = rtppkt.Extension(b, *h, l.rridID)
	}
	if p == nil && len(rid) > 0 {
		p = l.rid[string(rid)]
	}
	if p == nil {
		t.mu.Unlock()
		return streamRef{}, false
	}
	ref, keyFrame, ok := p.learn(b, h, rid)
	if ok {
		t.rebuildIngress()
	}
	t.mu.Unlock()
	if ok && !ref.rtx && !keyFrame {
		// As mediasoup: the first packets of a new stream may have been
		// lost, key frame included.
		p.requestKeyFrame(ref.idx)
	}
	return ref, ok
}

// learn finds the stream of a packet with an unknown SSRC that reached p
// by MID or RID (rid: the packet's RID or repaired RID, possibly empty)
// and records its SSRC. Call with transport.mu held.
func (p *producer) learn(b []byte, h *rtppkt.Header, rid []byte) (ref streamRef, keyFrame, ok bool) {
	p.ingress.Lock()
	defer p.ingress.Unlock()
	var s *recvStream
	switch {
	case len(rid) > 0:
		for _, st := range p.streams {
			if st.rid == string(rid) {
				s = st
			}
		}
	case len(p.streams) == 1 && p.streams[0].rid == "" && p.params.Encodings[0].SSRC == 0:
		s = p.streams[0]
	}
	if s == nil {
		return streamRef{}, false, false
	}
	pt := h.PayloadType
	switch {
	case int(pt) == s.codec.PayloadType:
		if s.ssrc.Load() != 0 {
			return streamRef{}, false, false // the encoding has its SSRC
		}
		s.ssrc.Store(h.SSRC)
		if m := p.mappedPT[pt]; m != 0 && h.HeaderLen <= len(b)-h.PaddingLen {
			keyFrame = isKeyFrame(p.kfCodec[m-1], b[h.HeaderLen:len(b)-h.PaddingLen])
		}
		return streamRef{p: p, idx: s.idx}, keyFrame, true
	case p.rtxApt[pt] != 0 && int(p.rtxApt[pt]-1) == s.codec.PayloadType:
		if s.ssrc.Load() == 0 || s.rtxSSRC.Load() != 0 {
			return streamRef{}, false, false // media first, and one RTX SSRC
		}
		s.rtxSSRC.Store(h.SSRC)
		return streamRef{p: p, idx: s.idx, rtx: true}, false, true
	}
	return streamRef{}, false, false
}

// fillListenerDump writes the MID and RID tables; call with mu held.
func (t *transport) fillListenerDump(d *media.RtpListenerDump) {
	for mid, p := range t.listener.mid {
		d.MidTable = append(d.MidTable, media.KeyValue{Key: mid, Value: p.id})
	}
	for rid, p := range t.listener.rid {
		d.RidTable = append(d.RidTable, media.KeyValue{Key: rid, Value: p.id})
	}
}
