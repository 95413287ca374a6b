// Package depdesc owns the Dependency Descriptor RTP header extension
// (RTP Payload Format for AV1, appendix A): parsing it per packet against
// the template dependency structure a stream last sent (Parser), what an
// SFU derives from it per packet (spatial and temporal id, start and end
// of frame, key frame, decode target indications, switch points), and
// writing it: the whole descriptor (Marshal), or a forwarded one with the
// active decode targets bitmask an SFU sets when it drops layers
// (SetActiveDecodeTargets).
//
// The structure comes with the first packet of a key frame; later packets
// name one of its templates (3 bytes when nothing else is sent). A Parser
// keeps the last structure of one stream in fixed arrays: after the first
// structure, parsing allocates nothing.
package depdesc

import "errors"

// URI is the extension's URI in SDP and RTP parameters.
const URI = "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension"

// Bounds of what a structure may hold; a descriptor beyond them is
// refused (ErrLimits). Templates and decode targets are the syntax's
// limits; spatial and temporal layers and frame diffs per frame are
// libwebrtc's and AV1's (at most 7 reference frames).
const (
	MaxTemplates      = 64
	MaxDecodeTargets  = 32
	MaxChains         = MaxDecodeTargets
	MaxSpatialLayers  = 4
	MaxTemporalLayers = 8
	MaxFrameDiffs     = 16
)

// Errors of Parse, Marshal and SetActiveDecodeTargets.
var (
	// ErrShort: the descriptor ends before its fields do (or is under 3
	// bytes), or dst has no room.
	ErrShort = errors.New("depdesc: descriptor too short")
	// ErrNoStructure: the descriptor needs a template dependency
	// structure and none has been received (a key frame's first packet
	// was lost, or the stream started mid-sequence).
	ErrNoStructure = errors.New("depdesc: no template dependency structure")
	// ErrTemplate: frame_dependency_template_id names no template of the
	// structure (the packet bringing a new structure was lost or late).
	ErrTemplate = errors.New("depdesc: unknown frame dependency template")
	// ErrLimits: the structure exceeds the package's bounds.
	ErrLimits = errors.New("depdesc: structure beyond limits")
)

// DTI is a decode target indication (table A.1).
type DTI uint8

const (
	NotPresent  DTI = iota // "-": no payload for the decode target
	Discardable            // "D": present, no later frame of the target depends on it
	Switch                 // "S": present; a receiver may switch to the target here
	Required               // "R": present, neither discardable nor a switch point
)

func (d DTI) String() string { return string("-DSR"[d&3]) }

// Template is one frame dependency template of a structure.
type Template struct {
	SpatialID, TemporalID uint8
	// dtis holds the DTI of decode target i in bits 2i, 2i+1.
	dtis uint64
	// FrameDiffs[:NumFrameDiffs] are the differences to the frame
	// numbers of the frames this one refers to (1 to 16).
	NumFrameDiffs uint8
	FrameDiffs    [MaxFrameDiffs]uint8
	// ChainDiffs[:Structure.Chains] are the frame_chain_fdiff values.
	ChainDiffs [MaxChains]uint8
}

// DTI returns the template's indication for decode target dt.
func (t *Template) DTI(dt int) DTI { return DTI(t.dtis >> (2 * uint(dt)) & 3) }

// SetDTI sets the template's indication for decode target dt (a writer
// building a structure).
func (t *Template) SetDTI(dt int, v DTI) {
	t.dtis = t.dtis&^(3<<(2*uint(dt))) | uint64(v&3)<<(2*uint(dt))
}

// Resolution is a spatial layer's maximum render size.
type Resolution struct{ Width, Height int }

// Structure is a template dependency structure.
type Structure struct {
	TemplateIDOffset uint8
	// DecodeTargets is DtCnt (1 to 32); Chains is chain_cnt (0 to
	// DecodeTargets).
	DecodeTargets int
	Chains        int
	// ProtectedBy[dt] is the chain protecting decode target dt.
	ProtectedBy  [MaxDecodeTargets]uint8
	NumTemplates int
	Templates    [MaxTemplates]Template
	// MaxSpatialID and MaxTemporalID are the highest layers of the
	// templates.
	MaxSpatialID, MaxTemporalID uint8
	// TargetSpatialID and TargetTemporalID give each decode target's
	// layer (the spec's decode_target_layers): the highest of the
	// templates it is present in.
	TargetSpatialID, TargetTemporalID [MaxDecodeTargets]uint8
	HasResolutions                    bool
	Resolutions                       [MaxSpatialLayers]Resolution
}

// AllDecodeTargets is the bitmask with every decode target active.
func (s *Structure) AllDecodeTargets() uint32 { return allTargets(s.DecodeTargets) }

func allTargets(n int) uint32 { return uint32(1<<uint(n) - 1) }

// Mask is the active decode targets bitmask of a receiver that gets
// spatial layers up to spatial and temporal layers up to temporal: the
// decode targets whose layers are within both.
func (s *Structure) Mask(spatial, temporal int) uint32 {
	var m uint32
	for dt := range s.DecodeTargets {
		if int(s.TargetSpatialID[dt]) <= spatial && int(s.TargetTemporalID[dt]) <= temporal {
			m |= 1 << uint(dt)
		}
	}
	return m
}

// DecodeTarget returns the decode target of layers (spatial, temporal),
// or -1 if the structure has none.
func (s *Structure) DecodeTarget(spatial, temporal int) int {
	for dt := range s.DecodeTargets {
		if int(s.TargetSpatialID[dt]) == spatial && int(s.TargetTemporalID[dt]) == temporal {
			return dt
		}
	}
	return -1
}

// Descriptor is one packet's dependency descriptor, with its frame
// dependency definition resolved against the structure.
type Descriptor struct {
	StartOfFrame, EndOfFrame bool
	// TemplateID is frame_dependency_template_id as sent.
	TemplateID  uint8
	FrameNumber uint16

	// The extended fields' flags: a structure attached (a key frame's
	// first packet), an active decode targets bitmask sent, and custom
	// DTIs, frame diffs and chain diffs that override the template's.
	HasStructure, HasActiveDecodeTargets       bool
	CustomDTIs, CustomFrameDiffs, CustomChains bool

	// ActiveDecodeTargets is the bitmask in effect for the stream after
	// this packet (sent here, or kept from an earlier one).
	ActiveDecodeTargets uint32

	// The frame dependency definition: the frame's layers, DTIs, frame
	// diffs and chain diffs (the template's unless custom).
	SpatialID, TemporalID uint8
	DecodeTargets         int
	dtis                  uint64
	NumFrameDiffs         int
	FrameDiffs            [MaxFrameDiffs]uint16
	Chains                int
	ChainDiffs            [MaxChains]uint8

	// The bit layout, for SetActiveDecodeTargets: where the structure
	// ends (the bitmask goes there), where the bitmask ends, where the
	// custom fields end; extended is false for a 3-byte descriptor.
	extended                  bool
	structEnd, maskEnd, fdEnd int
}

// DTI returns the frame's indication for decode target dt.
func (d *Descriptor) DTI(dt int) DTI { return DTI(d.dtis >> (2 * uint(dt)) & 3) }

// KeyFrame reports whether the packet starts a key frame: it brings a
// structure and its frame refers to no other.
func (d *Descriptor) KeyFrame() bool { return d.HasStructure && d.NumFrameDiffs == 0 }

// SwitchPoint reports whether a receiver may start decoding decode
// target dt at this frame.
func (d *Descriptor) SwitchPoint(dt int) bool { return d.DTI(dt) == Switch }

// Parser parses one stream's descriptors, keeping the last structure and
// active decode targets. The zero value is ready; the owner serialises
// calls.
type Parser struct {
	// s holds the structure in use (s[cur], if have) and a spare that a
	// new one is parsed into, so that a bad one leaves the old in use.
	s      [2]Structure
	cur    int
	have   bool
	active uint32
	// frameSlot is the slot of s the last Parse resolved its frame
	// against (the stream's structure, or a late packet's own).
	frameSlot int
	// changedAt is the frame number of the last descriptor that changed
	// the structure or the bitmask: an older one (a retransmission, a
	// reordered packet) changes neither.
	changedAt uint16
}

// Structure returns the structure in use, or nil before the first one.
// It is valid until the next Parse.
func (p *Parser) Structure() *Structure {
	if !p.have {
		return nil
	}
	return &p.s[p.cur]
}

// FrameStructure returns the structure the last successful Parse
// resolved its frame against: the stream's, or the one a late packet
// brought. It is valid until the next Parse.
func (p *Parser) FrameStructure() *Structure { return &p.s[p.frameSlot] }

// Reset forgets the structure (a new stream).
func (p *Parser) Reset() { p.have, p.active = false, 0 }

// older reports whether frame number a precedes b (modulo 2^16).
func older(a, b uint16) bool { return a != b && b-a < 0x8000 }
