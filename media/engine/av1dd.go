package engine

import (
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/depdesc"
	"github.com/ropehq/rope/media/internal/rtppkt"
)

// readDependencyDescriptor parses the packet's dependency descriptor
// with its stream's parser (the structure a key frame brought stays for
// the packets after it). A packet without one, or with one the parser
// refuses, goes on without (pk.hasDD false). Call with ingress held.
func (p *producer) readDependencyDescriptor(pk *packet, b []byte, h *rtppkt.Header, s *recvStream) {
	v, ok := rtppkt.Extension(b, *h, p.ddID)
	if !ok || s.dd.Parse(v, &pk.dd) != nil {
		return
	}
	pk.hasDD, pk.ddStruct = true, s.dd.FrameStructure()
}

// ddKeyFrame: an AV1 packet whose descriptor brings a structure and
// refers to no other frame starts a key frame (mediasoup's AV1 key frame
// test), whatever its payload says.
func (pk *packet) ddKeyFrame() bool {
	return pk.kfCodec == kfAV1 && pk.hasDD && pk.dd.KeyFrame()
}

// av1DD returns the packet's dependency descriptor if it is AV1 and has
// one: the engine selects AV1 temporal layers by it.
func (pk *packet) av1DD() *depdesc.Descriptor {
	if pk.kfCodec != kfAV1 || !pk.hasDD {
		return nil
	}
	return &pk.dd
}

// ddTarget is the decode target a simulcast consumer forwards of a
// stream with structure st for temporal target t: of the decode targets
// of the stream's highest spatial layer (a simulcast stream has one),
// the one with the highest temporal layer not above t (the lowest if
// all are).
func ddTarget(st *depdesc.Structure, t int) int {
	best, lowest := -1, -1
	for dt := range st.DecodeTargets {
		if st.TargetSpatialID[dt] != st.MaxSpatialID {
			continue
		}
		tid := int(st.TargetTemporalID[dt])
		if lowest < 0 || tid < int(st.TargetTemporalID[lowest]) {
			lowest = dt
		}
		if tid <= t && (best < 0 || tid > int(st.TargetTemporalID[best])) {
			best = dt
		}
	}
	if best < 0 {
		return lowest
	}
	return best
}

// processDD applies temporal layer selection to an AV1 packet by its
// dependency descriptor: the consumer forwards the frames present in
// the decode target it is on (their DTI is not "-"). At a frame's start
// it moves to the decode target of its temporal target: down at once
// (frames of a lower decode target never refer to higher ones), up only
// where the frame is a switch point for the higher one (DTI "S"), so the
// receiver never gets a frame whose references it lacks. false drops the
// packet (its sequence number freed). The temporal layer forwarded is
// kept in the VP8 context's current layer, as for H264. Call with
// consumer.mu held.
func (sc *simulcast) processDD(pk *packet, s *sendStream) bool {
	d, st := &pk.dd, pk.ddStruct
	if d.HasStructure && d.StartOfFrame {
		sc.ddCur = -1 // a new structure: its decode targets renumbered
	}
	if d.StartOfFrame {
		target := ddTarget(st, sc.vp8.Target())
		switch {
		case sc.ddCur < 0 || sc.ddCur >= st.DecodeTargets:
			if d.SwitchPoint(target) {
				sc.ddCur = target
			}
		case target != sc.ddCur:
			if st.TargetTemporalID[target] < st.TargetTemporalID[sc.ddCur] || d.SwitchPoint(target) {
				sc.ddCur = target
			}
		}
	}
	if sc.ddCur < 0 || sc.ddCur >= st.DecodeTargets || d.DTI(sc.ddCur) == depdesc.NotPresent {
		s.seq.Drop(pk.seq)
		return false
	}
	if cur := int(st.TargetTemporalID[sc.ddCur]); cur != sc.vp8.Current() {
		sc.vp8.SetCurrent(cur)
		if sc.temporalLayers > 1 {
			sc.layersChanged = true
		}
	}
	return true
}

// stripMap returns the extension map that drops id and keeps the rest.
func stripMap(id uint8) *rtppkt.ExtMap {
	m := new(rtppkt.ExtMap)
	for i := range m {
		m[i] = uint8(i)
	}
	m[id] = 0
	return m
}

// dropDependencyDescriptor removes the dependency descriptor from b, a
// copy of a producer packet going to a consumer that did not negotiate
// the extension: as mediasoup (its PR 1632, October 2025), only pipe
// consumers, whose parameters add it, forward it; endpoints do not get
// it. The packet keeps its length (the element's bytes become padding).
func (c *consumer) dropDependencyDescriptor(b []byte) {
	if h, ok := rtppkt.Parse(b); ok {
		rtppkt.MapExtensions(b, h, c.producer.ddStrip)
	}
}

// hasExtensionURI reports whether params negotiate extension uri.
func hasExtensionURI(params media.RtpParameters, uri media.RtpHeaderExtensionURI) bool {
	for _, e := range params.HeaderExtensions {
		if e.URI == uri {
			return true
		}
	}
	return false
}
