package engine

import (
	"strings"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/depdesc"
	"github.com/ropehq/rope/media/internal/svc"
)

// AV1 spatial (and temporal) layers in an SVC consumer, by the
// dependency descriptor (av1dd.go reads it into pk.dd). The descriptor
// gives the layer selection of svc.Context what VP9's payload descriptor
// gives it:
//
//   - Spatial, Temporal: the frame's spatial_id and temporal_id;
//   - Start, End: start_of_frame and end_of_frame (a frame is one
//     spatial layer of a temporal unit, as a VP9 layer frame);
//   - KeyFrame: the descriptor brings a structure and the frame refers to
//     no other (depdesc.Descriptor.KeyFrame);
//   - Predicted: the frame refers to a frame of an earlier temporal unit.
//     The descriptor gives frame diffs, not temporal units; libwebrtc
//     numbers every layer frame, so a frame of spatial layer s refers
//     within its temporal unit by a diff of at most s and to an earlier
//     one by more;
//   - HasPicture, Picture: the frame number (16 bits), to tell late
//     packets from new ones;
//   - SwitchingUp: not a property of the frame alone. A receiver may
//     start decode target (s, t) at a frame whose DTI for it is Switch,
//     which is often a frame of a lower temporal layer (a T0 frame for
//     libwebrtc's T1 targets), provided it then gets every later frame of
//     that target. So each consumer keeps, per temporal layer t, whether
//     it forwarded a switch point of decode target (current spatial, t)
//     and dropped no frame of that target since (svcLayers.ddUp); a frame
//     of layer t is a switching-up point for that consumer if so.
//
// The descriptor itself does not reach endpoint consumers (av1dd.go:
// it is recvonly, as in mediasoup), so there is no active decode targets
// bitmask to keep: Chromium's receiver then assembles AV1 frames from the
// aggregation header and the marker bit, in sequence number order, which
// is what the consumer keeps consistent (numbers without gaps, the marker
// where the highest spatial layer forwarded ends a temporal unit).

// av1Layers fills l from an AV1 packet's dependency descriptor.
func av1Layers(d *depdesc.Descriptor, l *svc.Packet) {
	predicted := false
	for _, fd := range d.FrameDiffs[:d.NumFrameDiffs] {
		predicted = predicted || fd > uint16(d.SpatialID)
	}
	*l = svc.Packet{
		Spatial: d.SpatialID, Temporal: d.TemporalID, Start: d.StartOfFrame, End: d.EndOfFrame,
		Predicted: predicted, KeyFrame: d.KeyFrame(),
		HasPicture: true, Picture: d.FrameNumber, PictureMask: 0xffff,
	}
}

// processAV1 runs the layer selection on an AV1 packet with a
// descriptor, with the consumer's switching-up points, and updates them
// by the frame's DTIs for the decode targets of the current spatial
// layer: a forwarded switch point opens a target, a dropped frame of it
// closes it. A spatial change closes all (the new layer's targets open
// at their next switch point; a key frame is one of every target). Call
// with consumer.mu held.
func (v *svcLayers) processAV1(pk *packet, l *svc.Packet) (forward, marker bool) {
	before, _ := v.ctx.Current()
	p := *l
	p.SwitchingUp = v.ddUp&(1<<p.Temporal) != 0
	forward, marker = v.ctx.Process(&p)
	cs, _ := v.ctx.Current()
	if cs != before {
		v.ddUp = 0
	}
	if cs < 0 || pk.ddStruct == nil {
		return forward, marker
	}
	for t := range v.temporalLayers {
		dt := pk.ddStruct.DecodeTarget(cs, t)
		if dt < 0 {
			continue
		}
		switch dti := pk.dd.DTI(dt); {
		case dti == depdesc.NotPresent:
		case !forward:
			v.ddUp &^= 1 << t
		case dti == depdesc.Switch:
			v.ddUp |= 1 << t
		}
	}
	return forward, marker
}

// svcExtensions adds the dependency descriptor to the header extensions
// of an SVC consumer of an AV1 producer that sends it (ids are the
// router's): Chromium's receiver assembles AV1 frames of several spatial
// layers only by the descriptor (without it, it decodes nothing once two
// spatial layers arrive), so the consumer forwards it.
func svcExtensions(p *producer, exts []media.RtpHeaderExtensionParameters) []media.RtpHeaderExtensionParameters {
	if p.ddID == 0 || !strings.EqualFold(encodingMime(p.consumable), "video/av1") || hasExtensionURI(media.RtpParameters{HeaderExtensions: exts}, media.ExtDependencyDescriptor) {
		return exts
	}
	return append(exts, media.RtpHeaderExtensionParameters{URI: media.ExtDependencyDescriptor, ID: int(p.ddID), Parameters: media.Parameters{}})
}
